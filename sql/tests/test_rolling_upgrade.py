"""Rolling upgrades: an older runner or part refuses a database a newer release migrated; migrations
never queue behind a long transaction for long (lock_timeout) and are bounded (statement_timeout)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from a4c.eventstore import EventStore, MigrationError, SchemaMismatch
from a4c.eventstore import migrate as runner
from a4c.eventstore.migrate import Migration, load_migrations, migrate

FreshDatabase = Callable[..., Awaitable[str]]
SHIPPED = load_migrations()
# A migration only a newer release ships: numbered after whatever this package holds.
FUTURE = Migration(
    version=SHIPPED[-1].version + 1,
    name="from_a_newer_release",
    sql="-- a newer release's migration\nCREATE TABLE newer_things (id int);",
)


async def _newer_database(fresh_database: FreshDatabase) -> str:
    dsn = await fresh_database(migrated=False)
    await migrate(dsn, migrations=[*SHIPPED, FUTURE])
    return dsn


def _cli(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": dsn}
    return subprocess.run(
        [sys.executable, "-m", "a4c.eventstore", *args], env=env, capture_output=True, text=True, timeout=60
    )


async def test_an_older_runner_refuses_a_database_a_newer_release_migrated(
    fresh_database: FreshDatabase,
) -> None:
    dsn = await _newer_database(fresh_database)

    with pytest.raises(SchemaMismatch) as refused:
        await migrate(dsn)  # the shipped set: this release's runner

    assert refused.value.unknown == (FUTURE.filename,)
    assert FUTURE.filename in str(refused.value)
    assert "newer release" in str(refused.value)
    cli = await asyncio.to_thread(_cli, dsn, "migrate")
    assert cli.returncode == 1
    assert FUTURE.filename in cli.stderr
    status = await asyncio.to_thread(_cli, dsn, "status")
    assert f"{FUTURE.filename}: UNKNOWN" in status.stdout


async def test_a_runner_refuses_before_applying_anything_of_its_own(fresh_database: FreshDatabase) -> None:
    # The newer release applied its file while an older one is still pending here: nothing is applied.
    dsn = await fresh_database(migrated=False)
    await migrate(dsn, migrations=[*SHIPPED[:-1], FUTURE])

    with pytest.raises(SchemaMismatch, match=FUTURE.filename):
        await migrate(dsn)

    conn = await asyncpg.connect(dsn)
    try:
        applied = await conn.fetchval("SELECT array_agg(version ORDER BY version) FROM schema_migrations")
    finally:
        await conn.close()
    assert applied == [*(m.version for m in SHIPPED[:-1]), FUTURE.version]


async def test_the_event_store_refuses_a_newer_or_older_schema_and_accepts_its_own(
    fresh_database: FreshDatabase,
) -> None:
    newer = await _newer_database(fresh_database)
    with pytest.raises(SchemaMismatch) as ahead:
        await EventStore.connect(newer)
    assert ahead.value.unknown == (FUTURE.filename,)

    older = await fresh_database(migrated=False)
    await migrate(older, migrations=SHIPPED[:-1])
    with pytest.raises(SchemaMismatch) as behind:
        await EventStore.connect(older)
    assert behind.value.pending == (SHIPPED[-1].filename,)
    assert "migrate" in str(behind.value)

    current = await fresh_database()
    async with await EventStore.connect(current) as store:
        assert await store.last_sequence() == 0
    async with await EventStore.connect(newer, check_schema=False) as inspecting:
        assert await inspecting.last_sequence() == 0


async def test_each_file_runs_with_a_lock_timeout_and_a_statement_timeout(
    fresh_database: FreshDatabase,
) -> None:
    dsn = await fresh_database(migrated=False)
    seen = Migration(
        version=1,
        name="seen",
        sql="-- records the limits\nCREATE TABLE seen AS SELECT current_setting('lock_timeout') AS lock_t, "
        "current_setting('statement_timeout') AS statement_t;",
    )
    await migrate(dsn, migrations=[seen])
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT lock_t, statement_t FROM seen")
        # SET LOCAL: the runner's own session is back to the server's defaults afterwards.
        assert await conn.fetchval("SHOW lock_timeout") == "0"
    finally:
        await conn.close()
    assert (row["lock_t"], row["statement_t"]) == ("5s", "15min")


async def test_a_migration_behind_a_long_transaction_gives_up_instead_of_queueing(
    fresh_database: FreshDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner, "LOCK_ATTEMPTS", 1)
    dsn = await fresh_database(migrated=False)
    table = Migration(version=1, name="things", sql="-- a table\nCREATE TABLE things (id int);")
    alter = Migration(version=2, name="alter_things", sql="-- a column\nALTER TABLE things ADD COLUMN x int;")
    await migrate(dsn, migrations=[table])
    reader = await asyncpg.connect(dsn)
    try:
        reading = reader.transaction()
        await reading.start()
        await reader.fetch("SELECT * FROM things")  # holds ACCESS SHARE until it ends

        with pytest.raises(MigrationError, match=r"0002_alter_things\.sql could not take its locks") as stuck:
            await migrate(dsn, migrations=[table, alter], lock_timeout=0.2)

        await reading.rollback()
        assert not isinstance(stuck.value, SchemaMismatch)
        assert [m.version for m in await migrate(dsn, migrations=[table, alter])] == [2]
    finally:
        await reader.close()
