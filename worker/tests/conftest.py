"""One running system for the worker tests: emulators, services, Temporal dev server, database.

The sandbox DNS publishes changes after PROPAGATION_DELAY seconds, longer than a bootstrap takes,
so every test also sees the subdomain verify *after* the bootstrap completed, as in production.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from a4c.dns.server import build as dns_build
from a4c.identity.server import build as identity_build
from a4c.sandbox.system import System, running_system

PROPAGATION_DELAY = 2.0


@pytest_asyncio.fixture(scope="session")
async def system(database_url: str) -> AsyncIterator[System]:
    async with running_system(
        database_url,
        dns_build=dns_build,
        identity_build=identity_build,
        propagation_delay=PROPAGATION_DELAY,
        with_worker=False,
    ) as running:
        yield running


@pytest_asyncio.fixture
async def worker(system: System) -> AsyncIterator[None]:
    """An in-process worker for one test (crash tests run worker processes instead)."""
    async with system.in_process_worker():
        yield
    system.cloudflare.faults.clear()
    system.zitadel.faults.clear()
