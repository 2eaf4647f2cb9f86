"""Fixtures every member's tests share: a real PostgreSQL with the event store schema.

DATABASE_URL set: its server is used; unset: an embedded server starts for the session. Either way
the session works in databases of its own (see a4c.devstack.eventstore), dropped at the end.

    async def test_x(event_store): ...                       # EventStore on the session database
    async def test_y(fresh_database): dsn = await fresh_database()   # an empty migrated database
    async def test_z(system): ...                            # the whole system (a4c.devstack.system)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio

from a4c.devstack.eventstore import DatabaseFactory, database_server
from a4c.devstack.system import System, running_system
from a4c.eventstore import EventStore


@pytest.fixture(scope="session")
def database_server_url() -> Iterator[str]:
    """URL of the server (its maintenance database): for tests that manage databases themselves."""
    with database_server() as url:
        yield url


@pytest_asyncio.fixture(scope="session")
async def database_url(database_server_url: str) -> AsyncIterator[str]:
    """A migrated database shared by the session's tests (they must not assume it is empty)."""
    factory = DatabaseFactory(database_server_url)
    yield await factory.create()
    await factory.drop_all()


@pytest_asyncio.fixture
async def event_store(database_url: str) -> AsyncIterator[EventStore]:
    store = await EventStore.connect(database_url, max_size=5)
    yield store
    await store.close()


@pytest_asyncio.fixture
async def fresh_database(database_server_url: str) -> AsyncIterator[Callable[..., Awaitable[str]]]:
    """`await fresh_database()` → URL of a new empty migrated database (`migrated=False`: no schema)."""
    factory = DatabaseFactory(database_server_url)
    yield factory.create
    await factory.drop_all()


# The sandbox DNS publishes changes this many seconds late: longer than a bootstrap takes, so tests
# also see the subdomain verify *after* the bootstrap completed, as in production.
PROPAGATION_DELAY = 2.0


@pytest_asyncio.fixture(scope="session")
async def system(database_url: str) -> AsyncIterator[System]:
    """Emulators, DNS and identity services, Temporal dev server and event store, one per session.

    No worker runs: tests start `system.in_process_worker()` (or worker processes) themselves.
    """
    from a4c.dns.server import build as dns_build
    from a4c.identity.server import build as identity_build

    async with running_system(
        database_url,
        dns_build=dns_build,
        identity_build=identity_build,
        propagation_delay=PROPAGATION_DELAY,
        with_worker=False,
    ) as running:
        yield running
