"""The session's Cloudflare sandbox (API + authoritative DNS on loopback) and fake time for clients.

Tests share the sandbox, so each works on names of its own (``unique``); faults and the
propagation delay are reset after every test.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace

import httpx
import pytest

from a4c.api.dns.v1 import dns_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.retry import RetryPolicy
from a4c.common.server import GrpcServer
from a4c.devstack.emulators import CloudflareSandbox
from a4c.devstack.timing import ManualClock
from a4c.devstack.wiring import Wiring
from a4c.dns.config import Settings
from a4c.dns.server import create_server
from a4c.sandbox.cloudflare import CloudflareSettings

ZONE = "firstovertheline.com"
READ_ONLY_TOKEN = "dns-tests-read-only-token"
# A token whose permissions cover another zone only (Cloudflare: zone resources "specific zone").
SCOPED_TOKEN = "dns-tests-other-zone-token"


@pytest.fixture(scope="session")
async def cloudflare() -> AsyncIterator[CloudflareSandbox]:
    # Rate limits off: the session shares one sandbox; tests that need one set it at run time.
    settings = replace(
        CloudflareSettings(),
        read_only_tokens=(READ_ONLY_TOKEN,),
        scoped_tokens={SCOPED_TOKEN: ("analytics4change.com",)},
        rate_limit=None,
        ip_rate_limit=None,
    )
    async with CloudflareSandbox(settings, clock=ManualClock()) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(cloudflare: CloudflareSandbox) -> Iterator[CloudflareSandbox]:
    yield cloudflare
    cloudflare.reset()


@pytest.fixture
def fake_time() -> ManualClock:
    """Clock and sleep for the client under test: sleeping advances the clock at once."""
    return ManualClock(start=0.0)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """``unique("acme")`` -> a fresh FQDN in the test zone."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:10]}.{ZONE}"


AsyncContextManager = contextlib.AbstractAsyncContextManager
SERVICE_TOKEN = "dns-tests-service-token-0123456789"  # the worker's: read and write
OPERATOR_TOKEN = "dns-tests-operator-token-0123456789"  # provisioning's caller: not a DNS principal
# Short backoffs so fault bursts are ridden out quickly; retry-after comes from the sandbox.
FAST_RETRY = RetryPolicy(max_attempts=4, base_delay=0.02, max_delay=0.1)


@dataclass
class RunningDns:
    settings: Settings
    server: GrpcServer
    stub: dns_pb2_grpc.DnsServiceAsyncStub


@contextlib.asynccontextmanager
async def _running_dns(sandbox: CloudflareSandbox, **env: str) -> AsyncIterator[RunningDns]:
    wiring = Wiring.for_emulators(OPERATOR_TOKEN, service_token=SERVICE_TOKEN, cloudflare=sandbox, zone=ZONE)
    wired = wiring.env("dns")
    settings = Settings.from_env({**wired, **env})
    async with httpx.AsyncClient() as http:
        server = create_server(settings, http, retry=FAST_RETRY)
        await server.start()
        channel = open_channel(f"127.0.0.1:{server.port}", token=SERVICE_TOKEN)
        try:
            yield RunningDns(settings, server, dns_pb2_grpc.DnsServiceStub(channel))
        finally:
            await channel.close()
            await server.stop(0)


@pytest.fixture(scope="session")
async def dns_service(cloudflare: CloudflareSandbox) -> AsyncIterator[RunningDns]:
    """The DNS service on a free loopback port, wired to the session's sandbox."""
    async with _running_dns(cloudflare) as running:
        yield running


@pytest.fixture
def dns(dns_service: RunningDns, sandbox: CloudflareSandbox) -> dns_pb2_grpc.DnsServiceAsyncStub:
    return dns_service.stub


@pytest.fixture
def start_dns(sandbox: CloudflareSandbox) -> Callable[..., AsyncContextManager[RunningDns]]:
    """``async with start_dns(CLOUDFLARE_API_TOKEN=...) as running:`` a service with other settings."""
    return lambda **env: _running_dns(sandbox, **env)
