"""Both overlays render, validate against the Kubernetes schemas (and cert-manager's), and every pod meets
these invariants: native gRPC probes on the plaintext health port, non-root/read-only/no
capabilities/seccomp, requests and limits, named grpc Service ports, a termination grace that covers the
drain."""

from __future__ import annotations

import copy

import pytest
from k8slib import (
    ENVIRONMENTS,
    GRPC_SERVICES,
    PARTS,
    SchemaError,
    containers,
    deployment_env,
    main_container,
    named_port,
    of_kind,
    one,
    pod_templates,
    quantity,
    selector_matches,
    validate,
)

# The oldest Kubernetes the manifests claim (k8s/README.md) and the newest the validator ships.
KUBERNETES_VERSIONS = ("1.30.0", "1.37.0")


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_rendered_object_validates_against_the_kubernetes_schema(rendered, env, version):
    errors = []
    for obj in rendered[env]:
        try:
            validate(obj, version)
        except SchemaError as error:
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {error}")
    assert not errors, "\n".join(errors)


def test_the_schema_check_rejects_what_an_api_server_would(rendered):
    deployment = copy.deepcopy(one(rendered["prod"], "Deployment", "a4c-dns"))
    main_container(deployment)["readinessProbe"]["grpc"]["port"] = "health"  # gRPC probes take numbers only
    with pytest.raises(SchemaError):
        validate(deployment, KUBERNETES_VERSIONS[0])
    deployment = copy.deepcopy(one(rendered["prod"], "Deployment", "a4c-dns"))
    main_container(deployment)["securityContext"]["readOnlyRootFS"] = True  # misspelt: silently ignored
    with pytest.raises(SchemaError):
        validate(deployment, KUBERNETES_VERSIONS[0])
    certificate = one(rendered["prod"], "Certificate", "a4c-dns-tls")
    validate(certificate, KUBERNETES_VERSIONS[0])
    for field, value in (("dnsName", ["a4c-dns"]), ("usages", ["server-auth"]), ("duration", 90)):
        broken = copy.deepcopy(certificate)
        broken["spec"][field] = value  # misspelt field, unknown usage, wrong type
        with pytest.raises(SchemaError):
            validate(broken, KUBERNETES_VERSIONS[0])


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_part_has_a_deployment_a_grpc_service_and_its_own_service_account(rendered, env):
    docs = rendered[env]
    for part in PARTS:
        name = f"a4c-{part}"
        deployment = one(docs, "Deployment", name)
        service = one(docs, "Service", name)
        one(docs, "ServiceAccount", name)
        pod = deployment["spec"]["template"]
        assert pod["spec"]["serviceAccountName"] == name
        assert selector_matches(deployment["spec"]["selector"], pod["metadata"]["labels"])
        assert selector_matches({"matchLabels": service["spec"]["selector"]}, pod["metadata"]["labels"])
        assert service["spec"]["type"] == "ClusterIP"
        # The services expose their API; the worker has none, its Service names the health port.
        exposed = "grpc" if part in GRPC_SERVICES else "health"
        (port,) = service["spec"]["ports"]
        assert (port["name"], port["appProtocol"], port["targetPort"]) == (exposed, "grpc", exposed)
        assert port["port"] == named_port(main_container(deployment), exposed)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_probes_are_native_grpc_health_checks_on_the_plaintext_health_port(rendered, env):
    docs = rendered[env]
    for part in PARTS:
        container = main_container(one(docs, "Deployment", f"a4c-{part}"))
        settings = deployment_env(docs, part)
        health = int(settings["A4C_HEALTH_PORT"])
        assert named_port(container, "health") == health, (
            f"{part}: port named health is not the one it serves"
        )
        if part in GRPC_SERVICES:
            assert named_port(container, "grpc") == int(settings["A4C_GRPC_PORT"]) != health, part
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            handler = container[probe]
            assert set(handler) & {"grpc", "httpGet", "tcpSocket", "exec"} == {"grpc"}, f"{part} {probe}"
            assert handler["grpc"]["port"] == health, f"{part} {probe} probes another port"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_pod_runs_non_root_read_only_without_capabilities_under_runtime_default_seccomp(rendered, env):
    workloads = list(pod_templates(rendered[env]))
    assert {w["metadata"]["name"] for w, _ in workloads} >= {f"a4c-{p}" for p in PARTS} | {"a4c-migrate"}
    for workload, template in workloads:
        pod = template["spec"]
        where = f"{workload['kind']}/{workload['metadata']['name']}"
        pod_ctx = pod.get("securityContext", {})
        assert pod.get("automountServiceAccountToken") is False, where
        assert pod.get("enableServiceLinks") is False, where
        assert not any(pod.get(k) for k in ("hostNetwork", "hostPID", "hostIPC")), where
        for container in containers(pod):
            ctx = container.get("securityContext", {})
            effective = {**pod_ctx, **ctx}
            assert effective.get("runAsNonRoot") is True, where
            assert effective.get("runAsUser", 0) != 0, where
            assert ctx.get("readOnlyRootFilesystem") is True, where
            assert ctx.get("allowPrivilegeEscalation") is False, where
            assert ctx.get("privileged", False) is False, where
            assert ctx.get("capabilities", {}).get("drop") == ["ALL"], where
            assert not ctx.get("capabilities", {}).get("add"), where
            assert effective.get("seccompProfile", {}).get("type") == "RuntimeDefault", where


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_namespace_enforces_the_restricted_pod_security_standard(rendered, env):
    (namespace,) = of_kind(rendered[env], "Namespace")
    assert namespace["metadata"]["name"] == f"a4c-{env}"
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    namespaced = [d for d in rendered[env] if d["kind"] != "Namespace"]
    assert {d["metadata"]["namespace"] for d in namespaced} == {f"a4c-{env}"}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_container_has_cpu_and_memory_requests_within_limits(rendered, env):
    for workload, template in pod_templates(rendered[env]):
        for container in containers(template["spec"]):
            where = f"{workload['metadata']['name']}/{container['name']}"
            resources = container.get("resources", {})
            for resource in ("cpu", "memory"):
                request = resources.get("requests", {}).get(resource)
                limit = resources.get("limits", {}).get(resource)
                assert request is not None, f"{where}: no {resource} request"
                assert limit is not None, f"{where}: no {resource} limit"
                assert quantity(request) <= quantity(limit), f"{where}: {resource} request above limit"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_termination_grace_outlasts_the_prestop_pause_and_the_drain(rendered, env):
    docs = rendered[env]
    for part in PARTS:
        deployment = one(docs, "Deployment", f"a4c-{part}")
        container = main_container(deployment)
        pause = container.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
        drain = int(deployment_env(docs, part)["A4C_SHUTDOWN_GRACE_SECONDS"])
        grace = deployment["spec"]["template"]["spec"]["terminationGracePeriodSeconds"]
        assert grace > pause + drain, f"{part}: killed after {grace}s, needs {pause}s + {drain}s"
        if part in GRPC_SERVICES:
            # Served behind a Service: keep answering until every node has dropped the endpoint.
            assert pause >= 3, f"{part}: no preStop pause before SIGTERM"
    for part in PARTS:
        strategy = one(docs, "Deployment", f"a4c-{part}")["spec"]["strategy"]
        assert strategy["rollingUpdate"]["maxUnavailable"] == 0, f"{part}: a rollout may drop capacity"
