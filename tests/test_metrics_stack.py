"""Issue 16's acceptance for metrics: the real local stack (every part its own process) bootstraps the
demo tenant and one of ours; every part's /metrics is then scraped and parsed with prometheus_client's
text parser. The counters and histograms moved with the right labels, no label value carries a slug,
an email or an id, and the alert rules and the dashboard only name metrics the scrape has."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.devstack.stack.ports import METRICS_PARTS

sys.path.insert(0, str(Path(__file__).parents[1] / "sandbox" / "devstack" / "tests"))
sys.path.insert(0, str(Path(__file__).parent))
from local_stack import free_port_base, running_stack, scratch_state_dir
from metrics_rules import referenced_metrics, rule_expressions

SLUG = "metrics-probe"
ADMIN = "ops@metrics-probe.example"
# What an id, a slug or an email looks like in a label value: a UUID, a long hex or digit run, an @.
_ID_LIKE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-|[0-9a-f]{16,}|\d{6,}|@")

Scrape = dict[str, list[Sample]]


@pytest.fixture
def scratch() -> Iterator[Path]:
    with scratch_state_dir() as path:
        yield path


def parse(text: str) -> tuple[Scrape, set[str]]:
    """Samples by sample name, and every name a query may use (families with no sample yet included)."""
    samples: Scrape = {}
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}.get(family.type, ())
        names.update(family.name + s for s in suffixes)
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
            names.add(sample.name)
    return samples, names


def total(samples: Scrape, name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if labels.items() <= s.labels.items())


async def test_every_part_exposes_moving_bounded_metrics_after_a_bootstrap(scratch: Path) -> None:
    async with running_stack(scratch, free_port_base()) as run:
        async with open_channel(run.address("provisioning"), token=run.token) as channel:
            stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
            admin = pb.Admin(email=ADMIN, given_name="Olga", family_name="Ops")
            request = pb.BootstrapOrganizationRequest(name="Metrics Probe", slug=SLUG, admin=admin)
            started = await stub.BootstrapOrganization(request, timeout=30)
            watch = pb.WatchBootstrapRequest(organization_id=started.organization_id)
            items = [item async for item in stub.WatchBootstrap(watch, timeout=90)]
        assert items[-1].subdomain_status == pb.SUBDOMAIN_STATUS_ACTIVE
        secrets = [run.token, SLUG, ADMIN, started.organization_id, started.workflow_id, "demo"]

        scrapes: dict[str, Scrape] = {}
        names: set[str] = set()
        async with httpx.AsyncClient(timeout=10) as http:
            for part in METRICS_PARTS:
                answer = await http.get(f"http://{run.address(f'{part}-metrics')}/metrics")
                assert answer.status_code == 200, part
                assert answer.headers["content-type"].startswith("text/plain")
                scrapes[part], part_names = parse(answer.text)
                names |= part_names
            assert (await http.get(f"http://{run.address('dns-metrics')}/other")).status_code == 404
        assert "Where to look:" in run.text
        for part in METRICS_PARTS:
            assert f"curl -s http://{run.address(f'{part}-metrics')}/metrics" in run.text

    for part, scrape in scrapes.items():
        for samples in scrape.values():
            for sample in samples:
                for key, value in sample.labels.items():
                    leaked = [s for s in secrets if s and s in value]
                    assert not leaked, f"{part}: {sample.name}{{{key}={value!r}}} carries {leaked}"
                    assert not _ID_LIKE.search(value), f"{part}: {sample.name}{{{key}={value!r}}}"

    provisioning, dns, identity, worker = (scrapes[p] for p in ("provisioning", "dns", "identity", "worker"))
    calls = "rpc_server_call_duration_seconds_count"
    ok = {"rpc_system": "grpc", "rpc_grpc_status_code": "0"}
    service = "a4c.api.provisioning.v1.ProvisioningService"
    bootstrap = {"rpc_service": service, "rpc_method": "BootstrapOrganization"}
    assert total(provisioning, calls, **ok, **bootstrap) == 2  # the demo tenant's and ours
    assert total(provisioning, calls, rpc_method="WatchBootstrap", **ok) >= 2
    assert total(provisioning, "rpc_server_call_duration_seconds_bucket", **bootstrap, le="+Inf") == 2
    initiated = "organization.bootstrap.temporal_initiated"
    assert total(provisioning, "a4c_events_appended_total", event_type=initiated) == 2
    both_done = {"bootstrap_status": "completed", "subdomain_status": "active"}
    assert total(provisioning, "a4c_organizations", **both_done) == 2
    assert total(provisioning, "a4c_organizations_stuck") == 0
    assert "a4c_watch_streams" in provisioning

    create = {"rpc_service": "a4c.api.dns.v1.DnsService", "rpc_method": "CreateRecord", **ok}
    assert total(dns, calls, **create) == 2
    records = {"upstream": "cloudflare", "url_template": "/zones/{id}/dns_records"}
    posted = {**records, "http_request_method": "POST", "http_response_status_code": "200"}
    assert total(dns, "http_client_request_duration_seconds_count", **posted) == 2
    assert total(dns, "a4c_cloudflare_budget_requests_used") >= 4
    assert total(dns, "a4c_cloudflare_budget_requests_limit") == 1000

    org = {"rpc_service": "a4c.api.identity.v1.IdentityService", "rpc_method": "CreateOrganization", **ok}
    assert total(identity, calls, **org) == 2
    assert total(identity, "http_client_request_duration_seconds_count", upstream="zitadel") >= 2

    client_calls = "rpc_client_call_duration_seconds_count"
    assert total(worker, client_calls, **create) == 2
    assert total(worker, client_calls, **org) == 2
    assert total(worker, "a4c_bootstraps_total", outcome="completed") == 2
    assert total(worker, "a4c_bootstrap_duration_seconds_count", outcome="completed") == 2
    assert total(worker, "a4c_subdomain_time_to_active_seconds_count") == 2
    assert total(worker, "a4c_verification_attempts_total", result="propagated") == 2
    assert total(worker, "a4c_events_appended_total", event_type="organization.subdomain.verified") == 2
    # The Temporal SDK's own metrics, on the same port: slots and schedule-to-start.
    assert "temporal_worker_task_slots_available" in worker
    assert total(worker, "temporal_workflow_task_schedule_to_start_latency_seconds_count") > 0

    # The alert rules and the dashboard only reference metrics that exist (k8s/components/monitoring).
    expressions = rule_expressions()
    assert len(expressions) >= 8
    missing = {name for expr in expressions for name in referenced_metrics(expr)} - names
    assert missing == set(), f"rules or dashboard name metrics no part exposes: {sorted(missing)}"
