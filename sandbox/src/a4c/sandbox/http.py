"""Run an ASGI app with uvicorn on a host/port (port 0: a free one), inside the current event loop or
in a thread of its own, with a clean start and stop. Used by tests and by ``python -m a4c.sandbox``.

    async with AsgiServer(app) as server:        # in the running loop
        httpx.get(f"{server.url}/...")

    with ThreadedAsgiServer(app) as server:      # own loop in a thread (sync tests, SDK clients)
        ...

The socket is bound before uvicorn starts, so ``port`` is known and connectable as soon as
``start()`` returns. Uvicorn's signal handling is not installed: the caller owns the process's
signals (several servers share one process in the sandbox). The app gets a scope extension
``a4c.sandbox.abort`` that drops the TCP connection without an answer (used by fault injection).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from types import TracebackType
from typing import Any, cast

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol

from a4c.sandbox.faults import ABORT_EXTENSION, ASGIApp, Receive, Scope, Send

logger = logging.getLogger(__name__)


class _AbortableH11Protocol(H11Protocol):
    """uvicorn's h11 protocol that lets the app abort its own connection (a "dropped" request)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        app = self.app

        async def app_with_abort(scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("extensions", {})[ABORT_EXTENSION] = transport.abort
            await cast(ASGIApp, app)(scope, receive, send)

        self.app = cast(Any, app_with_abort)


class AsgiServer:
    """One uvicorn server in the running event loop."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, name: str = "asgi") -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._server: uvicorn.Server | None = None
        self._socket: socket.socket | None = None
        self._main: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> int:
        """Bind, run the app's lifespan startup and start serving; returns the bound port."""
        if self._server is not None:
            raise RuntimeError(f"{self.name} server already started")
        sock = _bind(self.host, self.port)
        config = uvicorn.Config(
            cast(Any, self.app),
            host=self.host,
            port=self.port,
            http=_AbortableH11Protocol,
            ws="none",
            lifespan="auto",
            log_config=None,  # leave the process's logging configuration alone
            access_log=False,
            timeout_graceful_shutdown=5,
        )
        config.load()
        server = uvicorn.Server(config)
        server.lifespan = config.lifespan_class(config)
        try:
            await server.startup(sockets=[sock])
        except SystemExit as exc:  # uvicorn exits the process when the app's startup fails
            sock.close()
            raise RuntimeError(f"{self.name} server failed to start") from exc
        self._server, self._socket = server, sock
        self.port = sock.getsockname()[1]
        # The main loop only refreshes the Date header and watches should_exit.
        self._main = asyncio.create_task(server.main_loop(), name=f"{self.name}-uvicorn")
        logger.info("%s listening on %s", self.name, self.url)
        return self.port

    async def stop(self) -> None:
        """Stop accepting, let in-flight requests finish, run lifespan shutdown. Idempotent."""
        server, main = self._server, self._main
        if server is None or main is None:
            return
        self._server = self._main = None
        server.should_exit = True
        await main
        await server.shutdown(sockets=[self._socket] if self._socket else None)
        self._socket = None

    async def __aenter__(self) -> AsgiServer:
        await self.start()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.stop()


class ThreadedAsgiServer:
    """An :class:`AsgiServer` on its own event loop in a daemon thread, for synchronous callers."""

    def __init__(self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, name: str = "asgi") -> None:
        self._server = AsgiServer(app, host=host, port=port, name=name)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def host(self) -> str:
        return self._server.host

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def start(self, timeout: float = 10.0) -> int:
        loop = asyncio.new_event_loop()
        thread = threading.Thread(target=loop.run_forever, name=f"{self._server.name}-loop", daemon=True)
        thread.start()
        self._loop, self._thread = loop, thread
        try:
            return asyncio.run_coroutine_threadsafe(self._server.start(), loop).result(timeout)
        except BaseException:
            self._close_loop()
            raise

    def stop(self, timeout: float = 10.0) -> None:
        if self._loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(self._server.stop(), self._loop).result(timeout)
        finally:
            self._close_loop()

    def _close_loop(self) -> None:
        loop, thread = self._loop, self._thread
        self._loop = self._thread = None
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.close()

    def __enter__(self) -> ThreadedAsgiServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _bind(host: str, port: int) -> socket.socket:
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError:
        sock.close()
        raise
    return sock
