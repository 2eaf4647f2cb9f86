"""Start the Cloudflare emulator and the sandbox DNS server on free loopback ports, for any member's
tests (the DNS service, the worker, the local stack). Inside the running event loop:

    @pytest.fixture(scope="session")
    async def cloudflare() -> AsyncIterator[CloudflareSandbox]:
        async with CloudflareSandbox(clock=ManualClock()) as sandbox:
            yield sandbox

    settings = a4c.dns.config.Settings.from_env(sandbox.dns_service_env(A4C_AUTH_DISABLED="true"))

``sandbox.api_url`` is the base URL for Cloudflare clients (the official SDK included),
``sandbox.nameserver`` the ``host:port`` of the authoritative server, ``sandbox.faults`` the fault
injection, ``sandbox.store`` the emulator's records; ``sandbox.reset()`` between tests.
With a :class:`ManualClock` and ``propagation_delay`` > 0, changes reach the nameserver only when
the test advances the clock, so "not yet propagated" is checked without sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from types import TracebackType

from a4c.sandbox.cloudflare import CloudflareEmulator, CloudflareSettings, create_app
from a4c.sandbox.cloudflare.app import BASE_PATH
from a4c.sandbox.cloudflare.store import CloudflareStore
from a4c.sandbox.dns_server import PublishedZones, SandboxDnsServer
from a4c.sandbox.faults import Faults
from a4c.sandbox.http import AsgiServer


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 30.0) -> None:
    """Await a condition observed from outside (the event log, Temporal visibility), polling briefly:
    such state changes in another process and offers nothing to wait on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within} s")
        await asyncio.sleep(0.05)


class ManualClock:
    """A monotonic clock that moves only when a test says so. ``sleep`` stands in for
    ``asyncio.sleep`` in code under test: it advances the clock at once and records the delay."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)  # still let other tasks run, as a real sleep would


class CloudflareSandbox:
    """The emulator's HTTP API and its authoritative DNS server, started together.

    The emulator's own rate limit is off unless ``settings`` sets one: a test session shares one
    sandbox, and tests that exercise throttling turn it on through ``faults``.
    """

    def __init__(
        self,
        settings: CloudflareSettings | None = None,
        *,
        propagation_delay: float = 0.0,
        clock: Callable[[], float] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.settings = settings or replace(CloudflareSettings(), rate_limit=None)
        self.emulator: CloudflareEmulator = create_app(self.settings)
        self.clock = clock
        self._initial_delay = propagation_delay
        kwargs = {"clock": clock} if clock is not None else {}
        self.published = PublishedZones(propagation_delay, **kwargs).attach(self.emulator.store)
        self.http = AsgiServer(self.emulator.app, host=host, name="cloudflare-sandbox")
        self.dns = SandboxDnsServer(self.published, host=host)

    @property
    def store(self) -> CloudflareStore:
        return self.emulator.store

    @property
    def faults(self) -> Faults:
        return self.emulator.faults

    @property
    def token(self) -> str:
        return self.settings.tokens[0]

    @property
    def api_url(self) -> str:
        return self.http.url + BASE_PATH

    @property
    def nameserver(self) -> str:
        return self.dns.address

    def reset(self) -> None:
        """Undo what a test changed besides records: faults, rate limit, propagation delay."""
        self.faults.clear()
        self.published.delay = self._initial_delay

    def zone_id(self, name: str) -> str:
        return next(z.id for z in self.store.zones() if z.name == name)

    def dns_service_env(self, zone: str | None = None, **extra: str) -> dict[str, str]:
        """Environment for ``a4c.dns`` pointed at this sandbox (add A4C_* server settings in extra)."""
        env = {
            "CLOUDFLARE_API_TOKEN": self.token,
            "CLOUDFLARE_BASE_URL": self.api_url,
            "CLOUDFLARE_ZONE_NAME": zone or self.settings.zones[0],
            "A4C_DNS_NAMESERVERS": self.nameserver,
            "A4C_GRPC_HOST": "127.0.0.1",
            "A4C_GRPC_PORT": "0",
        }
        env.update(extra)
        return env

    async def start(self) -> CloudflareSandbox:
        self.dns.start()
        try:
            await self.http.start()
        except BaseException:
            self.dns.stop()
            raise
        return self

    async def stop(self) -> None:
        await self.http.stop()
        self.dns.stop()

    async def __aenter__(self) -> CloudflareSandbox:
        return await self.start()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()
