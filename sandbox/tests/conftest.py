"""One Cloudflare sandbox (API + authoritative DNS) for the session; faults cleared after each test.

Tests share it, so each uses names of its own (``unique``) and never assumes an empty zone.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator

import httpx
import pytest

from a4c.sandbox.testing import CloudflareSandbox, ManualClock

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
