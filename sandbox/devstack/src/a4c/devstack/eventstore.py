"""Helpers for tests (any member's) and the local stack: a server, and throwaway migrated databases.

    with database_server() as server_url:          # DATABASE_URL, or an embedded server
        databases = DatabaseFactory(server_url)
        dsn = await databases.create()              # a new database with every migration applied
        ...
        await databases.drop_all()

Every test session works in databases of its own (`a4c_test_<random>`), so a shared external server
and repeated runs never see each other's data. DATABASE_URL must allow CREATE DATABASE.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from a4c.devstack.postgres import EmbeddedPostgres
from a4c.eventstore.errors import translate_errors
from a4c.eventstore.events import EventType
from a4c.eventstore.migrate import Migration, load_migrations, migrate
from a4c.eventstore.models import NewEvent

# Durability is worthless for a throwaway server and costs most of a test run's time.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@contextmanager
def database_server(environ: Mapping[str, str] | None = None) -> Iterator[str]:
    """Yield a server URL: DATABASE_URL when set, else a fresh embedded server (removed afterwards)."""
    url = (os.environ if environ is None else environ).get("DATABASE_URL")
    if url:
        yield url
        return
    root = Path(tempfile.mkdtemp(prefix="a4c-postgres-"))
    root.chmod(0o755)  # as root the server runs as another user, which must reach its data dir
    server = EmbeddedPostgres(root / "data", settings=FAST_SETTINGS)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def with_database(url: str, database: str) -> str:
    """`url` pointing at another database on the same server (user, host, options unchanged)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + database))


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


async def create_database(server_url: str, name: str, *, migrated: bool = True) -> str:
    """Create database `name` on the server of `server_url` (and migrate it); return its URL."""
    await _on_server(server_url, f'CREATE DATABASE "{_checked(name)}"')
    url = with_database(server_url, name)
    if migrated:
        await migrate(url, connect_timeout=5.0)
    return url


async def drop_database(server_url: str, name: str) -> None:
    """Drop `name`, disconnecting whoever is still connected (tests may leave pools behind)."""
    await _on_server(server_url, f'DROP DATABASE IF EXISTS "{_checked(name)}" WITH (FORCE)')


async def _on_server(server_url: str, statement: str) -> None:
    with translate_errors():
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()


class DatabaseFactory:
    """Makes uniquely named databases on one server and drops them all at the end."""

    def __init__(self, server_url: str, *, prefix: str = "a4c_test") -> None:
        self.server_url = server_url
        self._prefix = prefix
        self._created: list[str] = []

    async def create(self, *, migrated: bool = True) -> str:
        name = f"{self._prefix}_{uuid.uuid4().hex[:12]}"
        self._created.append(name)
        return await create_database(self.server_url, name, migrated=migrated)

    async def drop_all(self) -> None:
        while self._created:
            await drop_database(self.server_url, self._created.pop())


def _checked(name: str) -> str:
    # Names are interpolated into DDL (identifiers cannot be parameters): allow only plain ones.
    if not _NAME.match(name):
        raise ValueError(f"database name {name!r} must match {_NAME.pattern}")
    return name


