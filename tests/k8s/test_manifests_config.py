"""Settings, secrets and environment differences in the rendered overlays: each environment gets its own
base domain and Temporal namespace, every setting a part reads is set, secrets are referenced and never
carried, prod is replicated with disruption budgets and an autoscaled worker, the migration Job is there."""

from __future__ import annotations

import os
import re
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from k8slib import (
    BASE_DOMAINS,
    ENVIRONMENT_NAMES,
    ENVIRONMENTS,
    GRPC_SERVICES,
    IMAGES,
    K8S,
    PARTS,
    QUEUE_WORKERS,
    SecretRef,
    containers,
    deployment_env,
    main_container,
    of_kind,
    one,
    pod_templates,
    quantity,
    resolved_env,
    selector_matches,
)

from a4c.common.config import SERVER_SETTINGS
from a4c.console.config import SETTINGS as CONSOLE_SETTINGS
from a4c.dns.config import SETTINGS as DNS_SETTINGS
from a4c.identity.config import SETTINGS as IDENTITY_SETTINGS
from a4c.provisioning.config import SETTINGS as PROVISIONING_SETTINGS
from a4c.worker.config import SETTINGS as WORKER_SETTINGS
from a4c.workflows.queues import DEFAULT_RATES, Queue

SECRET_TEMPLATES = K8S / "secrets" / "a4c-secrets.template.yaml"

# What each part reads (the settings contract); SECRET means it must come from a Secret, never a ConfigMap.
SECRET = object()
COMMON_GRPC = {
    "A4C_GRPC_HOST": str,
    "A4C_GRPC_PORT": str,
    "A4C_HEALTH_PORT": str,
    "A4C_AUTH_PRINCIPALS": SECRET,
}
SHARED = {"A4C_ENVIRONMENT": str, "A4C_LOG_LEVEL": str, "A4C_SHUTDOWN_GRACE_SECONDS": str}
TEMPORAL = {"TEMPORAL_ADDRESS": str, "TEMPORAL_NAMESPACE": str, "TEMPORAL_TASK_QUEUE": str}
# The tenant policy both the provisioning service and the worker hold (ConfigMap a4c-tenant-policy).
TENANT_POLICY = (
    "A4C_BASE_DOMAIN",
    "A4C_SUBDOMAIN_TARGET",
    "A4C_SUBDOMAIN_PROXIED",
    "A4C_VERIFY_DEADLINE_SECONDS",
    "A4C_STEP_ATTEMPT_SECONDS",
    "A4C_STEP_TOTAL_SECONDS",
    "A4C_STEP_HEARTBEAT_SECONDS",
)
CONTRACT = {
    "dns": SHARED
    | COMMON_GRPC
    | {
        "CLOUDFLARE_API_TOKEN": SECRET,
        "CLOUDFLARE_BASE_URL": str,
        "CLOUDFLARE_ZONE_NAME": str,
        "A4C_PAGE_TOKEN_KEY": SECRET,  # replicas share it
    },
    "identity": SHARED
    | COMMON_GRPC
    | {
        "ZITADEL_URL": SECRET,
        "ZITADEL_PAT": SECRET,
        "ZITADEL_PROJECT_ID": SECRET,
        "ZITADEL_INVITE_URL_TEMPLATE": str,
        "ZITADEL_APPLICATION_NAME": str,
    },
    "provisioning": SHARED
    | COMMON_GRPC
    | TEMPORAL
    | dict.fromkeys(TENANT_POLICY, str)
    | {"DATABASE_URL": SECRET, "A4C_PAYLOAD_KEYS": SECRET, "A4C_PAGE_TOKEN_KEY": SECRET},
    "worker": SHARED
    | TEMPORAL
    | dict.fromkeys(TENANT_POLICY, str)
    | {
        "DATABASE_URL": SECRET,
        "A4C_DNS_SERVICE_ADDRESS": str,
        "A4C_IDENTITY_SERVICE_ADDRESS": str,
        "A4C_SERVICE_TOKEN": SECRET,
        "A4C_PAYLOAD_KEYS": SECRET,
        "A4C_HEALTH_PORT": str,
        "A4C_WORKER_MAX_CONCURRENT_ACTIVITIES": str,
        "A4C_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS": str,
    },
    "console": {
        "A4C_ENVIRONMENT": str,
        "A4C_LOG_LEVEL": str,
        "A4C_CONSOLE_PORT": str,
        "A4C_CONSOLE_PUBLIC_URL": str,
        "A4C_CONSOLE_OIDC_ISSUER": str,
        "A4C_CONSOLE_OIDC_CLIENT_ID": SECRET,
        "A4C_CONSOLE_OIDC_PROJECT_ID": SECRET,
        "A4C_CONSOLE_ROLE_OPERATE": str,
        "A4C_CONSOLE_ROLE_READ": str,
        "A4C_PROVISIONING_ADDRESS": str,
        "A4C_PROVISIONING_TOKEN": SECRET,
        "A4C_CONSOLE_SESSION_KEY": SECRET,
    },
}
SECRET_LOOKING_KEY = re.compile(r"TOKEN|PASSWORD|SECRET|_PAT$|DATABASE_URL|PRIVATE")
CREDENTIALS_IN_URL = re.compile(r"://[^/@\s:]+:[^/@\s]+@")


