"""Fault injection for the sandbox emulators, as ASGI middleware shared by every emulator.

Reliability tests need an upstream that misbehaves on cue: slow answers, bursts of 429 with
``retry-after``, 5xx bursts, connections dropped without an answer, and the upstream's own rate
limit. Each emulator wraps its app in :class:`FaultMiddleware` and supplies the body its upstream
sends on such errors (a Cloudflare envelope, a Zitadel/gRPC-gateway error, ...).

Faults are configured at start (``Faults(rules=..., rate_limit=...)`` or :meth:`Faults.configure`
with the JSON below) and at run time through the control endpoint, which is never itself faulted:

``POST /_sandbox/faults``   add rules and/or set the rate limit, body::

    {"faults": [
        {"kind": "latency", "path": "/zones/*", "method": "GET", "seconds": 0.2},
        {"kind": "latency", "min_seconds": 0.05, "max_seconds": 0.3},
        {"kind": "status", "status": 429, "count": 3, "retry_after": 1},
        {"kind": "status", "status": 503, "count": 2, "path": "/zones/*/dns_records"},
        {"kind": "drop", "count": 1, "method": "POST"},
        {"kind": "status", "status": 502, "after": true}],
     "rate_limit": {"limit": 1200, "window_seconds": 300, "block_seconds": 300}}

``GET /_sandbox/faults``    the rules with their remaining counts, the rate limit, what was injected
                            (counts by kind, and each added delay: method, path, seconds, wall-clock
                            start, so a benchmark can say how much of its latency was injected).
``DELETE /_sandbox/faults`` remove every rule and forget the rate-limit history (the rate limit
                            configured at start stays in force).

Every other request is kept in the middleware's :class:`~a4c.sandbox.request_log.RequestLog`
(``GET /_sandbox/requests``), answered or refused, so a test can check an upstream's rate held.

``path`` is a shell-style pattern (fnmatch) on the request path; ``method`` is optional. Latency
rules apply to every matching request until cleared (or ``count`` times when given); status and drop
rules fire ``count`` times (default 1), the first matching rule first; with ``"after": true`` the
request is served first and its answer replaced (a change applied whose answer was lost).
Dropping a connection needs the server from :mod:`a4c.sandbox.http`, which hands the app a way to
abort the transport.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any

from a4c.sandbox.fault_rules import (
    Decision,
    FaultConfigError,
    FaultKind,
    FaultRule,
    Faults,
    Quota,
    RateLimit,
)
from a4c.sandbox.request_log import REQUESTS_PATH, RequestLog

__all__ = [
    "ABORT_EXTENSION",
    "CONTROL_PATH",
    "ASGIApp",
    "Decision",
    "ErrorBody",
    "FaultConfigError",
    "FaultKind",
    "FaultMiddleware",
    "FaultRule",
    "Faults",
    "Message",
    "Quota",
    "QuotaHeaders",
    "RateLimit",
    "Receive",
    "Scope",
    "Send",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# (HTTP status, reason) -> JSON-serializable body the emulated upstream sends for that error.
# reason is "rate_limited" (429 from a rule or the rate limiter) or "server_error" (5xx).
ErrorBody = Callable[[int, str], Any]
# The per-credential limit's state -> headers the upstream adds to every answer (Cloudflare's
# Ratelimit / Ratelimit-Policy); emulators whose upstream sends none pass nothing.
QuotaHeaders = Callable[[Quota], Mapping[str, str]]

CONTROL_PATH = "/_sandbox/faults"
SANDBOX_PREFIX = "/_sandbox/"
# Scope extension set by a4c.sandbox.http: a callable that aborts the TCP connection.
ABORT_EXTENSION = "a4c.sandbox.abort"


class FaultMiddleware:
    """ASGI middleware applying :class:`Faults` and serving the control endpoint."""

    def __init__(
        self, app: ASGIApp, faults: Faults, error_body: ErrorBody, quota_headers: QuotaHeaders | None = None
    ) -> None:
        self.app = app
        self.faults = faults
        self.error_body = error_body
        self.quota_headers = quota_headers
        self.requests = RequestLog()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if path == CONTROL_PATH:
            await self._control(scope, receive, send)
            return
        if path == REQUESTS_PATH:
            await self._requests(scope, send)
            return
        if path.startswith(SANDBOX_PREFIX):  # the emulator's own endpoints: not the upstream's traffic
            await self._handle(scope, receive, send)
            return
        entry = _Logged(self.requests, scope)
        try:
            await self._handle(scope, receive, entry.wrap(send))
        finally:
            entry.finish()

    async def _handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        decision = self.faults.decide(scope["method"], path, _credential(scope), _client(scope))
        if decision.quota is not None and self.quota_headers is not None:
            send = _with_headers(send, self.quota_headers(decision.quota))
        if decision.delay > 0:
            await asyncio.sleep(decision.delay)
        if decision.after and decision.action != "pass":
            await self.app(scope, receive, _discard)
        if decision.action == "drop":
            await _drop(scope, receive)
        elif decision.action == "respond":
            headers: dict[str, str] = {}
            if decision.retry_after is not None:
                headers["retry-after"] = _format_seconds(decision.retry_after)
            body = self.error_body(decision.status, decision.reason)
            await _send_json(send, decision.status, body, headers)
        else:
            await self.app(scope, receive, send)

    async def _requests(self, scope: Scope, send: Send) -> None:
        if scope["method"] == "DELETE":
            self.requests.clear()
        await _send_json(send, 200, self.requests.snapshot(scope.get("query_string", b"")))

    async def _control(self, scope: Scope, receive: Receive, send: Send) -> None:
        method = scope["method"]
        if method == "GET":
            await _send_json(send, 200, self.faults.snapshot())
        elif method == "DELETE":
            self.faults.clear()
            await _send_json(send, 200, self.faults.snapshot())
        elif method == "POST":
            try:
                data = json.loads(await _read_body(receive) or b"{}")
                if not isinstance(data, Mapping):
                    raise FaultConfigError("body: must be a JSON object")
                self.faults.configure(data)
            except (ValueError, FaultConfigError) as exc:
                await _send_json(send, 400, {"error": str(exc)})
                return
            await _send_json(send, 200, self.faults.snapshot())
        else:
            error = {"error": f"method {method} not allowed"}
            await _send_json(send, 405, error, {"allow": "GET, POST, DELETE"})


class _Logged:
    """One request's entry in the log: its status once answered, 0 if it never was (dropped)."""

    def __init__(self, log: RequestLog, scope: Scope) -> None:
        self._log = log
        self._at, self._method, self._path = log.now(), scope["method"], scope["path"]
        self._status = 0

    def wrap(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and not self._status:
                self._status = int(message["status"])
            await send(message)

        return sending

    def finish(self) -> None:
        self._log.add(self._at, self._method, self._path, self._status)


def _client(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "anonymous"


def _with_headers(send: Send, headers: Mapping[str, str]) -> Send:
    """``send`` adding ``headers`` to the answer's start message."""
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), *raw]}
        await send(message)

    return sending


def _credential(scope: Scope) -> str:
    """The rate-limit key: the caller's credential (limits are per token), else its address."""
    for name, value in scope.get("headers", ()):
        if name in (b"authorization", b"x-auth-key"):
            return hashlib.sha256(value).hexdigest()  # never keep the token itself
    client = scope.get("client")
    return f"client:{client[0]}" if client else "anonymous"


async def _discard(message: Message) -> None:
    """The app's answer to a request whose answer is lost on the way back."""


async def _drop(scope: Scope, receive: Receive) -> None:
    abort = scope.get("extensions", {}).get(ABORT_EXTENSION)
    if abort is None:
        raise RuntimeError("dropping connections needs the server from a4c.sandbox.http")
    abort()
    # Wait until the server has seen the connection go, so it does not try to answer it.
    while (await receive())["type"] != "http.disconnect":
        pass


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _send_json(send: Send, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
    payload = json.dumps(body).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    raw += [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


def _format_seconds(seconds: float) -> str:
    # Upstreams send whole seconds; tests use fractions to stay fast (the official SDKs accept both).
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
