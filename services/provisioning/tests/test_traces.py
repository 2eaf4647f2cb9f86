"""One trace across every hop: caller → provisioning → Temporal → worker activity → dns/identity → upstream.

Every in-process part gets the same in-memory exporter (`running_system(tracing=...)`), so the test sees
the spans each part would send to its collector, and checks they share the caller's trace id, which is
also in the events' metadata and in the log lines written while the trace ran.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from a4c.common.logging import JsonFormatter, Redactor
from a4c.common.tracing import Tracing
from a4c.devstack.system import System, running_system
from a4c.dns.server import build as dns_build
from a4c.identity.server import build as identity_build

from .helpers import Running, bootstrap_request, running_provisioning, service_env, unique
from .test_system import HANG_GUARD, system_env

SERVICE = "a4c.api.provisioning.v1.ProvisioningService"


@pytest.fixture(scope="module")
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture(scope="module")
async def traced(database_url: str, exporter: InMemorySpanExporter) -> AsyncIterator[tuple[System, Running]]:
    tracing = Tracing.with_exporter(exporter, "a4c-test")
    async with running_system(
        database_url, dns_build=dns_build, identity_build=identity_build, tracing=tracing
    ) as system:
        env = {**system_env(system), **service_env(system.database_url, system.task_queue)}
        async with running_provisioning(env, system.client, tracing) as service:
            yield system, service


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """What the kit's JSON formatter writes while the test runs (INFO and up)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(Redactor()))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def names(spans: list[ReadableSpan]) -> list[str]:
    return [s.name for s in spans]


async def test_one_trace_spans_every_hop_and_leads_from_events_and_logs(
    traced: tuple[System, Running], exporter: InMemorySpanExporter, log_lines: io.StringIO
) -> None:
    system, service = traced
    slug = unique("traced")
    async with asyncio.timeout(HANG_GUARD):
        reply = await service.stub.BootstrapOrganization(bootstrap_request(slug))
        await system.client.get_workflow_handle(reply.workflow_id).result()

    caller = [
        s
        for s in exporter.get_finished_spans()
        if s.name == f"/{SERVICE}/BootstrapOrganization" and s.kind is SpanKind.CLIENT
    ]
    assert len(caller) == 1
    trace_id = caller[0].context.trace_id
    spans = [s for s in exporter.get_finished_spans() if s.context.trace_id == trace_id]
    span_names = names(spans)
    # provisioning's server span, then Temporal: the start, the run, each activity.
    assert f"/{SERVICE}/BootstrapOrganization" in [s.name for s in spans if s.kind is SpanKind.SERVER]
    assert "StartWorkflow:BootstrapOrganizationWorkflow" in span_names
    assert "RunWorkflow:BootstrapOrganizationWorkflow" in span_names
    for activity in ("create_identity_organization", "create_dns_record", "record_event"):
        assert f"RunActivity:{activity}" in span_names
    # The worker's gRPC calls to both services, client and server side.
    for method in (
        "/a4c.api.identity.v1.IdentityService/CreateOrganization",
        "/a4c.api.dns.v1.DnsService/CreateRecord",
    ):
        kinds = {s.kind for s in spans if s.name == method}
        assert kinds == {SpanKind.CLIENT, SpanKind.SERVER}, method
    # The upstream HTTP calls (Zitadel and Cloudflare), without query strings.
    http = [s for s in spans if s.kind is SpanKind.CLIENT and s.attributes and "url.full" in s.attributes]
    hosts = {str(s.attributes["url.full"]).split("/")[2] for s in http if s.attributes}
    assert {system.zitadel.url.split("/")[2], system.cloudflare.api_address} <= hosts
    assert all("?" not in str(s.attributes["url.full"]) for s in http if s.attributes)

    hex_id = format(trace_id, "032x")
    events = await service.store.read_stream(uuid.UUID(reply.organization_id))
    assert events
    assert {e.metadata.get("trace_id") for e in events} == {hex_id}

    lines = [json.loads(line) for line in log_lines.getvalue().splitlines()]
    traced_lines = [line for line in lines if line.get("trace_id") == hex_id]
    # Each service's access-log line for its calls carries the trace id.
    assert {line["grpc_method"] for line in traced_lines if line["logger"] == "a4c.access"} >= {
        f"/{SERVICE}/BootstrapOrganization",
        "/a4c.api.identity.v1.IdentityService/CreateOrganization",
        "/a4c.api.dns.v1.DnsService/CreateRecord",
    }
    assert all(len(line["span_id"]) == 16 for line in traced_lines)