def secret_templates() -> dict[str, dict[str, str]]:
    docs = [d for d in yaml.safe_load_all(SECRET_TEMPLATES.read_text()) if d]
    assert {d["kind"] for d in docs} == {"Secret"}
    return {d["metadata"]["name"]: d.get("stringData", {}) | d.get("data", {}) for d in docs}


def issued_secrets(docs) -> set[str]:
    """Secrets cert-manager writes for the rendered Certificates: nobody creates them, none is templated."""
    return {c["spec"]["secretName"] for c in of_kind(docs, "Certificate")}


def secret_uses(docs) -> set[tuple[str, str]]:
    """(secret, key) pairs the pods read, through env or mounted volumes (cert-manager's left out)."""
    uses: set[tuple[str, str]] = set()
    for _, template in pod_templates(docs):
        for container in containers(template["spec"]):
            for value in resolved_env(docs, container).values():
                if isinstance(value, SecretRef):
                    uses.add((value.name, value.key))
        for volume in template["spec"].get("volumes", []):
            if "secret" in volume and volume["secret"]["secretName"] not in issued_secrets(docs):
                name = volume["secret"]["secretName"]
                uses |= {(name, key) for key in secret_templates().get(name, {"<not templated>": ""})}
    return uses


# The environment ConfigMap every part is given: not every part reads all of it (only provisioning the
# base domain; the worker neither that nor A4C_ENVIRONMENT).
SHARED_ENVIRONMENT = {"A4C_ENVIRONMENT", "A4C_BASE_DOMAIN", "A4C_LOG_LEVEL"}
# Each part's declared settings (a4c.common.settings): what it can read at all.
DECLARED = {
    "dns": (*DNS_SETTINGS, *SERVER_SETTINGS),
    "identity": (*IDENTITY_SETTINGS, *SERVER_SETTINGS),
    "provisioning": (*PROVISIONING_SETTINGS, *SERVER_SETTINGS),
    "worker": WORKER_SETTINGS,
    "console": CONSOLE_SETTINGS,
}


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_part_is_given_only_settings_it_declares_and_its_secrets_from_secrets(rendered, env):
    for part, spec in DECLARED.items():
        declared = {s.name: s for s in spec}
        given = deployment_env(rendered[env], part)
        unknown = sorted(set(given) - set(declared) - SHARED_ENVIRONMENT)
        assert not unknown, f"{part} is given {unknown}: not its settings (typos, or removed settings)"
        for key, value in given.items():
            if key in declared and declared[key].secret:
                assert isinstance(value, SecretRef), f"{part}: {key} is secret and must come from a Secret"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_each_part_gets_every_setting_it_reads_and_secrets_only_from_secrets(rendered, env):
    for part, contract in CONTRACT.items():
        settings = deployment_env(rendered[env], part)
        for key, kind in contract.items():
            assert key in settings, f"{part}: {key} is not set"
            if kind is SECRET:
                assert isinstance(settings[key], SecretRef), f"{part}: {key} must come from a Secret"
            else:
                assert isinstance(settings[key], str), f"{part}: {key} must not be a secret"
                assert settings[key], f"{part}: {key} is empty"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_environment_and_its_base_domain_reach_every_part(rendered, env):
    docs, domain = rendered[env], BASE_DOMAINS[env]
    for part in PARTS:
        settings = deployment_env(docs, part)
        assert settings["A4C_ENVIRONMENT"] == ENVIRONMENT_NAMES[env]
        assert settings["A4C_BASE_DOMAIN"] == domain
    assert deployment_env(docs, "dns")["CLOUDFLARE_ZONE_NAME"] == domain
    invite = str(deployment_env(docs, "identity")["ZITADEL_INVITE_URL_TEMPLATE"])
    assert re.match(rf"https://[a-z0-9.-]+\.{re.escape(domain)}/", invite), invite
    assert "{{.Code}}" in invite
    assert deployment_env(docs, "provisioning")["TEMPORAL_NAMESPACE"] == f"a4c-{env}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_nothing_in_one_environment_names_the_other(rendered, env):
    other = next(e for e in ENVIRONMENTS if e != env)
    text = yaml.safe_dump_all(rendered[env])
    assert BASE_DOMAINS[other] not in text
    assert f"a4c-{other}" not in text


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_authentication_is_never_disabled_in_a_cluster(rendered, env):
    for _, template in pod_templates(rendered[env]):
        for container in containers(template["spec"]):
            assert "A4C_AUTH_DISABLED" not in resolved_env(rendered[env], container), container["name"]


