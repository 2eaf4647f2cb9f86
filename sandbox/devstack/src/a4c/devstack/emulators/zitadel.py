"""Run the Zitadel emulator on a free loopback port, for the emulators' tests and other members'.

    async with run_zitadel(search_lag_seconds=0.2) as zitadel:
        env = Wiring.for_emulators(TOKEN, zitadel=zitadel).env("identity")   # a4c.identity against it
        zitadel.emails()                                # what it has "sent"
        zitadel.reset()                                 # a clean instance for the next test

``run_zitadel_in_thread`` does the same on a thread of its own, for synchronous clients such as the
official ``zitadel-client`` SDK (a blocking call in the test's event loop would stall the server).
A :class:`a4c.devstack.timing.ManualClock` makes lag and token expiry deterministic: pass
``clock=ManualClock(time.time())`` (the store keeps wall-clock dates) and move it forward.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from a4c.sandbox.faults import Faults
from a4c.sandbox.http import AsgiServer, ThreadedAsgiServer
from a4c.sandbox.zitadel.app import ZitadelEmulator, create_app
from a4c.sandbox.zitadel.config import ZitadelConfig
from a4c.sandbox.zitadel.store import Store

__all__ = ["RunningZitadel", "run_zitadel", "run_zitadel_in_thread"]


@dataclass
class RunningZitadel:
    """A started emulator: its URL and live handles on its state."""

    emulator: ZitadelEmulator
    url: str

    @property
    def address(self) -> str:
        """host:port (``url`` without the scheme)."""
        return self.url.removeprefix("http://")

    @property
    def config(self) -> ZitadelConfig:
        return self.emulator.config

    @property
    def pat(self) -> str:
        return self.emulator.config.pat

    @property
    def store(self) -> Store:
        return self.emulator.store

    @property
    def faults(self) -> Faults:
        return self.emulator.faults

    def reset(self, clock: Callable[[], float] | None = None) -> RunningZitadel:
        """Forget everything (records, emails, faults, behaviour changes), keeping the server running."""
        self.store.reset(clock)
        self.faults.clear()
        return self

    def emails(self, to: str | None = None) -> list[dict[str, Any]]:
        return self.emulator.emails(to)

    def write_key_file(self, path: Path) -> Path:
        """A service-account key JSON for the JWT profile, as Zitadel's console would download it."""
        return self.emulator.write_key_file(path)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An httpx client for the emulator authenticated with the PAT."""
        headers = {"authorization": f"Bearer {self.pat}", **kwargs.pop("headers", {})}
        return httpx.AsyncClient(base_url=self.url, headers=headers, **kwargs)


@contextlib.asynccontextmanager
async def run_zitadel(
    config: ZitadelConfig | None = None, *, clock: Callable[[], float] | None = None, **settings: Any
) -> AsyncIterator[RunningZitadel]:
    """The emulator on 127.0.0.1:<free port> in the running loop; ``settings`` build a ZitadelConfig."""
    emulator = create_app(config or ZitadelConfig(**settings), clock=clock or time.time)
    async with AsgiServer(emulator, name="zitadel") as server:
        yield RunningZitadel(emulator, server.url)


@contextlib.contextmanager
def run_zitadel_in_thread(
    config: ZitadelConfig | None = None, *, clock: Callable[[], float] | None = None, **settings: Any
) -> Iterator[RunningZitadel]:
    """The emulator on its own thread and loop, for blocking clients (the official SDK)."""
    emulator = create_app(config or ZitadelConfig(**settings), clock=clock or time.time)
    with ThreadedAsgiServer(emulator, name="zitadel") as server:
        yield RunningZitadel(emulator, server.url)
