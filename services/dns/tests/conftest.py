"""The session's Cloudflare sandbox (API + authoritative DNS on loopback) and fake time for clients.

Tests share the sandbox, so each works on names of its own (``unique``); faults and the
propagation delay are reset after every test.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace

import pytest

from a4c.sandbox.cloudflare import CloudflareSettings
from a4c.sandbox.testing import CloudflareSandbox, ManualClock

ZONE = "firstovertheline.com"
READ_ONLY_TOKEN = "dns-tests-read-only-token"


@pytest.fixture(scope="session")
async def cloudflare() -> AsyncIterator[CloudflareSandbox]:
    settings = replace(CloudflareSettings(), read_only_tokens=(READ_ONLY_TOKEN,), rate_limit=None)
    async with CloudflareSandbox(settings, clock=ManualClock()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(cloudflare: CloudflareSandbox) -> Iterator[CloudflareSandbox]:
    yield cloudflare
    cloudflare.faults.clear()
    cloudflare.published.delay = 0.0


@pytest.fixture
def fake_time() -> ManualClock:
    """Clock and sleep for the client under test: sleeping advances the clock at once."""
    return ManualClock(start=0.0)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("acme")`` -> a fresh FQDN in the test zone."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}.{ZONE}"