def test_the_base_alone_leaves_the_environment_unset(kustomize_build):
    docs = kustomize_build(K8S / "base")
    environment = next(c for c in of_kind(docs, "ConfigMap") if c["metadata"]["name"].startswith("a4c-env"))
    assert "A4C_ENVIRONMENT" not in environment["data"]
    assert "A4C_BASE_DOMAIN" not in environment["data"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_worker_dials_the_rendered_dns_and_identity_services(rendered, env):
    docs = rendered[env]
    settings = deployment_env(docs, "worker")
    for part in ("dns", "identity"):
        host, port = str(settings[f"A4C_{part.upper()}_SERVICE_ADDRESS"]).rsplit(":", 1)
        service = one(docs, "Service", f"a4c-{part}")
        assert host == f"{service['metadata']['name']}.{service['metadata']['namespace']}.svc.cluster.local"
        assert int(port) == service["spec"]["ports"][0]["port"]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_provisioning_and_worker_share_one_temporal_namespace_and_task_queue(rendered, env):
    provisioning = deployment_env(rendered[env], "provisioning")
    worker = deployment_env(rendered[env], "worker")
    for key in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_TASK_QUEUE"):
        assert provisioning[key] == worker[key], key
    assert str(worker["TEMPORAL_ADDRESS"]).startswith("temporal-frontend.temporal.svc.cluster.local:7233")


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_provisioning_and_the_worker_hold_one_tenant_policy(rendered, env):
    # The worker refuses a workflow whose subdomain differs from its own policy: the two must agree.
    provisioning = deployment_env(rendered[env], "provisioning")
    worker = deployment_env(rendered[env], "worker")
    for key in TENANT_POLICY:
        assert provisioning[key] == worker[key], key
    assert worker["A4C_BASE_DOMAIN"] == BASE_DOMAINS[env]


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_renderings_carry_no_secret_objects_and_no_secret_values(rendered, env):
    docs = rendered[env]
    assert not of_kind(docs, "Secret"), "Secrets are created out of band, never applied from here"
    for config in of_kind(docs, "ConfigMap"):
        for key, value in config["data"].items():
            assert not SECRET_LOOKING_KEY.search(key), f"{config['metadata']['name']}: {key} is a secret"
            assert not CREDENTIALS_IN_URL.search(value), (
                f"{config['metadata']['name']}: {key} has credentials"
            )
    for _, template in pod_templates(docs):
        for container in containers(template["spec"]):
            for var in container.get("env", []):
                assert not SECRET_LOOKING_KEY.search(var["name"]) or "valueFrom" in var, var["name"]


def test_secret_templates_list_keys_without_values():
    templates = secret_templates()
    assert templates, "no Secret templates"
    for name, keys in templates.items():
        assert keys, f"{name} lists no keys"
        assert all(value == "" for value in keys.values()), f"{name} carries a value"
    for doc in yaml.safe_load_all(SECRET_TEMPLATES.read_text()):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_every_secret_a_pod_reads_is_in_the_templates_and_every_template_is_read(
    rendered, env, with_key_file
):
    templates = secret_templates()
    declared = {(name, key) for name, keys in templates.items() for key in keys}
    used = secret_uses(rendered[env]) | secret_uses(with_key_file)
    assert used <= declared, f"read but not templated: {sorted(used - declared)}"
    assert declared == used, f"templated but never read: {sorted(declared - used)}"


@pytest.fixture(scope="module")
def with_key_file(kustomize_build, tmp_path_factory):
    """The dev overlay plus components/zitadel-key-file, as an overlay would use it."""
    overlay = tmp_path_factory.mktemp("overlay")
    root = Path(os.path.relpath(K8S, overlay))
    kustomization = {
        "resources": [str(root / "overlays" / "dev")],
        "components": [str(root / "components" / "zitadel-key-file")],
    }
    (overlay / "kustomization.yaml").write_text(yaml.safe_dump(kustomization))
    return kustomize_build(overlay)


def test_the_key_file_component_swaps_the_pat_for_a_read_only_mounted_key(with_key_file):
    docs = with_key_file
    for doc in docs:
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
    deployment = one(docs, "Deployment", "a4c-identity")
    settings = deployment_env(docs, "identity")
    assert "ZITADEL_PAT" not in settings
    key_file = Path(str(settings["ZITADEL_KEY_FILE"]))
    pod = deployment["spec"]["template"]["spec"]
    (mount,) = [
        m for m in main_container(deployment)["volumeMounts"] if key_file.parent == Path(m["mountPath"])
    ]
    assert mount.get("readOnly") is True
    (volume,) = [v for v in pod["volumes"] if v["name"] == mount["name"]]
    assert volume["secret"]["secretName"] == "a4c-identity-zitadel-key"
    assert key_file.name in secret_templates()["a4c-identity-zitadel-key"]


def test_prod_runs_every_service_replicated_behind_a_disruption_budget(rendered):
    docs = rendered["prod"]
    budgets = of_kind(docs, "PodDisruptionBudget")
    assert one(docs, "Deployment", "a4c-console")["spec"]["replicas"] >= 2
    for part in IMAGES:
        deployment = one(docs, "Deployment", f"a4c-{part}")
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        covering = [b for b in budgets if selector_matches(b["spec"]["selector"], labels)]
        assert len(covering) == 1, f"{part}: {len(covering)} PodDisruptionBudgets"
        assert covering[0]["spec"].get("maxUnavailable", 0) >= 1 or "minAvailable" in covering[0]["spec"]
        if part in GRPC_SERVICES:
            assert deployment["spec"]["replicas"] >= 2, part


def test_prod_scales_the_worker_with_an_hpa_that_owns_its_replica_count(rendered):
    docs = rendered["prod"]
    worker = one(docs, "Deployment", "a4c-worker")
    assert "replicas" not in worker["spec"], "an applied replica count would fight the HPA"
    hpa = one(docs, "HorizontalPodAutoscaler", "a4c-worker")
    target = hpa["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", "a4c-worker")
    assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
    assert hpa["spec"]["metrics"], "an HPA needs a metric"
    assert not of_kind(rendered["dev"], "HorizontalPodAutoscaler")


def _queues(env: dict[str, str | SecretRef]) -> set[str]:
    value = env.get("A4C_WORKER_QUEUES")
    assert value is None or isinstance(value, str)
    return set((value or "main,cloudflare,zitadel,nameservers").split(","))


def test_prod_runs_a_worker_deployment_per_queue_and_dev_one_on_every_queue(rendered):
    every = {queue.value for queue in Queue}
    assert _queues(deployment_env(rendered["dev"], "worker")) == every
    main = deployment_env(rendered["prod"], "worker")
    served = {"main": _queues(main)}
    for name in QUEUE_WORKERS["prod"]:
        deployment = one(rendered["prod"], "Deployment", f"a4c-{name}")
        env = resolved_env(rendered["prod"], main_container(deployment))
        served[name] = _queues(env)
        # The same worker on another queue: every setting alike, the server-side rates included (a
        # worker polling with another rate would override it for all: last poller wins).
        assert {k: v for k, v in env.items() if k != "A4C_WORKER_QUEUES"} == {
            k: v for k, v in main.items() if k != "A4C_WORKER_QUEUES"
        }
        assert deployment["spec"]["replicas"] >= 2, name
        covering = [
            pdb
            for pdb in of_kind(rendered["prod"], "PodDisruptionBudget")
            if selector_matches(pdb["spec"]["selector"], deployment["spec"]["template"]["metadata"]["labels"])
        ]
        assert len(covering) == 1, name
    assert served == {
        "main": {"main"},
        "worker-cloudflare": {"cloudflare"},
        "worker-zitadel": {"zitadel"},
        "worker-nameservers": {"nameservers"},
    }
    assert main["A4C_CLOUDFLARE_ACTIVITIES_PER_SECOND"] == f"{DEFAULT_RATES[Queue.CLOUDFLARE]:g}"
    # No two worker Deployments select each other's pods.
    workers = [
        d for d in of_kind(rendered["prod"], "Deployment") if d["metadata"]["name"].startswith("a4c-worker")
    ]
    for deployment in workers:
        for other in workers:
            if other is not deployment:
                labels = other["spec"]["template"]["metadata"]["labels"]
                assert not selector_matches(deployment["spec"]["selector"], labels)


def test_dev_is_one_replica_each_and_no_larger_than_prod(rendered):
    for part in PARTS:
        dev = one(rendered["dev"], "Deployment", f"a4c-{part}")
        prod = one(rendered["prod"], "Deployment", f"a4c-{part}")
        assert dev["spec"]["replicas"] == 1
        dev_requests = main_container(dev)["resources"]["requests"]
        prod_requests = main_container(prod)["resources"]["requests"]
        for resource in ("cpu", "memory"):
            assert quantity(dev_requests[resource]) <= quantity(prod_requests[resource]), (part, resource)
        assert dev_requests != prod_requests, f"{part}: prod is sized like dev"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_migration_job_runs_the_event_store_migrations_as_the_schema_owner(rendered, env):
    docs = rendered[env]
    job = one(docs, "Job", "a4c-migrate")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "-m", "a4c.eventstore", "migrate"]
    assert container["image"] == main_container(one(docs, "Deployment", "a4c-provisioning"))["image"]
    assert resolved_env(docs, container)["DATABASE_URL"] == SecretRef(
        "a4c-database-migrate", "DATABASE_URL", False
    )
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] >= 1
    assert job["spec"]["activeDeadlineSeconds"] > 0
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_the_migration_label_selects_everything_the_job_needs(rendered, env):
    docs = rendered[env]
    selected = {
        (d["kind"], d["metadata"]["name"])
        for d in docs
        if d["metadata"].get("labels", {}).get("a4c.io/migration") == "true"
    }
    job = one(docs, "Job", "a4c-migrate")
    pod = job["spec"]["template"]
    needed = {("Job", "a4c-migrate"), ("ServiceAccount", pod["spec"]["serviceAccountName"])}
    needed |= {("ConfigMap", s["configMapRef"]["name"]) for s in pod["spec"]["containers"][0]["envFrom"]}
    needed |= {
        ("NetworkPolicy", p["metadata"]["name"])
        for p in of_kind(docs, "NetworkPolicy")
        if selector_matches(p["spec"]["podSelector"], pod["metadata"]["labels"])
    }
    assert needed <= selected, f"not applied with the Job: {sorted(needed - selected)}"


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_images_come_from_the_registry_at_one_pinned_tag(rendered, env):
    images = {
        c["image"].split("@")[0] for _, t in pod_templates(rendered[env]) for c in containers(t["spec"])
    }
    tags = {image.rsplit(":", 1)[1] for image in images if ":" in image.rsplit("/", 1)[-1]}
    assert len(tags) == 1, images
    assert "latest" not in tags
    assert {image.rsplit(":", 1)[0].rsplit("/", 1)[1] for image in images} == set(IMAGES)
