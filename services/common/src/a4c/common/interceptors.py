"""Server interceptors: principals, scopes and limits; one access-log line per call.

Both wrap the method handler rather than the transport, so they see the final status code of
every call (including aborts) and work the same for unary and streaming methods.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeAlias

import grpc

from a4c.common.auth import (
    ANONYMOUS,
    ON_BEHALF_OF_HEADER,
    Credentials,
    Principal,
    logged_name,
    on_behalf_of_problem,
    set_current_principal,
)
from a4c.common.errors import abort
from a4c.common.limits import Limit, RateLimit, StreamCap

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


def _on_behalf_of(metadata: Sequence[tuple[str, str | bytes]] | None) -> str | None:
    for key, value in metadata or ():
        if key == ON_BEHALF_OF_HEADER:
            return value if isinstance(value, str) else ""
    return None


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Who calls (UNAUTHENTICATED for an unknown credential), whether it holds the method's scope
    (PERMISSION_DENIED naming the scope), and the method's limits (RESOURCE_EXHAUSTED). Health and
    reflection pass. With ``credentials`` None (auth off, local use) every call is ANONYMOUS and
    only the limits apply. A call naming a person it acts for (``a4c-on-behalf-of``) is refused
    (PERMISSION_DENIED) unless its principal delegates and the name is a valid login name."""

    def __init__(
        self,
        credentials: Credentials | None,
        scopes: Mapping[str, str],
        limits: Mapping[str, Limit] | None = None,
    ) -> None:
        self._credentials = credentials
        self._scopes = dict(scopes)
        self._limits = dict(limits or {})

    def _decide(self, method: str, token: str | None) -> tuple[Principal | None, grpc.StatusCode, str]:
        if self._credentials is None:
            return ANONYMOUS, grpc.StatusCode.OK, ""
        principal = self._credentials.principal_of(token) if token is not None else None
        if principal is None:
            problem = "missing bearer token" if token is None else "invalid bearer token"
            return None, grpc.StatusCode.UNAUTHENTICATED, problem
        scope = self._scopes.get(method)
        if scope is None:  # create_server refuses such a service; this is the last line
            return principal, grpc.StatusCode.PERMISSION_DENIED, "method has no declared scope"
        if not principal.holds(scope):
            return principal, grpc.StatusCode.PERMISSION_DENIED, f"missing scope {scope!r}"
        return principal, grpc.StatusCode.OK, ""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(OPEN_METHOD_PREFIXES):
            return handler
        principal, code, problem = self._decide(method, _token_of(details.invocation_metadata))
        # With auth off there is nobody to trust with a name: the header is ignored.
        person = _on_behalf_of(details.invocation_metadata) if self._credentials is not None else None
        if code == grpc.StatusCode.OK and person is not None:
            assert principal is not None
            refused = on_behalf_of_problem(principal, person)
            if refused:
                code, problem = grpc.StatusCode.PERMISSION_DENIED, refused
        if code != grpc.StatusCode.OK:
            return _rewrap(handler, method, _rejecting(principal, code, problem))
        assert principal is not None
        return _rewrap(handler, method, _admitting(principal, self._limits.get(method), person))


def _rejecting(principal: Principal | None, code: grpc.StatusCode, problem: str) -> Wrapper:
    def wrap(_behaviour: Callable[..., Any], _method: str, streaming: bool) -> Callable[..., Any]:
        async def reject(_request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            if principal is not None:
                set_current_principal(principal)  # the access log names who was refused
            await context.abort(code, problem)

        async def reject_stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            await reject(request, context)
            yield  # pragma: no cover - makes this an async generator like the handler it replaces

        return reject_stream if streaming else reject

    return wrap


async def _refuse_over_limit(limit: Limit | None, principal: Principal, context: Any) -> bool:
    """Abort when ``limit`` refuses the call; True when a stream slot was taken (release it)."""
    if isinstance(limit, RateLimit):
        wait = limit.take(principal.name)
        if wait > 0:
            await abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"rate limit for {principal.name!r} reached; retry later",
                reason="RATE_LIMITED",
                retry_delay=wait,
            )
    elif isinstance(limit, StreamCap):
        reached = limit.acquire(principal.name)
        if reached is not None:
            await abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"{reached} is reached",
                reason="TOO_MANY_STREAMS",
                retry_delay=1.0,
            )
        return True
    return False


def _admitting(principal: Principal, limit: Limit | None, person: str | None = None) -> Wrapper:
    def wrap(behaviour: Callable[..., Any], _method: str, streaming: bool) -> Callable[..., Any]:
        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            set_current_principal(principal, person)
            slot = await _refuse_over_limit(limit, principal, context)
            try:
                return await behaviour(request, context)
            finally:
                if slot and isinstance(limit, StreamCap):
                    limit.release(principal.name)

        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            set_current_principal(principal, person)
            slot = await _refuse_over_limit(limit, principal, context)
            try:
                async for item in behaviour(request, context):
                    yield item
            finally:
                if slot and isinstance(limit, StreamCap):
                    limit.release(principal.name)

        return stream if streaming else unary

    return wrap


class AccessLogInterceptor(grpc.aio.ServerInterceptor):
    """Logs method, principal, status code and duration of every call; never metadata or message
    contents. It wraps the auth interceptor's handler, so it reads the principal that one set."""

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
    principal = logged_name()
    log.info(
        "%s %s %s %.2fms",
        method,
        principal,
        name,
        elapsed_ms,
        extra={"grpc_method": method, "principal": principal, "grpc_code": name, "duration_ms": elapsed_ms},
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
