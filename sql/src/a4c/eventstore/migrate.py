"""A small forward-only runner over the plain SQL files in `a4c/eventstore/migrations/`.

Why not a tool: the schema is a handful of plain SQL files, and the runner must be safe when several
replicas (or k8s Job retries) start at once and must ship inside the wheel the migration Job runs
from; both take fifty lines here and would add a binary or a framework otherwise.

Each file runs in its own transaction holding a transaction-level advisory lock, so concurrent
runners queue up and each file is applied once; `schema_migrations` records version, name and the
SHA-256 of the file, and a file whose content changed after it was applied is an error (forward-only:
fix it with a new file). Files must be transactional (no CREATE INDEX CONCURRENTLY).

Rolling upgrades: a database holding a migration this runner does not ship was migrated by a newer
release, and an older runner (an image rolled back, a stale Job) must not touch it — it refuses,
naming the files. Each file runs with `lock_timeout` (default 5 s) so an ALTER stuck behind a long
transaction gives up, instead of queueing and blocking every reader and writer of that table behind
it; the file is tried again a few times, then the runner fails naming it. A `statement_timeout`
(default 15 minutes) bounds a runaway statement.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import asyncpg
import tenacity
from asyncpg.pool import PoolConnectionProxy

from .errors import DatabaseUnavailable, EventStoreError, MigrationError, SchemaMismatch, translate_errors

_log = logging.getLogger(__name__)
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
MIGRATION_LOCK = (2636, 2)  # (0x0A4C, migrations); appends use (2636, 1)
LOCK_TIMEOUT_SECONDS = 5.0
STATEMENT_TIMEOUT_SECONDS = 900.0
LOCK_ATTEMPTS = 4  # a file whose locks time out is tried again after 1, 2, 4 s
_LOCK_NOT_AVAILABLE = "55P03"

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version    integer     PRIMARY KEY,
    name       text        NOT NULL,
    checksum   text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


@dataclass(frozen=True, kw_only=True)
class Migration:
    """One SQL file: `NNNN_name.sql`, applied in version order."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def filename(self) -> str:
        return f"{self.version:04d}_{self.name}.sql"


def migrations_dir() -> Traversable:
    """Where the SQL files live: package data, so an installed wheel finds them like a checkout."""
    return resources.files("a4c.eventstore") / "migrations"


def load_migrations(directory: Traversable | Path | None = None) -> list[Migration]:
    """All migrations in `directory` (default: the packaged ones), sorted by version."""
    found: dict[int, Migration] = {}
    for entry in (directory or migrations_dir()).iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        migration = Migration(version=int(match[1]), name=match[2], sql=entry.read_text(encoding="utf-8"))
        if migration.version in found:
            raise MigrationError(f"two migrations with version {migration.version}: {entry.name}")
        found[migration.version] = migration
    return [found[v] for v in sorted(found)]


async def migrate(
    dsn: str,
    *,
    migrations: Sequence[Migration] | None = None,
    environment: str | None = None,
    connect_timeout: float = 30.0,
    lock_timeout: float = LOCK_TIMEOUT_SECONDS,
    statement_timeout: float | None = STATEMENT_TIMEOUT_SECONDS,
) -> list[Migration]:
    """Apply the pending migrations in order; return those this call applied (may be none).

    `environment`, when given, records which environment this database serves (see get_base_domain).
    Connection attempts are retried until `connect_timeout`: a migration Job may start before its
    database accepts connections. `lock_timeout` and `statement_timeout` (seconds; None or 0: none)
    bound each file's statements. A database holding migrations not in `migrations` is refused
    (SchemaMismatch naming them) before anything is applied.
    """
    wanted = list(load_migrations() if migrations is None else migrations)
    limits = _Limits(lock_timeout, statement_timeout or 0.0)
    conn = await _connect(dsn, connect_timeout)
    try:
        applied: list[Migration] = []
        while (migration := await _apply_next_patiently(conn, wanted, limits)) is not None:
            applied.append(migration)
        if environment is not None:
            with translate_errors():
                await conn.execute("SELECT set_environment($1)", environment)
        return applied
    finally:
        await conn.close()


async def applied_versions(conn: asyncpg.Connection) -> dict[int, str]:
    """version -> checksum of what this database has applied ({} before the first run)."""
    return {version: checksum for version, (_, checksum) in (await applied_migrations(conn)).items()}


async def applied_migrations(
    conn: asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record],
) -> dict[int, tuple[str, str]]:
    """version -> (file name, checksum) of what this database has applied ({} before the first run)."""
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations")
    return {r["version"]: (f"{r['version']:04d}_{r['name']}.sql", r["checksum"]) for r in rows}


def unknown_files(known: Iterable[Migration], applied: dict[int, tuple[str, str]]) -> tuple[str, ...]:
    """The applied files `known` does not hold, in version order: a newer release's migrations."""
    versions = {m.version for m in known}
    return tuple(name for version, (name, _) in sorted(applied.items()) if version not in versions)


