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

from a4c.common.config import SERVER_ENV_HELP, ServerSettings, SettingsError
from a4c.common.logging import configure_logging
from a4c.common.server import ServiceBinding, create_server

log = logging.getLogger(__name__)


async def _nothing() -> None:
    return None


@dataclass
class Service:
    """What a service's `build` returns: its bindings, settings, secrets and clean-up."""

    bindings: Sequence[ServiceBinding]
    settings: ServerSettings
    secrets: Sequence[str] = ()
    on_stop: Callable[[], Awaitable[None]] = field(default=_nothing)


def env_help_text(
    description: str, env_help: Sequence[tuple[str, str]], *, server_settings: bool = True
) -> str:
    """`--help` text: the description, then every environment variable (the kit's server ones too)."""
    rows = [*env_help, *(SERVER_ENV_HELP if server_settings else ())]
    width = max(len(name) for name, _ in rows)
    lines = [description, "", "Settings (environment variables):"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in rows]
    return "\n".join(lines)


def parse_args(
    prog: str,
    description: str,
    env_help: Sequence[tuple[str, str]],
    argv: Sequence[str],
    *,
    server_settings: bool = True,
) -> None:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=env_help_text(description, env_help, server_settings=server_settings),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.parse_args(argv)


async def serve(service: Service) -> None:
    """Run until SIGTERM/SIGINT, then drain and stop within the grace period."""
    settings = service.settings
    server = create_server(settings, service.bindings)
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
        await service.on_stop()


def run_service(
    prog: str,
    description: str,
    env_help: Sequence[tuple[str, str]],
    build: Callable[[Mapping[str, str]], Awaitable[Service]],
    argv: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> None:
    """Parse args, build the service from the environment and serve; exits 2 on a settings error."""
    parse_args(prog, description, env_help, sys.argv[1:] if argv is None else argv)
    environment = dict(os.environ if env is None else env)

    async def main() -> None:
        try:
            service = await build(environment)
        except SettingsError as exc:
            print(f"{prog}: config error: {exc}", file=sys.stderr)
            raise SystemExit(2) from None
        configure_logging(service.settings.log_level, service.secrets)
        try:
            await serve(service)
        except OSError as exc:
            log.error("%s", exc)
            await service.on_stop()
            raise SystemExit(1) from None

    asyncio.run(main())
