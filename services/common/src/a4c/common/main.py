"""The `python -m a4c.<service>` entry point shared by every service.

Order matters: `--help` needs nothing; settings are validated before anything binds or connects
(a bad value exits 2 naming the variable); logging is configured with the secrets known; then the
server runs until SIGTERM/SIGINT and drains within the configured grace period.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from a4c.common.config import ServerSettings, SettingsError
from a4c.common.logging import configure_logging
from a4c.common.metrics import Metrics, MetricsListener
from a4c.common.server import ServiceBinding, create_server
from a4c.common.settings import Setting, help_text
from a4c.common.tracing import Tracing

log = logging.getLogger(__name__)


async def _nothing() -> None:
    return None


# Exit status of a part that refuses to start against what it found (e.g. a database schema newer
# than its code): distinct from 1 (failed) and 2 (bad settings), so a supervisor or `kubectl describe`
# tells "wrong release for this database" apart at a glance.
REFUSED_EXIT = 3


class RefusedToStart(Exception):
    """The part cannot run against its environment as found (the message says why and what to do).

    It exits with REFUSED_EXIT before its server or health port ever binds, so its probes never see
    SERVING: Kubernetes keeps the pod out of the Service and the rollout stops, while the replicas of
    the previous release keep serving."""


@dataclass
class Service:
    """What a service's `build` returns: its bindings, settings, secrets and clean-up."""

    bindings: Sequence[ServiceBinding]
    settings: ServerSettings
    secrets: Sequence[str] = ()
    on_stop: Callable[[], Awaitable[None]] = field(default=_nothing)
    # Made by `build` from `metrics_for(settings)`: None when A4C_METRICS_PORT is unset (metrics off).
    metrics: Metrics | None = None
    # The part's traces (off unless A4C_TRACES); flushed after on_stop.
    tracing: Tracing = field(default_factory=Tracing.off)


def metrics_for(settings: ServerSettings) -> Metrics | None:
    """A fresh registry when the part serves metrics, else None (nothing is recorded at all)."""
    return Metrics() if settings.metrics_port is not None else None


def parse_args(prog: str, description: str, spec: Sequence[Setting[Any]], argv: Sequence[str]) -> None:
    """`--help` lists every variable of `spec` (a service passes its own plus the kit's SERVER_SETTINGS)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=help_text(description, spec),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)


async def serve(service: Service) -> None:
    """Run until SIGTERM/SIGINT, then drain and stop within the grace period."""
    settings = service.settings
    server = create_server(
        settings, service.bindings, metrics=service.metrics, tracing=service.tracing
    )  # SettingsError: scopes
    listener = None
    if service.metrics is not None and settings.metrics_port is not None:
        listener = MetricsListener(service.metrics, settings.host, settings.metrics_port)
        await listener.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await server.start()
    try:
        await stop.wait()
        log.info("shutting down", extra={"grace_seconds": settings.shutdown_grace_seconds})
        await server.stop(settings.shutdown_grace_seconds)
    finally:
        if listener is not None:
            await listener.stop()
        await service.on_stop()
        await service.tracing.shutdown()


def run_service(
    prog: str,
    description: str,
    spec: Sequence[Setting[Any]],
    build: Callable[[Mapping[str, str]], Awaitable[Service]],
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Parse args, build the service from the environment and serve; exits 2 on a settings error."""
    parse_args(prog, description, spec, sys.argv[1:] if argv is None else argv)
    environment = dict(os.environ if env is None else env)

    async def main() -> None:
        try:
            service = await build(environment)
        except SettingsError as exc:
            print(f"{prog}: config error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        except RefusedToStart as exc:
            print(f"{prog}: refusing to start: {exc}", file=sys.stderr)
            raise SystemExit(REFUSED_EXIT) from None
        configure_logging(service.settings.log_level, service.secrets)
        try:
            await serve(service)
        except SettingsError as exc:
            print(f"{prog}: config error: {exc}", file=sys.stderr)
            await service.on_stop()
            raise SystemExit(2) from None
        except OSError as exc:
            log.error("%s", exc)
            await service.on_stop()
            raise SystemExit(1) from None

    asyncio.run(main())
