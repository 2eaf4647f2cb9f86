"""One Cloudflare sandbox (API + authoritative DNS) for the session; faults cleared after each test.
One Zitadel API emulator for the session too, reset to a fresh instance for each test (``zitadel``).

Tests share it, so each uses names of its own (``unique``) and never assumes an empty zone.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from a4c.devstack.emulators import CloudflareSandbox, RunningZitadel, run_zitadel
from a4c.devstack.timing import ManualClock

ZONE = "firstovertheline.com"


@pytest.fixture(scope="session")
async def cloudflare() -> AsyncIterator[CloudflareSandbox]:
    async with CloudflareSandbox(clock=ManualClock()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(cloudflare: CloudflareSandbox) -> Iterator[CloudflareSandbox]:
    yield cloudflare
    cloudflare.reset()


@pytest.fixture
async def api(sandbox: CloudflareSandbox) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"authorization": f"Bearer {sandbox.token}"}
    async with httpx.AsyncClient(base_url=sandbox.api_url, headers=headers) as client:
        yield client


@pytest.fixture
def zone_id(sandbox: CloudflareSandbox) -> str:
    return sandbox.zone_id(ZONE)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("acme")`` -> a fresh FQDN in the test zone."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}.{ZONE}"


@pytest.fixture(scope="session")
async def zitadel_server() -> AsyncIterator[RunningZitadel]:
    """The Zitadel API emulator; the access tokens it issues live 60 s of its clock."""
    async with run_zitadel(access_token_ttl_seconds=60) as running:
        yield running


@pytest.fixture
def zitadel_clock() -> ManualClock:
    return ManualClock(time.time())  # wall-clock start: the emulator stamps dates with it


@pytest.fixture
def zitadel(zitadel_server: RunningZitadel, zitadel_clock: ManualClock) -> RunningZitadel:
    """A freshly seeded emulator whose lag and token expiry move only with ``zitadel_clock``."""
    return zitadel_server.reset(zitadel_clock)
