"""Server interceptors: bearer-token authentication and one access-log line per call.

Both wrap the method handler rather than the transport, so they see the final status code of
every call (including aborts) and work the same for unary and streaming methods.
"""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

import grpc

log = logging.getLogger("a4c.access")

# Operators and Kubernetes probe these without credentials; they reveal nothing private.
OPEN_METHOD_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")

# Generic only in the type stubs, not at run time.
Handler: TypeAlias = "grpc.RpcMethodHandler[Any, Any]"

_KINDS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")

Wrapper = Callable[[Callable[..., Any], str, bool], Callable[..., Any]]


def _rewrap(handler: Handler, method: str, wrap: Wrapper) -> Handler:
    """The same handler kind with its behaviour passed through `wrap`."""
    for kind in _KINDS:
        behaviour = getattr(handler, kind)
        if behaviour is not None:
            factory = getattr(grpc, f"{kind}_rpc_method_handler")
            wrapped = wrap(behaviour, method, handler.response_streaming)
            return factory(  # type: ignore[no-any-return]
                wrapped,
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
    return handler


def _token_of(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == "authorization" and isinstance(value, str):
            scheme, _, token = value.partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Rejects calls without a configured bearer token (UNAUTHENTICATED); health and reflection pass."""

    def __init__(self, tokens: Sequence[str]) -> None:
        self._tokens = [t.encode() for t in tokens]

    def _allowed(self, token: str | None) -> bool:
        if token is None:
            return False
        presented = token.encode()
        # Compare against every token so the time taken does not reveal which one nearly matched.
        matches = [hmac.compare_digest(presented, known) for known in self._tokens]
        return any(matches)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(OPEN_METHOD_PREFIXES):
            return handler
        token = _token_of(details.invocation_metadata)
        if self._allowed(token):
            return handler
        problem = "missing bearer token" if token is None else "invalid bearer token"
        return _rewrap(handler, method, _rejecting(problem))


def _rejecting(problem: str) -> Wrapper:
    def wrap(_behaviour: Callable[..., Any], _method: str, streaming: bool) -> Callable[..., Any]:
        async def reject(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, problem)

        async def reject_stream(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, problem)
            yield  # pragma: no cover - makes this an async generator like the handler it replaces

        return reject_stream if streaming else reject

    return wrap


class AccessLogInterceptor(grpc.aio.ServerInterceptor):
    """Logs method, status code and duration of every call; never metadata or message contents."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith("/grpc.health.v1.Health/"):
            return handler  # probes every few seconds would drown the log
        return _rewrap(handler, method, _logging)


def _log_call(method: str, context: grpc.aio.ServicerContext[Any, Any], started: float, failed: bool) -> None:
    code = context.code()
    if code is None:
        code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
    name = code.name if isinstance(code, grpc.StatusCode) else str(code)
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    log.info(
        "%s %s %.2fms",
        method,
        name,
        elapsed_ms,
        extra={"grpc_method": method, "grpc_code": name, "duration_ms": elapsed_ms},
    )


def _logging(behaviour: Callable[..., Any], method: str, streaming: bool) -> Callable[..., Any]:
    async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started, failed = time.perf_counter(), True
        try:
            result = await behaviour(request, context)
            failed = False
            return result
        finally:
            _log_call(method, context, started, failed)

    async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started, failed = time.perf_counter(), True
        try:
            async for item in behaviour(request, context):
                yield item
            failed = False
        finally:
            _log_call(method, context, started, failed)

    return stream if streaming else unary
