"""Temporal Core's log lines come out as our JSON lines, redacted, with Core's fields as a field."""

from __future__ import annotations

import io
import json
import logging
from dataclasses import dataclass, field

from temporalio.runtime import Runtime

from a4c.common.logging import JsonFormatter, Redactor
from a4c.workflows.telemetry import CORE_LOGGER, core_runtime, temporal_interceptors


@dataclass
class CoreLog:
    """The shape of the SDK's forwarded `temporal_log` (target and extra fields)."""

    target: str
    fields: dict[str, str] = field(default_factory=dict)


def test_core_logs_are_forwarded_into_json_lines_with_their_fields_and_secrets_redacted() -> None:
    runtime = core_runtime()
    assert isinstance(runtime, Runtime)
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(Redactor(["sekrit-api-key-123"])))
    logger = logging.getLogger(CORE_LOGGER)
    logger.addHandler(handler)
    try:
        core = CoreLog("temporalio_sdk_core::worker", {"api_key": "sekrit-api-key-123"})
        logger.warning("poll failed", extra={"temporal_log": core})
    finally:
        logger.removeHandler(handler)

    line = json.loads(out.getvalue())
    assert (line["logger"], line["msg"], line["core_target"]) == (CORE_LOGGER, "poll failed", core.target)
    assert line["core_fields"] == {"api_key": "[REDACTED]"}
    assert "temporal_log" not in line


def test_tracing_off_adds_no_temporal_interceptor() -> None:
    assert temporal_interceptors(None) == []
