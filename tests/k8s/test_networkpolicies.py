"""The rendered NetworkPolicies allow exactly the call graph: evaluated with Kubernetes' semantics (a pod
selected by any policy of a type is isolated for that type; a connection needs the source's egress and the
destination's ingress) over the real pods of each overlay plus stand-ins for everything around them."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

import pytest
import yaml
from k8slib import ENVIRONMENTS, K8S, PARTS, QUEUE_WORKERS, Obj, of_kind, pod_templates, selector_matches


@dataclass(frozen=True)
class Endpoint:
    name: str
    ip: str
    namespace: str | None = None  # None: outside the cluster
    labels: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # named container ports

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace or ""}


def selected(policy: Obj, pod: Endpoint) -> bool:
    return policy["metadata"]["namespace"] == pod.namespace and selector_matches(
        policy["spec"]["podSelector"], pod.labels
    )


def policy_types(policy: Obj) -> list[str]:
    return policy["spec"].get("policyTypes") or ["Ingress"] + (
        ["Egress"] if "egress" in policy["spec"] else []
    )


def peer_matches(peer: Obj, policy_namespace: str, other: Endpoint) -> bool:
    if "ipBlock" in peer:
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        if address.version != ipaddress.ip_network(block["cidr"]).version:
            return False
        inside = address in ipaddress.ip_network(block["cidr"])
        excepted = any(
            address in ipaddress.ip_network(e)
            for e in block.get("except", [])
            if ipaddress.ip_network(e).version == address.version
        )
        return inside and not excepted
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not selector_matches(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return selector_matches(peer.get("podSelector"), other.labels)


def port_matches(rule_ports: list[Obj] | None, destination: Endpoint, port: int, protocol: str) -> bool:
    if not rule_ports:
        return True
    for entry in rule_ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        wanted = entry.get("port")
        if wanted is None:
            return True
        number = destination.ports.get(wanted) if isinstance(wanted, str) else wanted
        if number is not None and number <= port <= entry.get("endPort", number):
            return True
    return False


def direction_allows(
    policies, pod: Endpoint, other: Endpoint, dst: Endpoint, port: int, proto: str, kind: str
):
    """Is traffic allowed for `pod` in direction `kind` (Ingress/Egress) with `other` at the far end?"""
    isolating = [p for p in policies if selected(p, pod) and kind in policy_types(p)]
    if not isolating:
        return True
    rules_key, peers_key = ("ingress", "from") if kind == "Ingress" else ("egress", "to")
    for policy in isolating:
        for rule in policy["spec"].get(rules_key) or []:
            peers = rule.get(peers_key)
            if (
                not peers or any(peer_matches(p, policy["metadata"]["namespace"], other) for p in peers)
            ) and (port_matches(rule.get("ports"), dst, port, proto)):
                return True
    return False


def allowed(policies: list[Obj], src: Endpoint, dst: Endpoint, port: int, proto: str = "TCP") -> bool:
    egress = src.namespace is None or direction_allows(policies, src, dst, dst, port, proto, "Egress")
    ingress = dst.namespace is None or direction_allows(policies, dst, src, dst, port, proto, "Ingress")
    return egress and ingress


def world(docs: list[Obj]) -> dict[str, Endpoint]:
    """The overlay's pods (from their templates) and stand-ins for the rest of the cluster and internet."""
    endpoints: dict[str, Endpoint] = {}
    for index, (workload, template) in enumerate(pod_templates(docs)):
        name = workload["metadata"]["name"].removeprefix("a4c-")
        ports = {
            p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c.get("ports", [])
        }
        endpoints[name] = Endpoint(
            name,
            f"10.1.0.{index + 1}",
            workload["metadata"]["namespace"],
            template["metadata"]["labels"],
            ports,
        )
    temporal = {"app.kubernetes.io/name": "temporal", "app.kubernetes.io/instance": "temporal"}
    endpoints |= {
        "temporal-frontend": Endpoint(
            "temporal-frontend",
            "10.2.0.1",
            "temporal",
            temporal | {"app.kubernetes.io/component": "frontend"},
        ),
        "temporal-history": Endpoint(
            "temporal-history", "10.2.0.2", "temporal", temporal | {"app.kubernetes.io/component": "history"}
        ),
        "kube-dns": Endpoint("kube-dns", "10.96.0.10", "kube-system", {"k8s-app": "kube-dns"}),
        "postgres-pod": Endpoint("postgres-pod", "10.3.0.1", "postgres", {"app": "postgres"}),
        "caller": Endpoint("caller", "10.4.0.1", "platform", {"a4c.io/provisioning-client": "true"}),
        "ingress-controller": Endpoint(
            "ingress-controller", "10.5.0.1", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}
        ),
        "stranger": Endpoint("stranger", "10.4.0.2", "platform", {"app": "something-else"}),
        "intruder": Endpoint("intruder", "10.1.0.99", endpoints["dns"].namespace, {"app": "new"}),
        "cloudflare-api": Endpoint("cloudflare-api", "104.16.132.229"),
        "cloudflare-ns": Endpoint("cloudflare-ns", "173.245.58.51"),
        "zitadel": Endpoint("zitadel", "34.65.227.29"),
        "zitadel-v6": Endpoint("zitadel-v6", "2600:1901:0:b2bd::"),
        "managed-postgres": Endpoint("managed-postgres", "3.120.0.10"),
        "cloud-metadata": Endpoint("cloud-metadata", "169.254.169.254"),
        "node-internal": Endpoint("node-internal", "10.0.0.99"),
    }
    return endpoints


