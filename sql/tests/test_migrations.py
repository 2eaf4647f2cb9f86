"""The migration runner: in order, once, safe under concurrency, forward-only, usable as a CLI."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest

from a4c.eventstore import DatabaseUnavailable, MigrationError
from a4c.eventstore.migrate import MIGRATION_LOCK, Migration, load_migrations, migrate

FreshDatabase = Callable[..., Awaitable[str]]
SQL_DIR = Path(__file__).resolve().parents[1]

# Everything a migration can create, with definitions: equal snapshots mean an unchanged schema.
_SCHEMA = """
SELECT string_agg(item, E'\\n' ORDER BY item) FROM (
    SELECT format('%s %s', c.relkind, c.relname) AS item FROM pg_class c
     WHERE c.relnamespace = 'public'::regnamespace
    UNION ALL SELECT format('fn %s %s', p.proname, md5(p.prosrc)) FROM pg_proc p
     WHERE p.pronamespace = 'public'::regnamespace
    UNION ALL SELECT format('trigger %s', t.tgname) FROM pg_trigger t WHERE NOT t.tgisinternal
    UNION ALL SELECT format('enum %s %s', t.typname, e.enumlabel)
      FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid
    UNION ALL SELECT format('applied %s %s', version, checksum) FROM schema_migrations
) items
"""


def _cli(*args: str, database_url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "a4c.eventstore", *args], env=env, capture_output=True, text=True, timeout=60
    )


# Every packaged migration, in order: new files add to it without editing these tests.
ALL_VERSIONS = [m.version for m in load_migrations()]


def test_packaged_migrations_are_numbered_and_sql_migrations_points_at_them() -> None:
    migrations = load_migrations()
    versions = [m.version for m in migrations]
    assert versions == list(range(1, len(versions) + 1)), "numbered 1, 2, 3, ... without gaps"
    assert len(versions) >= 3
    assert all(m.sql.startswith("-- ") for m in migrations), "each file starts with a header saying why"
    assert sorted(p.name for p in (SQL_DIR / "migrations").glob("*.sql")) == [m.filename for m in migrations]


async def test_migrating_twice_applies_everything_once_and_changes_nothing(
    fresh_database: FreshDatabase,
) -> None:
    dsn = await fresh_database(migrated=False)
    assert [m.version for m in await migrate(dsn)] == ALL_VERSIONS
    conn = await asyncpg.connect(dsn)
    try:
        before = await conn.fetchval(_SCHEMA)
        assert await migrate(dsn) == []
        assert await conn.fetchval(_SCHEMA) == before
        assert "r domain_events" in before
        assert "r organizations_projection" in before
    finally:
        await conn.close()


async def test_two_processes_migrating_at_once_apply_each_file_once(fresh_database: FreshDatabase) -> None:
    dsn = await fresh_database(migrated=False)
    conn = await asyncpg.connect(dsn)
    try:
        # Hold the runners' lock so both processes are provably waiting before either proceeds.
        await conn.execute("SELECT pg_advisory_lock($1, $2)", *MIGRATION_LOCK)
        env = {**os.environ, "DATABASE_URL": dsn}
        procs = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-m", "a4c.eventstore", "migrate", env=env, stdout=subprocess.PIPE
            )
            for _ in range(2)
        ]
        waiting = """SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted
                      AND classid = $1 AND objid = $2 AND database = (SELECT oid FROM pg_database
                      WHERE datname = current_database())"""
        async with asyncio.timeout(30):
            while await conn.fetchval(waiting, *MIGRATION_LOCK) < 2:
                await asyncio.sleep(0.02)
        await conn.execute("SELECT pg_advisory_unlock($1, $2)", *MIGRATION_LOCK)

        outputs = [(await proc.communicate())[0].decode() for proc in procs]
        assert [proc.returncode for proc in procs] == [0, 0], outputs
        reported = [name for out in outputs for name in out.split(": ", 1)[1].strip().split(", ")]
        applied_by_someone = sorted(name for name in reported if name != "nothing to apply")
        assert applied_by_someone == [m.filename for m in load_migrations()]
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(ALL_VERSIONS)
    finally:
        await conn.close()


async def test_a_changed_applied_file_is_refused(fresh_database: FreshDatabase) -> None:
    dsn = await fresh_database(migrated=False)
    original = [Migration(version=1, name="things", sql="CREATE TABLE things (id int);")]
    await migrate(dsn, migrations=original)
    edited = [Migration(version=1, name="things", sql="CREATE TABLE things (id bigint);")]
    with pytest.raises(MigrationError, match=r"0001_things\.sql changed after it was applied"):
        await migrate(dsn, migrations=edited)


async def test_a_failing_file_is_rolled_back_and_named(fresh_database: FreshDatabase) -> None:
    dsn = await fresh_database(migrated=False)
    migrations = [
        Migration(version=1, name="good", sql="CREATE TABLE good (id int);"),
        Migration(version=2, name="bad", sql="CREATE TABLE half (id int); SELECT no_such_function();"),
    ]
    with pytest.raises(MigrationError, match=r"0002_bad\.sql failed"):
        await migrate(dsn, migrations=migrations)
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT array_agg(version) FROM schema_migrations") == [1]
        assert await conn.fetchval("SELECT to_regclass('half')") is None
    finally:
        await conn.close()


def test_cli_help_needs_no_database() -> None:
    for args in (["--help"], ["migrate", "--help"]):
        result = _cli(*args)
        assert result.returncode == 0, result.stderr
        assert "migrate" in result.stdout


def test_cli_without_database_url_is_a_usage_error() -> None:
    result = _cli("migrate")
    assert result.returncode == 2
    assert "DATABASE_URL" in result.stderr


def test_cli_reports_an_unreachable_database() -> None:
    result = _cli("migrate", "--connect-timeout", "0", database_url="postgresql://postgres@127.0.0.1:1/none")
    assert result.returncode == 1
    assert "database unavailable" in result.stderr


async def test_cli_migrates_records_the_environment_and_reports_status(fresh_database: FreshDatabase) -> None:
    dsn = await fresh_database(migrated=False)
    pending = await asyncio.to_thread(_cli, "status", database_url=dsn)
    assert pending.stdout.count(": pending") == len(ALL_VERSIONS)

    result = await asyncio.to_thread(_cli, "migrate", "--environment", "production", database_url=dsn)
    assert result.returncode == 0, result.stderr
    assert "0003_organizations_projection.sql" in result.stdout
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT get_base_domain()") == "analytics4change.com"
    finally:
        await conn.close()

    applied = await asyncio.to_thread(_cli, "status", database_url=dsn)
    assert applied.stdout.count(": applied") == len(ALL_VERSIONS)

    unknown = await asyncio.to_thread(_cli, "migrate", "--environment", "prod", database_url=dsn)
    assert unknown.returncode == 1
    assert "unknown environment" in unknown.stderr


async def test_0005_renames_stored_temporal_initiated_events_to_their_bootstrap_name(
    fresh_database: FreshDatabase,
) -> None:
    dsn = await fresh_database(migrated=False)
    before_0005 = [m for m in load_migrations() if m.version < 5]
    await migrate(dsn, migrations=before_0005)
    org = uuid.UUID("6f1c1a52-8f0e-4a43-9b53-4d1d0b3c8f01")
    data = {
        "workflow_id": "org-bootstrap-x",
        "name": "Acme",
        "slug": "acme",
        "subdomain_fqdn": "acme.firstovertheline.com",
        "admin_email": "a@b.c",
    }
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            "INSERT INTO domain_events (id, stream_id, stream_type, event_type, event_data) "
            "VALUES (gen_random_uuid(), $1, 'organization', 'organization.temporal_initiated', $2::jsonb)",
            org,
            json.dumps(data),
        )
        await migrate(dsn)
        names = await conn.fetch("SELECT event_type FROM domain_events WHERE stream_id = $1", org)
        assert [r["event_type"] for r in names] == ["organization.bootstrap.temporal_initiated"]
        await conn.fetchval("SELECT rebuild_organizations_projection()")
        row = await conn.fetchrow("SELECT slug, workflow_id FROM organizations_projection WHERE id = $1", org)
        assert (row["slug"], row["workflow_id"]) == ("acme", "org-bootstrap-x")
    finally:
        await conn.close()


async def test_connecting_is_retried_until_the_connect_timeout(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="a4c.eventstore.migrate")

    with pytest.raises(DatabaseUnavailable):
        await migrate("postgresql://postgres@127.0.0.1:1/none", connect_timeout=1.2)

    # Every 0.5 s until 1.2 s have passed: the first attempt and at least two retries.
    assert caplog.text.count("database not reachable yet") >= 2
