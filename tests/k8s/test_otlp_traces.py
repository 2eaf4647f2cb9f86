"""Traces in the cluster (k8s/components/otlp-traces): off in the plain overlays; with the component every
traced part exports to the collector over OTLP/gRPC and may reach exactly that collector port."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import yaml
from k8slib import K8S, Obj, deployment_env, of_kind, pod_templates, selector_matches

TRACED = ("dns", "identity", "provisioning", "worker")
COLLECTOR = {"app.kubernetes.io/name": "opentelemetry-collector"}


def with_component(tmp_path: Path, kustomize_build) -> list[Obj]:
    """The dev overlay with the component listed in it, as an operator would (its objects then take the
    overlay's namespace): a copy whose paths into k8s/ are made relative to where the copy is."""
    overlay = tmp_path / "dev"
    shutil.copytree(K8S / "overlays" / "dev", overlay)
    kustomization = yaml.safe_load((overlay / "kustomization.yaml").read_text())
    source = K8S / "overlays" / "dev"

    def moved(path: str) -> str:
        return os.path.relpath((source / path).resolve(), overlay) if path.startswith("..") else path

    kustomization["resources"] = [moved(r) for r in kustomization["resources"]]
    kustomization["components"] = [
        *(moved(c) for c in kustomization.get("components", [])),
        os.path.relpath(K8S / "components" / "otlp-traces", overlay),
    ]
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return kustomize_build(overlay)  # type: ignore[no-any-return]


def test_traces_are_off_in_the_plain_overlays(rendered):
    for docs in rendered.values():
        for part in TRACED:
            assert deployment_env(docs, part).get("A4C_TRACES", "off") == "off", part


def test_the_component_sends_every_parts_spans_to_the_collector_and_opens_only_that_port(
    tmp_path, kustomize_build
):
    docs = with_component(tmp_path, kustomize_build)
    for part in TRACED:
        env = deployment_env(docs, part)
        assert env["A4C_TRACES"] == "otlp", part
        assert str(env["OTEL_EXPORTER_OTLP_ENDPOINT"]).endswith(".observability.svc.cluster.local:4317")

    (policy,) = [p for p in of_kind(docs, "NetworkPolicy") if p["metadata"]["name"] == "a4c-otlp-collector"]
    assert policy["metadata"]["namespace"] == "a4c-dev"
    selected = {
        template["metadata"]["labels"]["app.kubernetes.io/name"]
        for _, template in pod_templates(docs)
        if selector_matches(policy["spec"]["podSelector"], template["metadata"]["labels"])
    }
    assert selected == {f"a4c-{part}" for part in TRACED}  # not the migration Job
    assert policy["spec"]["policyTypes"] == ["Egress"]
    (rule,) = policy["spec"]["egress"]
    assert rule["ports"] == [{"protocol": "TCP", "port": 4317}]
    (peer,) = rule["to"]
    assert peer["podSelector"]["matchLabels"] == COLLECTOR
    assert peer["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "observability"}
