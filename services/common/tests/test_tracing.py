"""The kit's tracing: off by default, a private JSON-lines file locally, ids on log lines."""

from __future__ import annotations

import io
import json
import logging
import stat
from pathlib import Path

import pytest

from a4c.common.env import EnvReader, SettingsError
from a4c.common.logging import JsonFormatter, Redactor
from a4c.common.tracing import Tracing, TracingSettings, current_ids


def test_traces_are_off_unless_configured_and_off_adds_nothing() -> None:
    settings = TracingSettings.from_env(EnvReader({}), "a4c-dns")
    assert settings == TracingSettings("a4c-dns", "off")
    tracing = Tracing.start(settings)
    assert not tracing.enabled
    assert tracing.server_interceptors() == []
    assert tracing.client_interceptors() == []
    assert current_ids() == {}


def test_a_file_exporter_needs_its_file() -> None:
    with pytest.raises(SettingsError, match="A4C_TRACES_FILE"):
        TracingSettings.from_env(EnvReader({"A4C_TRACES": "file"}), "a4c-dns")


async def test_spans_go_to_a_private_json_lines_file_and_their_ids_onto_log_lines(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    env = {"A4C_TRACES": "file", "A4C_TRACES_FILE": str(path), "OTEL_SERVICE_NAME": "a4c-test"}
    tracing = Tracing.from_env(env, "a4c-dns")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(Redactor()))
    log = logging.getLogger("a4c.test.tracing")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    try:
        with tracing.tracer().start_as_current_span("work") as span:
            log.info("inside")
        log.info("outside")
    finally:
        log.removeHandler(handler)
    await tracing.shutdown()  # flushes the batch

    trace_id = format(span.get_span_context().trace_id, "032x")
    inside, outside = (json.loads(line) for line in out.getvalue().splitlines())
    assert (inside["trace_id"], len(inside["span_id"])) == (trace_id, 16)
    assert "trace_id" not in outside
    spans = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(s["name"], s["context"]["trace_id"]) for s in spans] == [("work", f"0x{trace_id}")]
    assert spans[0]["resource"]["attributes"]["service.name"] == "a4c-test"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
