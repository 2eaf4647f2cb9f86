"""The wiring table against each part's own settings reader: what it wires is what the part reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from a4c.common.auth import Credentials, Principal
from a4c.common.env import EnvReader
from a4c.common.tracing import TracingSettings
from a4c.devstack.stack.ports import METRICS_PARTS
from a4c.devstack.wiring import BENCH, STACK, TESTS, Profile, Wiring
from a4c.dns.config import Settings as DnsSettings
from a4c.identity.config import Settings as IdentitySettings
from a4c.provisioning.config import Settings as ProvisioningSettings
from a4c.worker.config import Settings as WorkerSettings
from a4c.workflows.models import VerificationPolicy

TOKEN = "wiring-test-token-0123456789"
ADDRESSES = {
    "provisioning": "127.0.0.1:21000",
    "dns": "127.0.0.1:21001",
    "identity": "127.0.0.1:21002",
    "worker-health": "127.0.0.1:21003",
    "temporal": "127.0.0.1:21005",
    "sandbox-cloudflare": "127.0.0.1:21007",
    "sandbox-zitadel": "127.0.0.1:21008",
    "sandbox-dns": "127.0.0.1:21009",
}


def wiring(profile: Profile = TESTS, **fields: object) -> Wiring:
    return Wiring(
        TOKEN, ADDRESSES, database_url="postgresql://u@db/a4c", task_queue="q", profile=profile, **fields
    )


@pytest.mark.parametrize("profile", [STACK, TESTS, BENCH], ids=["stack", "tests", "bench"])
def test_each_service_reads_the_addresses_and_the_profile_it_is_wired_with(profile: Profile) -> None:
    w = wiring(profile)

    dns = DnsSettings.from_env(w.env("dns"))
    identity = IdentitySettings.from_env(w.env("identity"))
    provisioning = ProvisioningSettings.from_env(w.env("provisioning"))
    worker = WorkerSettings.from_env(w.env("worker"))

    assert (dns.server.host, dns.server.port) == ("127.0.0.1", 21001)
    assert Credentials(dns.server.principals).principal_of(w.worker_token) == Principal(
        "worker", frozenset({"read", "write"})
    )
    for server in (dns.server, identity.server):  # the operator's token is no dns/identity principal
        assert Credentials(server.principals).principal_of(TOKEN) is None
    assert Credentials(provisioning.server.principals).principal_of(TOKEN) == Principal(
        "operator", frozenset({"read", "bootstrap", "operate"})
    )
    assert Credentials(provisioning.server.principals).principal_of(w.worker_token) is None
    assert worker.service_token == w.worker_token != TOKEN
    assert dns.cloudflare_base_url == "http://127.0.0.1:21007/client/v4"
    assert [str(ns) for ns in dns.nameservers] == ["127.0.0.1:21009"]
    assert (identity.zitadel_url, identity.zitadel_pat) == ("http://127.0.0.1:21008", w.zitadel.pat)
    assert identity.project_id == w.zitadel.project_id
    assert (provisioning.server.port, provisioning.task_queue) == (21000, "q")
    assert provisioning.temporal.connection.address == "127.0.0.1:21005"
    assert provisioning.verification == (profile.verification or VerificationPolicy())
    assert identity.admin_role_keys == w.zitadel.role_keys[:1]  # the identity service owns the roles
    assert (worker.dns_address, worker.identity_address) == ("127.0.0.1:21001", "127.0.0.1:21002")
    assert (worker.health_host, worker.health_port, worker.task_queue) == ("127.0.0.1", 21003, "q")
    assert worker.shutdown_grace_seconds == profile.shutdown_grace_seconds
    # The worker holds the same policy as the provisioning service (it checks the input against it).
    assert worker.base_domain == provisioning.base_domain == w.zone
    assert worker.verification == provisioning.verification
    assert worker.step_timeouts == provisioning.step_timeouts
    assert worker.policy(w.zone).target == provisioning.target_for(w.zone)


def test_the_workflow_input_matches_what_the_wired_provisioning_service_would_start() -> None:
    w = wiring(TESTS)
    settings = ProvisioningSettings.from_env(w.env("provisioning"))

    request = w.bootstrap_input("acme")

    assert request.subdomain.verification == settings.verification
    assert request.timeouts == settings.step_timeouts
    assert request.subdomain.fqdn == f"acme.{settings.base_domain}"
    assert request.subdomain.target == settings.target_for(w.zone)


def test_the_caller_beats_the_profile_but_never_the_wiring() -> None:
    inherited = {"A4C_VERIFY_DEADLINE_SECONDS": "42", "A4C_GRPC_PORT": "1", "A4C_LOG_LEVEL": "DEBUG"}

    env = wiring(STACK).env("provisioning", inherited)

    assert env["A4C_VERIFY_DEADLINE_SECONDS"] == "42"
    assert env["A4C_VERIFY_FIRST_CHECK_SECONDS"] == "1"
    assert env["A4C_GRPC_PORT"] == "21000"
    assert env["A4C_LOG_LEVEL"] == "DEBUG"


def test_a_real_upstreams_settings_reach_its_service_only_when_it_is_real() -> None:
    inherited = {"CLOUDFLARE_ZONE_ID": "a-real-zone", "ZITADEL_KEY_FILE": "/keys/real.json"}

    sandboxed = wiring(STACK)
    real = wiring(STACK, real_cloudflare=True, real_zitadel=True)

    assert "CLOUDFLARE_ZONE_ID" not in sandboxed.env("dns", inherited)
    assert "ZITADEL_KEY_FILE" not in sandboxed.env("identity", inherited)
    assert real.env("dns", inherited)["CLOUDFLARE_ZONE_ID"] == "a-real-zone"
    assert "CLOUDFLARE_BASE_URL" not in real.env("dns", inherited)
    assert real.env("identity", inherited)["ZITADEL_KEY_FILE"] == "/keys/real.json"
    assert "ZITADEL_PAT" not in real.env("identity", inherited)


def test_a_port_zero_server_is_passed_on_once_it_bound() -> None:
    w = wiring().at(dns="127.0.0.1:40001", worker_health="127.0.0.1:0")

    env = w.env("worker")

    assert env["A4C_DNS_SERVICE_ADDRESS"] == "127.0.0.1:40001"
    assert env["A4C_HEALTH_PORT"] == "0"


def test_a_traces_file_reaches_every_service_and_the_worker_each_under_its_own_name(tmp_path: Path) -> None:
    path = tmp_path / "traces.jsonl"
    w = wiring(traces_file=path)
    readers = {
        "dns": lambda env: TracingSettings.from_env(EnvReader(env), "a4c-dns"),
        "identity": lambda env: TracingSettings.from_env(EnvReader(env), "a4c-identity"),
        "provisioning": lambda env: TracingSettings.from_env(EnvReader(env), "a4c-provisioning"),
        "worker": lambda env: WorkerSettings.from_env(env).tracing,
    }
    for part, read in readers.items():
        assert read(w.env(part)) == TracingSettings(f"a4c-{part}", "file", str(path)), part
    # Without a file, traces stay off unless the caller's environment turns them on (an OTLP collector).
    caller = {"A4C_TRACES": "otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4317"}
    assert WorkerSettings.from_env(wiring().env("worker")).tracing.exporter == "off"
    otlp = WorkerSettings.from_env(wiring().env("worker", caller)).tracing
    assert (otlp.exporter, otlp.otlp_endpoint) == ("otlp", "http://collector:4317")


def test_metrics_ports_are_wired_only_where_the_wiring_places_them() -> None:
    placed = {f"{part}-metrics": f"127.0.0.1:{22010 + i}" for i, part in enumerate(METRICS_PARTS)}
    w = wiring().at(**{name.replace("-", "_"): address for name, address in placed.items()})

    assert DnsSettings.from_env(w.env("dns")).server.metrics_port == 22011
    assert IdentitySettings.from_env(w.env("identity")).server.metrics_port == 22012
    assert ProvisioningSettings.from_env(w.env("provisioning")).server.metrics_port == 22010
    assert WorkerSettings.from_env(w.env("worker")).metrics_port == 22013
    bare = wiring()
    assert DnsSettings.from_env(bare.env("dns")).server.metrics_port is None
    assert WorkerSettings.from_env(bare.env("worker")).metrics_port is None
