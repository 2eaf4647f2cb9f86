"""OpenTelemetry traces for every part: off by default, one `Tracing` value passed down, never global.

A part builds its `Tracing` from its settings (`Tracing.start`) in `__main__`/`build` and hands it to
what it creates: the gRPC server (`server_interceptors`), channels to our services
(`client_interceptors`), the upstream httpx client (`http_transport`) and the Temporal client
(`a4c.workflows.telemetry`; a worker built on that client traces workflows and activities too).
Context crosses processes in the W3C `traceparent` header (gRPC metadata, HTTP headers, Temporal
headers), by OpenTelemetry's default propagator.

The OpenTelemetry instrumentation packages are used as they are: their aio gRPC interceptors and
httpx transport take a tracer provider as an argument, so no global provider is installed (tests
run several parts, each with its own provider, in one process). Off, every method returns nothing
to add, so tracing costs nothing.

`current_ids()` reads the active span from the context (a context variable, not a dependency): the
JSON log formatter puts it on every line and the event appenders into each event's metadata, so a
log line or an event row leads to its trace.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any
from urllib.parse import urlsplit, urlunsplit

import grpc
import httpx
from opentelemetry import trace
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)

from a4c.common.config import OTLP_ENDPOINT, TRACES, TRACES_FILE, TRACES_SERVICE_NAME
from a4c.common.env import EnvReader, SettingsError

TRACER_NAME = "a4c"


@dataclass(frozen=True)
class TracingSettings:
    """Where this part's spans go (`exporter`: off, otlp, file) and the service.name they carry."""

    service_name: str
    exporter: str = TRACES.default
    file: str | None = None
    otlp_endpoint: str | None = None

    @classmethod
    def from_env(cls, reader: EnvReader, service_name: str) -> TracingSettings:
        exporter = TRACES.read(reader)
        file = TRACES_FILE.read(reader)
        if exporter == "file" and not file:
            raise SettingsError(TRACES_FILE.name, "is required with A4C_TRACES=file")
        return cls(
            service_name=TRACES_SERVICE_NAME.read(reader) or service_name,
            exporter=exporter,
            file=file,
            otlp_endpoint=OTLP_ENDPOINT.read(reader),
        )


class JsonLinesExporter(SpanExporter):
    """Appends each finished span as one JSON line (the local stack's `.state/traces.jsonl`)."""

    def __init__(self, path: str) -> None:
        # The local stack's state is private (0600), and spans carry workflow ids.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._out: IO[str] = os.fdopen(fd, "a", encoding="utf-8")

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        for span in spans:
            self._out.write(span.to_json(indent=None) + "\n")
        self._out.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        self._out.close()


def _exporter(settings: TracingSettings) -> SpanExporter:
    if settings.exporter == "file":
        assert settings.file is not None  # checked by TracingSettings.from_env
        return JsonLinesExporter(settings.file)
    # Imported only when used: the gRPC OTLP exporter pulls in the collector protos.
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter(endpoint=settings.otlp_endpoint)


def _without_query(url: str) -> str:
    # Upstream query strings can carry names (`?name=acme.example.org`): the span keeps the path only.
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


async def _scrub_http_span(span: Any, request: Any) -> None:
    if span is not None and span.is_recording():
        url = _without_query(str(request.url))
        span.set_attribute("url.full", url)
        span.set_attribute("http.url", url)


class Tracing:
    """One part's tracer provider (None: tracing off) and the instrumentation built from it."""

    def __init__(self, provider: TracerProvider | None = None) -> None:
        self.provider = provider

    @classmethod
    def off(cls) -> Tracing:
        return cls(None)

    @classmethod
    def start(cls, settings: TracingSettings) -> Tracing:
        """Off, or a provider batching spans to the configured exporter."""
        if settings.exporter == "off":
            return cls.off()
        return cls.with_exporter(_exporter(settings), settings.service_name, batch=True)

    @classmethod
    def from_env(cls, env: Mapping[str, str], service_name: str) -> Tracing:
        """`start` on the A4C_TRACES settings of `env`; a SettingsError names a bad variable."""
        return cls.start(TracingSettings.from_env(EnvReader(env), service_name))

    @classmethod
    def with_exporter(cls, exporter: SpanExporter, service_name: str, *, batch: bool = False) -> Tracing:
        """A provider sending spans to `exporter` (tests pass an in-memory one, unbatched)."""
        provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service_name}))
        processor = BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter)
        provider.add_span_processor(processor)
        return cls(provider)

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    def tracer(self) -> trace.Tracer:
        return trace.get_tracer(TRACER_NAME, tracer_provider=self.provider or trace.NoOpTracerProvider())

    def server_interceptors(self) -> list[grpc.aio.ServerInterceptor]:
        """The server span of each call, continuing the caller's trace from its metadata."""
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.grpc import aio_server_interceptor

        return [aio_server_interceptor(tracer_provider=self.provider)]  # type: ignore[no-untyped-call]

    def client_interceptors(self) -> list[grpc.aio.ClientInterceptor]:
        """A client span per call, its context injected into the call's metadata."""
        if self.provider is None:
            return []
        from opentelemetry.instrumentation.grpc import aio_client_interceptors

        return list(aio_client_interceptors(tracer_provider=self.provider))  # type: ignore[no-untyped-call]

    def http_transport(self, transport: httpx.AsyncBaseTransport) -> httpx.AsyncBaseTransport:
        """`transport` with a client span per request (each retry of the RetryLoop is its own span)."""
        if self.provider is None:
            return transport
        from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransport

        return AsyncOpenTelemetryTransport(
            transport, tracer_provider=self.provider, request_hook=_scrub_http_span
        )

    async def shutdown(self) -> None:
        """Flush and stop the exporter (spans still batched are sent)."""
        if self.provider is not None:
            self.provider.shutdown()


def current_ids() -> dict[str, str]:
    """`trace_id` and `span_id` (hex) of the active span; empty when nothing is being traced."""
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return {}
    return {"trace_id": format(context.trace_id, "032x"), "span_id": format(context.span_id, "016x")}
