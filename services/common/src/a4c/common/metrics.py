"""Prometheus metrics of one process: its own registry, the kit's instruments and the /metrics listener.

Why prometheus-client (not the OpenTelemetry SDK with its Prometheus exporter): what we expose is a
Prometheus scrape, and the reference client writes exactly that format with the names we choose (the
OTel exporter rewrites names and adds target_info/scope labels), ships the text parser the acceptance
test reads the scrape with, and costs one small dependency. The names follow the OpenTelemetry semantic
conventions translated the way Prometheus does (``rpc.server.call.duration`` in seconds →
``rpc_server_call_duration_seconds``; attribute dots → underscores), so dashboards built on either agree.

One :class:`Metrics` per process, made by the part's wiring and passed to what records (no default
global registry: tests build several parts in one process). ``None`` instead of a Metrics everywhere
means "metrics off": no interceptor, no timing, nothing recorded (what the benchmark compares against).

Labels are bounded by construction: method names, status codes, upstream names, URL templates and enum
values, never a slug, email or id (see :func:`url_template`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

log = logging.getLogger(__name__)

# Seconds: from a cached read (ms) to a slow upstream call with retries (a minute and more).
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
RPC_LABELS = ("rpc_system", "rpc_service", "rpc_method", "rpc_grpc_status_code")
HTTP_LABELS = ("upstream", "http_request_method", "url_template", "http_response_status_code", "error_type")
# A scrape must answer even when a collector's source (the database, the SDK's endpoint) hangs.
REFRESH_TIMEOUT_SECONDS = 5.0

Refresh = Callable[[], Awaitable[None]]
Source = Callable[[], Awaitable[bytes]]

_KEPT_SEGMENT = re.compile(r"^(?:[A-Za-z_]+|v\d+|[a-z]+(?:\.[a-z0-9]+)*\.[A-Z][A-Za-z]+)$")
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")


def url_template(path: str) -> str:
    """``/zones/0123…ef/dns_records/9f…`` → ``/zones/{id}/dns_records/{id}``: a label never holds an id.

    Only literal words of an API's path survive (letters and underscores, ``v2``, dotted gRPC-web
    service names); anything with a digit, a dot, a dash or an ``@`` becomes ``{id}``, and so does a
    long word (an id that happens to be all letters). The query string is dropped.
    """
    segments = path.split("?", 1)[0].split("/")
    kept = [s if not s or (_KEPT_SEGMENT.match(s) and len(s) <= 40) else "{id}" for s in segments]
    return "/".join(kept)


def snake_case(name: str) -> str:
    """``RateLimited`` → ``rate_limited``: error class names as label values."""
    return _CAMEL.sub("_", name).lower()


class Metrics:
    """One process's registry with the kit's instruments; parts add theirs with :meth:`counter` etc."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._refreshers: list[Refresh] = []
        self._sources: list[Source] = []
        self.rpc_server_duration = self.histogram(
            "rpc_server_call_duration_seconds", "Duration of gRPC calls this server handled", RPC_LABELS
        )
        self.rpc_client_duration = self.histogram(
            "rpc_client_call_duration_seconds", "Duration of gRPC calls this process made", RPC_LABELS
        )
        self.http_client_duration = self.histogram(
            "http_client_request_duration_seconds",
            "Duration of one HTTP attempt to an upstream API (each retry is an attempt)",
            HTTP_LABELS,
        )
        self.upstream_retries = self.counter(
            "a4c_upstream_retries",
            "Upstream calls attempted again, by the reason the previous attempt failed",
            ("upstream", "url_template", "reason"),
        )
        self.upstream_give_ups = self.counter(
            "a4c_upstream_failures",
            "Upstream calls that failed for good (retries exhausted, not retryable, or out of time)",
            ("upstream", "url_template", "reason"),
        )

    def counter(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Counter:
        """``name`` without ``_total`` (the client adds it)."""
        return Counter(name, documentation, labels, registry=self.registry)

    def histogram(
        self,
        name: str,
        documentation: str,
        labels: Sequence[str] = (),
        buckets: Sequence[float] = DURATION_BUCKETS,
    ) -> Histogram:
        return Histogram(name, documentation, labels, registry=self.registry, buckets=buckets)

    def gauge(self, name: str, documentation: str, labels: Sequence[str] = ()) -> Gauge:
        return Gauge(name, documentation, labels, registry=self.registry)

    def on_scrape(self, refresh: Refresh) -> None:
        """Run ``refresh`` before every scrape (a gauge read from the database at scrape time)."""
        self._refreshers.append(refresh)

    def add_source(self, source: Source) -> None:
        """Append another exposition to ours (the worker: the Temporal SDK's own endpoint)."""
        self._sources.append(source)

    async def render(self) -> bytes:
        for refresh in self._refreshers:
            try:
                await asyncio.wait_for(refresh(), REFRESH_TIMEOUT_SECONDS)
            except Exception as error:  # a stale gauge beats a failed scrape
                log.warning("metrics refresh failed (%s)", type(error).__name__)
        parts = [generate_latest(self.registry)]
        for source in self._sources:
            try:
                parts.append(await asyncio.wait_for(source(), REFRESH_TIMEOUT_SECONDS))
            except Exception as error:
                log.warning("metrics source failed (%s)", type(error).__name__)
        return b"".join(p if p.endswith(b"\n") or not p else p + b"\n" for p in parts)


class MetricsListener:
    """``GET /metrics`` over plain HTTP/1.1 on a port of its own, in the part's event loop.

    A hand-rolled listener (a few lines on asyncio.start_server) rather than the client's threaded
    WSGI server: scrape-time gauges are async database reads, and port 0 must report the port taken.
    """

    def __init__(self, metrics: Metrics, host: str, port: int) -> None:
        self._metrics = metrics
        self._host = host
        self._requested = port
        self._server: asyncio.Server | None = None
        self.port = port

    async def start(self) -> None:
        try:
            self._server = await asyncio.start_server(self._serve, self._host, self._requested)
        except OSError as exc:
            raise OSError(f"cannot bind metrics port {self._host}:{self._requested}: {exc}") from exc
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("metrics on port %d", self.port, extra={"metrics_port": self.port})

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10.0)
            method, _, rest = request.partition(b" ")
            target = rest.split(b" ", 1)[0].split(b"?", 1)[0]
            if method not in (b"GET", b"HEAD") or target != b"/metrics":
                await _answer(writer, b"404 Not Found", b"text/plain", b"only GET /metrics\n")
                return
            body = await self._metrics.render()
            await _answer(writer, b"200 OK", CONTENT_TYPE_LATEST.encode(), body, head=method == b"HEAD")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


async def _answer(
    writer: asyncio.StreamWriter, status: bytes, content_type: bytes, body: bytes, *, head: bool = False
) -> None:
    headers = (
        b"HTTP/1.1 "
        + status
        + b"\r\ncontent-type: "
        + content_type
        + b"\r\ncontent-length: "
        + str(len(body)).encode()
        + b"\r\nconnection: close\r\n\r\n"
    )
    writer.write(headers if head else headers + body)
    await writer.drain()
