"""`python -m a4c.console`: serve the operators' console until SIGTERM."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping, Sequence

import uvicorn

from a4c.common.config import SettingsError
from a4c.common.logging import configure_logging
from a4c.common.main import parse_args
from a4c.console.config import SETTINGS, Settings
from a4c.console.server import open_console

PROG = "python -m a4c.console"
DESCRIPTION = (
    "A4C operators' console: the organizations, their live bootstrap and subdomain status, and actions "
    "(bootstrap, cancel, retry), over the provisioning gRPC API; operators sign in through the identity "
    "platform (OIDC)."
)


async def serve(settings: Settings) -> None:
    async with open_console(settings) as app:
        config = uvicorn.Config(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,  # the kit's JSON logging, secrets redacted
            access_log=False,
            proxy_headers=True,
            server_header=False,
            timeout_graceful_shutdown=5,
        )
        await uvicorn.Server(config).serve()


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> None:
    parse_args(PROG, DESCRIPTION, SETTINGS, sys.argv[1:] if argv is None else argv)
    try:
        settings = Settings.from_env(dict(os.environ if env is None else env))
    except SettingsError as exc:
        print(f"{PROG}: config error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    configure_logging(settings.log_level, settings.secrets)
    asyncio.run(serve(settings))


if __name__ == "__main__":
    main()
