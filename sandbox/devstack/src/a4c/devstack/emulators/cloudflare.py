"""Start the Cloudflare emulator and the sandbox DNS server on free loopback ports, for any member's
tests (the emulators', the DNS service's, the whole system's). Inside the running event loop:

    @pytest.fixture(scope="session")
    async def cloudflare() -> AsyncIterator[CloudflareSandbox]:
        async with CloudflareSandbox(clock=ManualClock()) as sandbox:
            yield sandbox

    env = Wiring.for_emulators(TOKEN, cloudflare=sandbox).env("dns")   # a4c.dns against it

``sandbox.api_url`` is the base URL for Cloudflare clients (the official SDK included),
``sandbox.nameserver`` the ``host:port`` of the authoritative server, ``sandbox.faults`` the fault
injection, ``sandbox.store`` the emulator's records; ``sandbox.reset()`` between tests.
With a :class:`a4c.devstack.timing.ManualClock` and ``propagation_delay`` > 0, changes reach the
nameserver only when the test advances the clock, so "not yet propagated" is checked without sleeping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import TracebackType

from a4c.sandbox.cloudflare import CloudflareEmulator, CloudflareSettings, create_app
from a4c.sandbox.cloudflare.app import BASE_PATH
from a4c.sandbox.cloudflare.store import CloudflareStore
from a4c.sandbox.dns_server import PublishedZones, SandboxDnsServer
from a4c.sandbox.faults import Faults
from a4c.sandbox.http import AsgiServer


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
    def api_address(self) -> str:
        """host:port of the HTTP API (``api_url`` without scheme and path)."""
        return self.http.url.removeprefix("http://")

    @property
    def nameserver(self) -> str:
        return self.dns.address

    def reset(self) -> None:
        """Undo what a test changed besides records: faults, rate limit, propagation delay."""
        self.faults.clear()
        self.published.delay = self._initial_delay

    def zone_id(self, name: str) -> str:
        return next(z.id for z in self.store.zones() if z.name == name)

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