def refuse_unknown(unknown: Sequence[str], who: str) -> SchemaMismatch:
    return SchemaMismatch(
        f"the database holds migrations this release does not know: {', '.join(unknown)} (applied by a "
        f"newer release); {who} refuses to run against it. Deploy the release that ships them (or "
        f"newer); rolling back the schema means restoring a backup, migrations are forward-only",
        unknown=tuple(unknown),
    )


@dataclass(frozen=True)
class _Limits:
    lock_timeout: float
    statement_timeout: float

    async def apply(self, conn: asyncpg.Connection) -> None:
        """For the current transaction only (set_config(..., true) is SET LOCAL)."""
        for name, seconds in (
            ("lock_timeout", self.lock_timeout),
            ("statement_timeout", self.statement_timeout),
        ):
            await conn.execute("SELECT set_config($1, $2, true)", name, f"{int(seconds * 1000)}ms")


async def _apply_next_patiently(
    conn: asyncpg.Connection, wanted: Sequence[Migration], limits: _Limits
) -> Migration | None:
    """`_apply_next`, tried again when a file's locks time out (someone's long transaction)."""
    for attempt in range(1, LOCK_ATTEMPTS + 1):
        try:
            return await _apply_next(conn, wanted, limits)
        except _LockTimeout as timeout:
            if attempt == LOCK_ATTEMPTS:
                raise MigrationError(
                    f"{timeout.filename} could not take its locks within {limits.lock_timeout:g} s, "
                    f"{LOCK_ATTEMPTS} times: a long transaction holds a table it changes (see "
                    f"pg_stat_activity); nothing of it was applied, run the migration again later"
                ) from None
            _log.warning("%s: lock timeout; trying again in %d s", timeout.filename, 2 ** (attempt - 1))
            await asyncio.sleep(2 ** (attempt - 1))
    return None  # pragma: no cover - the loop returns or raises


class _LockTimeout(EventStoreError):  # an EventStoreError, so translate_errors lets it through
    def __init__(self, filename: str) -> None:
        super().__init__(f"{filename}: lock timeout")
        self.filename = filename


async def _apply_next(
    conn: asyncpg.Connection, wanted: Sequence[Migration], limits: _Limits
) -> Migration | None:
    """In one locked transaction: verify what is applied, then apply the first pending file."""
    with translate_errors():
        async with conn.transaction():
            # Queue behind other runners without a timeout: they hold the lock while they migrate.
            await conn.execute("SELECT pg_advisory_xact_lock($1, $2)", *MIGRATION_LOCK)
            await limits.apply(conn)
            await conn.execute(_CREATE_TABLE)
            recorded = await applied_migrations(conn)
            unknown = unknown_files(wanted, recorded)
            if unknown:
                raise refuse_unknown(unknown, "the migration runner")
            applied = {version: checksum for version, (_, checksum) in recorded.items()}
            _check_unchanged(wanted, applied)
            pending = next((m for m in wanted if m.version not in applied), None)
            if pending is None:
                return None
            started = time.monotonic()
            try:
                await conn.execute(pending.sql)
            except asyncpg.PostgresError as exc:
                if exc.sqlstate == _LOCK_NOT_AVAILABLE:
                    raise _LockTimeout(pending.filename) from exc
                raise MigrationError(f"{pending.filename} failed: {exc}") from exc
            await conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                pending.version,
                pending.name,
                pending.checksum,
            )
    _log.info("applied %s in %.0f ms", pending.filename, (time.monotonic() - started) * 1000)
    return pending


def _check_unchanged(wanted: Iterable[Migration], applied: dict[int, str]) -> None:
    for migration in wanted:
        recorded = applied.get(migration.version)
        if recorded is not None and recorded != migration.checksum:
            raise MigrationError(
                f"{migration.filename} changed after it was applied (checksum {recorded[:12]}… in the "
                f"database, {migration.checksum[:12]}… on disk); migrations are forward-only: add a new file"
            )


async def _connect(dsn: str, patience: float) -> asyncpg.Connection:
    """Connect, retrying every 0.5 s while the database is not reachable yet, for ``patience`` s."""

    async def connect() -> asyncpg.Connection:
        with translate_errors():
            return await asyncpg.connect(dsn, timeout=min(10.0, max(patience, 1.0)))

    retrying = tenacity.AsyncRetrying(
        retry=tenacity.retry_if_exception_type(DatabaseUnavailable),
        stop=tenacity.stop_after_delay(patience),
        wait=tenacity.wait_fixed(0.5),
        before_sleep=_not_reachable_yet,
        reraise=True,
    )
    return await retrying(connect)


def _not_reachable_yet(state: tenacity.RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    _log.info("database not reachable yet (%s); retrying", error)
