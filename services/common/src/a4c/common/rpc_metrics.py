"""gRPC interceptors recording the OpenTelemetry RPC metrics (server and client call durations).

Separate classes from the access-log, auth and tracing interceptors so each composes with the others
in any order. Labels are the method's service and name and the numeric status code (the semantic
conventions' ``rpc.grpc.status_code``: 0 is OK), never metadata or message contents. Health checks
are left out, as in the access log: probes every few seconds would drown the real traffic's rates.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from prometheus_client import Histogram

from a4c.common.interceptors import Handler, _rewrap
from a4c.common.metrics import Metrics

_SKIPPED = ("/grpc.health.v1.Health/",)


def _split(method: str | bytes) -> tuple[str, str]:
    """``/pkg.Service/Method`` → (``pkg.Service``, ``Method``)."""
    text = method.decode() if isinstance(method, bytes) else method
    service, _, name = text.lstrip("/").partition("/")
    return service, name


class _Series:
    """One histogram's children by (method, code), looked up once: ``labels()`` is most of the cost
    of an observation, and the set is bounded (the methods served or called times the status codes)."""

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._children: dict[tuple[str | bytes, grpc.StatusCode], Any] = {}

    def observe(self, method: str | bytes, code: grpc.StatusCode, started: float) -> None:
        child = self._children.get((method, code))
        if child is None:
            service, name = _split(method)
            child = self._histogram.labels("grpc", service, name, str(code.value[0]))
            self._children[method, code] = child
        child.observe(time.perf_counter() - started)


class ServerMetricsInterceptor(grpc.aio.ServerInterceptor):
    """``rpc_server_call_duration_seconds`` for every call, including rejected and aborted ones."""

    def __init__(self, metrics: Metrics) -> None:
        self._series = _Series(metrics.rpc_server_duration)

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[Handler | None]],
        details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = await continuation(details)
        method: str = details.method
        if handler is None or method.startswith(_SKIPPED):
            return handler
        return _rewrap(handler, method, self._timing)

    def _timing(self, behaviour: Callable[..., Any], method: str, streaming: bool) -> Callable[..., Any]:
        series = self._series

        def done(context: grpc.aio.ServicerContext[Any, Any], started: float, failed: bool) -> None:
            code = context.code()
            if not isinstance(code, grpc.StatusCode):
                code = grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK
            series.observe(method, code, started)

        async def unary(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started, failed = time.perf_counter(), True
            try:
                result = await behaviour(request, context)
                failed = False
                return result
            finally:
                done(context, started, failed)

        async def stream(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            started, failed = time.perf_counter(), True
            try:
                async for item in behaviour(request, context):
                    yield item
                failed = False
            finally:
                done(context, started, failed)

        return stream if streaming else unary


class _ClientTiming:
    def __init__(self, metrics: Metrics) -> None:
        self._series = _Series(metrics.rpc_client_duration)
        # Streams are recorded from a done callback, which can only schedule the (async) code read.
        self._pending: set[asyncio.Task[None]] = set()

    async def _finish(self, call: grpc.aio.Call, method: str | bytes, started: float) -> None:
        try:
            code = await call.code()
        except asyncio.CancelledError:
            code = grpc.StatusCode.CANCELLED
        self._series.observe(method, code, started)


# grpc.aio files each interceptor object under the first call kind it implements: one class per kind.
class ClientUnaryMetrics(_ClientTiming, grpc.aio.UnaryUnaryClientInterceptor):
    """``rpc_client_call_duration_seconds`` for unary calls: until the response or the error."""

    async def intercept_unary_unary(
        self, continuation: Callable[..., Awaitable[Any]], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        started = time.perf_counter()
        call = await continuation(details, request)
        try:
            await call
        except grpc.aio.AioRpcError:
            pass  # the caller gets it when it awaits the call we hand back
        except asyncio.CancelledError:
            self._series.observe(details.method, grpc.StatusCode.CANCELLED, started)
            raise
        await self._finish(call, details.method, started)
        return call


class ClientStreamMetrics(_ClientTiming, grpc.aio.UnaryStreamClientInterceptor):
    """The same for server-streaming calls: until the stream ends (WatchBootstrap can be long)."""

    async def intercept_unary_stream(
        self, continuation: Callable[..., Awaitable[Any]], details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        started = time.perf_counter()
        call = await continuation(details, request)
        method = details.method

        def done(finished: Any) -> None:
            task = asyncio.get_running_loop().create_task(self._finish(finished, method, started))
            self._pending.add(task)
            task.add_done_callback(self._pending.discard)

        call.add_done_callback(done)
        return call


def client_interceptors(metrics: Metrics | None) -> list[grpc.aio.ClientInterceptor]:
    """The client-side metrics interceptors for ``open_channel`` (none when metrics are off)."""
    if metrics is None:
        return []
    return [ClientUnaryMetrics(metrics), ClientStreamMetrics(metrics)]
