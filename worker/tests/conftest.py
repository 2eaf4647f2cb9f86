"""The worker tests run on the session's `system` (root conftest) with a worker of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from a4c.devstack.system import System


@pytest_asyncio.fixture
async def worker(system: System) -> AsyncIterator[None]:
    """An in-process worker for one test (crash tests run worker processes instead)."""
    async with system.in_process_worker():
        yield
    system.cloudflare.faults.clear()
    system.zitadel.faults.clear()
