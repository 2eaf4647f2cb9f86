"""Temporal's side of observability for provisioning and the worker: traces and Core's own logs.

`temporal_interceptors` is the SDK's TracingInterceptor on a given tracer provider (None: tracing
off, nothing to add). Put on the client, it traces workflow starts; a worker built on that client
takes it too and traces each workflow run and activity, the context riding in Temporal headers.

`core_runtime` forwards Temporal Core's (Rust) logs into Python logging under `temporalio.core`, so
they come out as our redacted JSON lines instead of Core's own console format; Core's structured
fields are kept as one `core_fields` value rather than appended to the message.
"""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry import trace
from temporalio.client import Interceptor
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter

CORE_LOGGER = "temporalio.core"


def temporal_interceptors(provider: trace.TracerProvider | None) -> list[Interceptor]:
    if provider is None:
        return []
    from temporalio.contrib.opentelemetry import TracingInterceptor

    return [TracingInterceptor(trace.get_tracer("a4c.temporal", tracer_provider=provider))]


class _CoreFields(logging.Filter):
    """Moves Core's log representation into plain fields the JSON formatter prints (and redacts)."""

    def filter(self, record: logging.LogRecord) -> bool:
        core: Any = record.__dict__.pop("temporal_log", None)
        if core is not None:
            record.core_target = getattr(core, "target", "")
            fields = getattr(core, "fields", None)
            if fields:
                record.core_fields = fields
        return True


def core_logging(core_level: str = "WARN") -> LoggingConfig:
    """Core's logs (at `core_level` and above) forwarded to the `temporalio.core` logger; a part that
    builds its own Runtime (the worker's, with metrics) puts this in its TelemetryConfig."""
    logger = logging.getLogger(CORE_LOGGER)
    if not any(isinstance(f, _CoreFields) for f in logger.filters):
        logger.addFilter(_CoreFields())
    forwarding = LogForwardingConfig(
        logger=logger,
        append_target_to_name=False,
        prepend_target_on_message=False,
        append_log_fields_to_message=False,
    )
    return LoggingConfig(
        filter=TelemetryFilter(core_level=core_level, other_level="ERROR"), forwarding=forwarding
    )


def core_runtime(core_level: str = "WARN") -> Runtime:
    """A Runtime with only `core_logging` (no metrics)."""
    return Runtime(telemetry=TelemetryConfig(logging=core_logging(core_level)))
