"""Rolling upgrades: the service refuses to start against a database a newer release migrated."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable

from a4c.common.main import REFUSED_EXIT
from a4c.devstack.eventstore import migrate_as_a_newer_release

from .helpers import service_env


async def test_the_service_refuses_a_newer_schema_naming_the_unknown_migration(
    fresh_database: Callable[..., Awaitable[str]],
) -> None:
    dsn = await fresh_database(migrated=False)
    newer = await migrate_as_a_newer_release(dsn)
    env = service_env(dsn, "refused", A4C_HEALTH_PORT="0", PATH="")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "a4c.provisioning", env=env, stderr=asyncio.subprocess.PIPE
    )
    async with asyncio.timeout(60):
        _, err = await process.communicate()

    assert process.returncode == REFUSED_EXIT, err.decode()
    assert (
        f"refusing to start: the database holds migrations this release does not know: {newer}"
        in err.decode()
    )