# (source, destination, port, protocol, allowed): the call graph and its nearest violations.
CALL_GRAPH = [
    ("worker", "dns", 50051, "TCP", True),
    ("worker", "identity", 50051, "TCP", True),
    ("worker", "temporal-frontend", 7233, "TCP", True),
    ("worker", "postgres-pod", 5432, "TCP", True),
    ("worker", "managed-postgres", 5432, "TCP", True),
    ("worker", "temporal-history", 7234, "TCP", False),
    ("worker", "provisioning", 50051, "TCP", False),
    ("worker", "cloudflare-api", 443, "TCP", False),
    ("worker", "zitadel", 443, "TCP", False),
    ("provisioning", "temporal-frontend", 7233, "TCP", True),
    ("provisioning", "postgres-pod", 5432, "TCP", True),
    ("provisioning", "managed-postgres", 5432, "TCP", True),
    ("provisioning", "dns", 50051, "TCP", False),
    ("provisioning", "identity", 50051, "TCP", False),
    ("provisioning", "worker", 8081, "TCP", False),
    ("provisioning", "cloudflare-api", 443, "TCP", False),
    ("dns", "cloudflare-api", 443, "TCP", True),
    ("dns", "cloudflare-ns", 53, "UDP", True),
    ("dns", "cloudflare-ns", 53, "TCP", True),
    ("dns", "cloudflare-api", 80, "TCP", False),
    ("dns", "cloud-metadata", 80, "TCP", False),
    ("dns", "node-internal", 443, "TCP", False),
    ("dns", "postgres-pod", 5432, "TCP", False),
    ("dns", "temporal-frontend", 7233, "TCP", False),
    ("dns", "identity", 50051, "TCP", False),
    ("identity", "zitadel", 443, "TCP", True),
    ("identity", "zitadel-v6", 443, "TCP", True),
    ("identity", "cloud-metadata", 443, "TCP", False),
    ("identity", "cloudflare-ns", 53, "UDP", False),
    ("identity", "managed-postgres", 5432, "TCP", False),
    ("identity", "temporal-frontend", 7233, "TCP", False),
    ("identity", "dns", 50051, "TCP", False),
    ("caller", "provisioning", 50051, "TCP", True),
    ("stranger", "provisioning", 50051, "TCP", False),
    ("caller", "dns", 50051, "TCP", False),
    ("caller", "identity", 50051, "TCP", False),
    ("caller", "worker", 8081, "TCP", False),
    ("migrate", "managed-postgres", 5432, "TCP", True),
    ("migrate", "temporal-frontend", 7233, "TCP", False),
    ("migrate", "cloudflare-api", 443, "TCP", False),
    ("intruder", "dns", 50051, "TCP", False),
    ("intruder", "cloudflare-api", 443, "TCP", False),
    ("dns", "intruder", 8080, "TCP", False),
    ("intruder", "kube-dns", 53, "UDP", True),
    # The plaintext health ports are for the kubelet, whose probes NetworkPolicy does not govern: no pod.
    ("caller", "provisioning", 8081, "TCP", False),
    ("worker", "dns", 8081, "TCP", False),
    ("worker", "identity", 8081, "TCP", False),
    ("intruder", "provisioning", 8081, "TCP", False),
    # The console: browsers through the ingress controller only; it calls provisioning and the login only.
    ("ingress-controller", "console", 8080, "TCP", True),
    ("ingress-controller", "provisioning", 50051, "TCP", False),
    ("caller", "console", 8080, "TCP", False),
    ("stranger", "console", 8080, "TCP", False),
    ("intruder", "console", 8080, "TCP", False),
    ("console", "provisioning", 50051, "TCP", True),
    ("console", "zitadel", 443, "TCP", True),
    ("console", "dns", 50051, "TCP", False),
    ("console", "identity", 50051, "TCP", False),
    ("console", "temporal-frontend", 7233, "TCP", False),
    ("console", "managed-postgres", 5432, "TCP", False),
    ("console", "cloud-metadata", 80, "TCP", False),
    ("console", "node-internal", 443, "TCP", False),
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(("source", "destination", "port", "protocol", "expected"), CALL_GRAPH)
def test_network_policies_allow_exactly_the_call_graph(
    rendered, env, source, destination, port, protocol, expected
):
    docs = rendered[env]
    endpoints = world(docs)
    verdict = allowed(
        of_kind(docs, "NetworkPolicy"), endpoints[source], endpoints[destination], port, protocol
    )
    assert verdict is expected, f"{source} -> {destination}:{port}/{protocol} should be {expected}"


@pytest.mark.parametrize(
    ("source", "destination", "port", "protocol", "expected"),
    [row for row in CALL_GRAPH if row[0] == "worker"],
)
def test_each_queue_worker_reaches_exactly_what_the_worker_reaches(
    rendered, source, destination, port, protocol, expected
):
    docs = rendered["prod"]
    endpoints = world(docs)
    for worker in QUEUE_WORKERS["prod"]:
        verdict = allowed(
            of_kind(docs, "NetworkPolicy"), endpoints[worker], endpoints[destination], port, protocol
        )
        assert verdict is expected, f"{worker} -> {destination}:{port}/{protocol} should be {expected}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_pod_resolves_names_through_cluster_dns_and_nothing_else_there(rendered, env):
    docs = rendered[env]
    endpoints = world(docs)
    policies = of_kind(docs, "NetworkPolicy")
    for part in [*PARTS, "console", "migrate"]:
        for protocol in ("UDP", "TCP"):
            assert allowed(policies, endpoints[part], endpoints["kube-dns"], 53, protocol), (part, protocol)
        assert not allowed(policies, endpoints[part], endpoints["kube-dns"], 9153), part


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_all_pods_are_isolated_by_default_and_each_has_its_own_allow_list(rendered, env):
    docs = rendered[env]
    policies = of_kind(docs, "NetworkPolicy")
    deny = [
        p
        for p in policies
        if p["spec"]["podSelector"] == {}
        and set(policy_types(p)) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert deny, "no default-deny policy"
    for workload, template in pod_templates(docs):
        pod = Endpoint(workload["metadata"]["name"], "10.9.9.9", workload["metadata"]["namespace"])
        pod = Endpoint(pod.name, pod.ip, pod.namespace, template["metadata"]["labels"])
        own = [p for p in policies if selected(p, pod) and p["spec"]["podSelector"] != {}]
        assert own, f"{pod.name} has no NetworkPolicy of its own"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_pod_anywhere_reaches_a_plaintext_health_port(rendered, env):
    """Health ports answer probes only: kubelet traffic is not subject to NetworkPolicy on mainstream CNIs
    (the node's own address is always allowed), so no rule needs to, or may, admit a pod to them."""
    docs = rendered[env]
    endpoints = world(docs)
    policies = of_kind(docs, "NetworkPolicy")
    targets = [e for e in endpoints.values() if "health" in e.ports]
    assert {e.name for e in targets} == {*PARTS, *QUEUE_WORKERS[env]}
    for target in targets:
        for source in endpoints.values():
            if source is not target:
                assert not allowed(policies, source, target, target.ports["health"]), (
                    source.name,
                    target.name,
                )


def temporal_policies() -> list[Obj]:
    text = (K8S / "temporal" / "networkpolicy.yaml").read_text()
    return [d for d in yaml.safe_load_all(text) if d]


# Temporal's namespace (k8s/temporal/networkpolicy.yaml, with each overlay's own policies in force too):
# from outside it only the worker and provisioning reach the frontend, and only its gRPC port.
TEMPORAL_INGRESS = [
    ("worker", "temporal-frontend", 7233, True),
    ("provisioning", "temporal-frontend", 7233, True),
    ("temporal-history", "temporal-frontend", 7233, True),  # Temporal's own services talk freely
    ("temporal-frontend", "temporal-history", 7234, True),
    ("temporal-web", "temporal-frontend", 7233, True),
    ("worker", "temporal-history", 7234, False),
    ("caller", "temporal-frontend", 7233, False),
    ("stranger", "temporal-frontend", 7233, False),
    ("impostor", "temporal-frontend", 7233, False),  # a4c-worker's labels, in another namespace
    ("stranger", "temporal-web", 8080, False),
]


@pytest.mark.parametrize("env", ENVIRONMENTS)
@pytest.mark.parametrize(("source", "destination", "port", "expected"), TEMPORAL_INGRESS)
def test_temporals_namespace_admits_only_the_worker_and_provisioning(
    rendered, env, source, destination, port, expected
):
    docs = rendered[env]
    endpoints = world(docs) | {
        "temporal-web": Endpoint(
            "temporal-web", "10.2.0.3", "temporal", {"app.kubernetes.io/name": "temporal-web"}
        ),
        "impostor": Endpoint("impostor", "10.4.0.3", "platform", {"app.kubernetes.io/name": "a4c-worker"}),
    }
    policies = of_kind(docs, "NetworkPolicy") + temporal_policies()
    verdict = allowed(policies, endpoints[source], endpoints[destination], port)
    assert verdict is expected, f"{source} -> {destination}:{port} should be {expected}"
    # Without Temporal's policy, anything could reach it: the test exercises that policy.
    if not expected and endpoints[source].namespace not in (None, endpoints["worker"].namespace):
        assert allowed(of_kind(docs, "NetworkPolicy"), endpoints[source], endpoints[destination], port)
