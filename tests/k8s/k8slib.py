"""Reading rendered manifests: objects by kind, pod templates, a container's effective settings, quantities.

Plain functions over the dicts `kubectl kustomize` emits, shared by the tests in this folder.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import kubernetes_validate
from cloudcoil.models.cert_manager import v1 as cert_manager_v1
from pydantic import ValidationError as ModelError

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
ENVIRONMENTS = ("dev", "prod")
PARTS = ("dns", "identity", "provisioning", "worker")
# Every image and Deployment: the backend parts and the operators' web console (HTTP, not gRPC).
WEB_PARTS = ("console",)
IMAGES = (*PARTS, *WEB_PARTS)
GRPC_SERVICES = ("dns", "identity", "provisioning")
# Prod runs a worker Deployment per upstream task queue beside a4c-worker (a4c.workflows.queues); dev, one.
QUEUE_WORKERS = {"dev": (), "prod": ("worker-cloudflare", "worker-zitadel", "worker-nameservers")}
BASE_DOMAINS = {"dev": "firstovertheline.com", "prod": "analytics4change.com"}
ENVIRONMENT_NAMES = {"dev": "development", "prod": "production"}

Obj = dict[str, Any]


def of_kind(docs: list[Obj], kind: str) -> list[Obj]:
    return [d for d in docs if d["kind"] == kind]


def one(docs: list[Obj], kind: str, name: str) -> Obj:
    found = [d for d in of_kind(docs, kind) if d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}"
    return found[0]


def pod_templates(docs: list[Obj]) -> Iterator[tuple[Obj, Obj]]:
    """(workload, pod template) for every object that creates pods."""
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            yield d, d["spec"]["template"]
        elif d["kind"] == "CronJob":
            yield d, d["spec"]["jobTemplate"]["spec"]["template"]


def containers(pod_spec: Obj) -> list[Obj]:
    return list(pod_spec.get("initContainers", [])) + list(pod_spec["containers"])


def main_container(deployment: Obj) -> Obj:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container


@dataclass(frozen=True)
class SecretRef:
    name: str
    key: str
    optional: bool


def resolved_env(docs: list[Obj], container: Obj) -> dict[str, str | SecretRef]:
    """The variables the container starts with: envFrom ConfigMaps (looked up in docs), then env."""
    env: dict[str, str | SecretRef] = {}
    for source in container.get("envFrom", []):
        assert "configMapRef" in source, f"unexpected envFrom {source}: secrets are referenced key by key"
        env.update(one(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for var in container.get("env", []):
        if "value" in var:
            env[var["name"]] = var["value"]
        else:
            ref = var["valueFrom"]["secretKeyRef"]
            env[var["name"]] = SecretRef(ref["name"], ref["key"], ref.get("optional", False))
    return env


def deployment_env(docs: list[Obj], part: str) -> dict[str, str | SecretRef]:
    return resolved_env(docs, main_container(one(docs, "Deployment", f"a4c-{part}")))


def named_port(container: Obj, name: str) -> int:
    ports = [p["containerPort"] for p in container.get("ports", []) if p.get("name") == name]
    assert len(ports) == 1, f"container {container['name']} has no single port named {name}"
    return int(ports[0])


_QUANTITY = re.compile(r"^(\d+(?:\.\d+)?)(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")
_FACTORS = {
    None: Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10**3),
    "M": Decimal(10**6),
    "G": Decimal(10**9),
    "T": Decimal(10**12),
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
}


def quantity(value: str | int | float) -> Decimal:
    """A Kubernetes resource quantity ("250m", "1", "512Mi") as a number of cores or bytes."""
    match = _QUANTITY.match(str(value))
    assert match, f"unparseable quantity {value!r}"
    return Decimal(match.group(1)) * _FACTORS[match.group(2)]


def selector_matches(selector: Obj | None, labels: dict[str, str]) -> bool:
    """Kubernetes label-selector semantics (matchLabels + matchExpressions); {} matches everything."""
    selector = selector or {}
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expr in selector.get("matchExpressions", []):
        key, op, values = expr["key"], expr["operator"], expr.get("values", [])
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


# Kinds from CRDs kubernetes-validate does not know, with models generated from the CRDs' own schemas.
CUSTOM_MODELS = {("cert-manager.io/v1", "Certificate"): cert_manager_v1.Certificate}


class SchemaError(Exception):
    """An object an API server would reject; the message says where."""


def validate(obj: Obj, version: str) -> None:
    """Schema-check one object like an API server would (strict: an unknown field is an error).

    Built-in kinds through kubernetes-validate; cert-manager's through its models, where strictness is a
    round trip: the model ignores fields it does not know, so anything lost on the way back was unknown.
    """
    model = CUSTOM_MODELS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if model is None:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as error:
            raise SchemaError(error.message) from error
        return
    try:
        parsed = model.model_validate(obj)
    except ModelError as error:
        raise SchemaError(str(error)) from error
    if parsed.model_dump(by_alias=True, exclude_unset=True, mode="json") != obj:
        raise SchemaError("a field the schema does not know")
