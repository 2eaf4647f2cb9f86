"""The console on the whole system for tests: a real provisioning service, worker and emulators, and
the console served by uvicorn on a free port (event streams need a real socket)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import uvicorn

from a4c.console.config import Settings
from a4c.console.roles import Role
from a4c.console.server import open_console
from a4c.console.session import COOKIE, Session, SessionCodec


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RunningConsole:
    settings: Settings
    url: str

    def cookie(self, login: str = "ada", role: Role = Role.OPERATE) -> dict[str, str]:
        """A signed-in operator's session cookie, as the login would have set it."""
        codec = SessionCodec(self.settings.session_key, 3600)
        session = Session(login=login, display_name=login.title(), role=role)
        return {COOKIE: codec.dumps(session)}

    def csrf_of(self, cookies: Mapping[str, str]) -> str:
        return SessionCodec(self.settings.session_key, 3600).loads(cookies[COOKIE]).csrf


@contextlib.asynccontextmanager
async def running_console(env: Mapping[str, str]) -> AsyncIterator[RunningConsole]:
    """``env``: the console's settings; A4C_CONSOLE_PORT 0 is replaced by a free port (the public URL too)."""
    values = dict(env)
    if values.get("A4C_CONSOLE_PORT", "0") == "0":
        port = free_port()
        values["A4C_CONSOLE_PORT"] = str(port)
        values["A4C_CONSOLE_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    settings = Settings.from_env(values)
    async with open_console(settings) as app:
        config = uvicorn.Config(app, host="127.0.0.1", port=settings.port, log_config=None, access_log=False)
        server = uvicorn.Server(config)
        task = asyncio.ensure_future(server.serve())
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        try:
            yield RunningConsole(settings, f"http://127.0.0.1:{settings.port}")
        finally:
            server.should_exit = True
            await task