def sample_data(
    organization_id: uuid.UUID, event_type: EventType, *, slug: str | None = None
) -> dict[str, Any]:
    """A payload of `event_type` that follows the contract in sql/README.md (for tests and demos)."""
    slug = slug or f"org-{organization_id.hex[:10]}"
    fqdn = f"{slug}.firstovertheline.com"
    record, user = f"rec-{organization_id.hex[:8]}", f"user-{organization_id.hex[:8]}"
    cleanup = ["delete_dns_record", "delete_identity_organization"]
    samples: dict[EventType, dict[str, Any]] = {
        EventType.TEMPORAL_INITIATED: {
            "workflow_id": f"org-bootstrap-{organization_id}",
            "name": f"Org {slug}",
            "slug": slug,
            "subdomain_fqdn": fqdn,
            "admin_email": f"admin@{slug}.example",
        },
        EventType.ZITADEL_CREATED: {
            "identity_org_id": f"zorg-{organization_id.hex[:8]}",
            "admin_user_id": user,
        },
        EventType.CREATED: {"name": f"Org {slug}", "slug": slug, "subdomain_fqdn": fqdn},
        EventType.SUBDOMAIN_DNS_RECORD_CREATED: {"dns_record_id": record, "fqdn": fqdn},
        EventType.SUBDOMAIN_VERIFICATION_STARTED: {"fqdn": fqdn},
        EventType.SUBDOMAIN_VERIFIED: {"fqdn": fqdn},
        EventType.SUBDOMAIN_VERIFICATION_FAILED: {"fqdn": fqdn, "error": "not resolvable after 600 s"},
        EventType.SUBDOMAIN_DNS_RECORD_DELETED: {"dns_record_id": record},
        EventType.USER_ROLE_ASSIGNED: {
            "user_id": user,
            "role_keys": ["provider_admin"],
            "grant_id": "grant-1",
        },
        EventType.USER_INVITATION_SENT: {"user_id": user, "email": f"admin@{slug}.example"},
        EventType.BOOTSTRAP_COMPLETED: {},
        EventType.BOOTSTRAP_FAILED: {"failed_step": "grant_admin_role", "error": "boom", "cleanup": cleanup},
        EventType.BOOTSTRAP_CANCELLED: {"reason": "operator request"},
        EventType.BOOTSTRAP_COMPENSATED: {"cleanup": cleanup},
        EventType.OFFBOARDING_STARTED: {"reason": "contract ended", "grace_seconds": 604800},
        EventType.OFFBOARDING_SUBDOMAIN_STOPPED: {"was_running": False},
        EventType.OFFBOARDING_DNS_RECORDS_REMOVED: {"fqdn": fqdn, "dns_record_ids": [record]},
        EventType.OFFBOARDING_IDENTITY_DEACTIVATED: {"changed": True},
        EventType.OFFBOARDING_DELETION_STARTED: {},
        EventType.OFFBOARDING_IDENTITY_DELETED: {"deleted": True},
        EventType.OFFBOARDED: {},
        EventType.OFFBOARDING_CANCELLED: {"reason": "customer renewed"},
        EventType.OFFBOARDING_IDENTITY_REACTIVATED: {"changed": True},
        EventType.SUBDOMAIN_DRIFT_DETECTED: {
            "fqdn": fqdn,
            "reason": "name_taken",
            "found": {"type": "A", "content": "192.0.2.1", "managed": False},
        },
        EventType.SUBDOMAIN_DRIFT_REPAIRED: {
            "fqdn": fqdn,
            "reason": "record_missing",
            "dns_record_id": record,
        },
        EventType.IDENTITY_DRIFT_DETECTED: {"identity_org_id": str(organization_id), "state": "missing"},
        EventType.SUBDOMAIN_ORPHAN_DETECTED: {"dns_record_id": record, "fqdn": fqdn, "deleted": False},
        EventType.IDENTITY_ORPHAN_DETECTED: {"identity_org_id": str(organization_id), "deleted": False},
    }
    return samples[event_type]


def sample_event(
    organization_id: uuid.UUID, event_type: EventType, *, slug: str | None = None, **data: Any
) -> NewEvent:
    """A NewEvent with a sample payload (`data` overrides or adds keys) and a random id."""
    payload = {**sample_data(organization_id, event_type, slug=slug), **data}
    return NewEvent(id=uuid.uuid4(), stream_id=organization_id, event_type=event_type, data=payload)


async def migrate_as_a_newer_release(dsn: str) -> str:
    """Apply every packaged migration plus one only a newer release would ship; return that file's
    name (numbered after whatever this package holds). For rolling-upgrade tests: an older part or
    runner must refuse the database."""
    shipped = load_migrations()
    newer = Migration(
        version=shipped[-1].version + 1,
        name="from_a_newer_release",
        sql="-- a newer release's migration (tests)\nCREATE TABLE newer_release_things (id int);",
    )
    await migrate(dsn, migrations=[*shipped, newer])
    return newer.filename
