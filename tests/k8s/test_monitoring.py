"""components/monitoring on the prod overlay: a PodMonitor scraping every part's `metrics` port (the one its
A4C_METRICS_PORT serves), a NetworkPolicy admitting only the monitoring namespace and only to that port,
the alert rules and the dashboard well-formed, and the worker HPA documenting its backlog signal."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from k8slib import (
    K8S,
    PARTS,
    deployment_env,
    main_container,
    named_port,
    of_kind,
    one,
    selector_matches,
    validate,
)

sys.path.insert(0, str(Path(__file__).parents[1]))
from metrics_rules import referenced_metrics, rule_expressions

MONITORING = K8S / "components" / "monitoring"


@pytest.fixture(scope="module")
def monitored(kustomize_build: Any, tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """The prod overlay with the component added, as an operator's own overlay would add it."""
    overlay = tmp_path_factory.mktemp("monitored")
    prod, component = (os.path.relpath(p, overlay) for p in (K8S / "overlays" / "prod", MONITORING))
    (overlay / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: a4c-prod\n"
        f"resources: [{prod}]\ncomponents: [{component}]\n"
    )
    docs: list[dict[str, Any]] = kustomize_build(overlay)
    return docs


def test_every_part_serves_metrics_on_its_named_port(rendered):
    for docs in rendered.values():
        for part in PARTS:
            port = int(str(deployment_env(docs, part)["A4C_METRICS_PORT"]))
            assert named_port(main_container(one(docs, "Deployment", f"a4c-{part}")), "metrics") == port
            for service in of_kind(docs, "Service"):
                names = {p["name"] for p in service["spec"]["ports"]}
                assert "metrics" not in names, "metrics stay off the gRPC Services (PodMonitor scrapes pods)"


def test_the_pod_monitor_scrapes_the_metrics_port_of_all_four_parts(monitored):
    (monitor,) = of_kind(monitored, "PodMonitor")
    assert monitor["metadata"]["namespace"] == "a4c-prod"
    (endpoint,) = monitor["spec"]["podMetricsEndpoints"]
    assert endpoint["port"] == "metrics"
    assert endpoint["path"] == "/metrics"
    for part in PARTS:
        labels = one(monitored, "Deployment", f"a4c-{part}")["spec"]["template"]["metadata"]["labels"]
        assert selector_matches(monitor["spec"]["selector"], labels), part


def test_only_the_monitoring_namespace_reaches_only_the_metrics_port(monitored):
    policy = one(monitored, "NetworkPolicy", "allow-metrics-scrape")
    validate(policy, "1.33.0")
    (rule,) = policy["spec"]["ingress"]
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    ]
    for part in PARTS:
        deployment = one(monitored, "Deployment", f"a4c-{part}")
        assert selector_matches(
            policy["spec"]["podSelector"], deployment["spec"]["template"]["metadata"]["labels"]
        )
        assert rule["ports"] == [
            {"protocol": "TCP", "port": named_port(main_container(deployment), "metrics")}
        ]


def test_alert_rules_and_dashboard_are_well_formed(monitored):
    (rule,) = of_kind(monitored, "PrometheusRule")
    alerts = [r for group in rule["spec"]["groups"] for r in group["rules"]]
    assert {"A4CTenantsStuckVerifying", "A4CCloudflareRateLimited", "A4CWorkerBacklog"} <= {
        a["alert"] for a in alerts
    }
    for alert in alerts:
        assert alert["labels"]["severity"] in ("warning", "critical"), alert["alert"]
        assert alert["annotations"]["summary"], alert["alert"]
        assert referenced_metrics(alert["expr"]), alert["alert"]
    for expr in rule_expressions():
        assert referenced_metrics(expr), expr  # balanced, and names at least one metric
    dashboard = one(monitored, "ConfigMap", "a4c-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["a4c-provisioning.json"])["uid"] == "a4c-provisioning"
    with pytest.raises(ValueError, match="unbalanced"):
        referenced_metrics("sum(rate(a4c_bootstraps_total[5m])")


def test_the_worker_hpa_documents_the_backlog_signal_and_keeps_cpu():
    text = (K8S / "overlays" / "prod" / "worker-hpa.yaml").read_text()
    assert "temporal_activity_schedule_to_start_latency_seconds" in text
    assert "name: cpu" in text
