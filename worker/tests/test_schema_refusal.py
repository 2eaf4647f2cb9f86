"""Rolling upgrades: the worker refuses to start against a database a newer release migrated,
before it polls Temporal or serves health."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from a4c.common.main import REFUSED_EXIT
from a4c.devstack.eventstore import migrate_as_a_newer_release


async def test_the_worker_refuses_a_newer_schema_naming_the_unknown_migration(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database(migrated=False)
    newer = await migrate_as_a_newer_release(dsn)
    env = {
        "DATABASE_URL": dsn,
        # Nothing listens there: the schema check comes first, so the worker never gets that far.
        "TEMPORAL_ADDRESS": "127.0.0.1:1",
        "A4C_DNS_SERVICE_ADDRESS": "127.0.0.1:1",
        "A4C_IDENTITY_SERVICE_ADDRESS": "127.0.0.1:1",
        "A4C_HEALTH_PORT": "0",
        "PATH": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "a4c.worker", env=env, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        _, err = await process.communicate()

    assert process.returncode == REFUSED_EXIT, err.decode()
    assert (
        f"refusing to start: the database holds migrations this release does not know: {newer}"
        in err.decode()
    )
