"""The worker's domain metrics, recorded through the Temporal SDK's metric meter.

The SDK's meter (not our prometheus registry) because a workflow's code runs again on every replay:
``workflow.metric_meter()`` records nothing while replaying, so a bootstrap is counted once however
often its history is replayed, and the values leave on the same Prometheus endpoint as the SDK's own
metrics (task slots, schedule-to-start, failures), with its namespace/task_queue/workflow_type labels.
Every label added here is an enum value (outcome, compensation name, event type), never an id.
"""

from __future__ import annotations

from collections.abc import Mapping

from temporalio import activity, workflow
from temporalio.common import MetricMeter

from a4c.eventstore import BootstrapState, EventType
from a4c.workflows.models import Compensation
from a4c.workflows.reconcile import DriftKind

# Seconds; the SDK's default buckets are for milliseconds. Handed to PrometheusConfig by the runner.
DURATION_BUCKETS = {
    "a4c_bootstrap_duration_seconds": [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600],
    "a4c_subdomain_time_to_active_seconds": [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800, 3600, 7200],
}


def _since_start() -> float:
    return (workflow.now() - workflow.info().start_time).total_seconds()


def bootstrap_finished(outcome: BootstrapState) -> None:
    """In the bootstrap workflow, once it completed, failed or was cancelled."""
    meter = workflow.metric_meter()
    labels = {"outcome": outcome.value}
    meter.create_counter("a4c_bootstraps", "Bootstraps finished, by outcome").add(1, labels)
    meter.create_histogram_float(
        "a4c_bootstrap_duration_seconds", "Bootstrap workflow run time, start to outcome"
    ).record(_since_start(), labels)


def subdomain_active() -> None:
    """In the subdomain workflow, when the record verified: time from the workflow's start."""
    workflow.metric_meter().create_histogram_float(
        "a4c_subdomain_time_to_active_seconds", "Subdomain workflow start to verified (active)"
    ).record(_since_start())


def subdomain_failed() -> None:
    workflow.metric_meter().create_counter(
        "a4c_subdomain_failures", "Subdomains that ended failed (record or verification)"
    ).add(1)


def compensation(name: str, succeeded: bool) -> None:
    """In the bootstrap workflow's saga, per undo step; ``name`` is a Compensation value."""
    workflow.metric_meter().create_counter(
        "a4c_compensations", "Compensation steps run after a failed or cancelled bootstrap"
    ).add(1, {"compensation": name, "outcome": "done" if succeeded else "failed"})


def verification_attempt(propagated: bool) -> None:
    """In the check_propagation activity: one per check (Temporal retries it until propagated)."""
    activity.metric_meter().create_counter(
        "a4c_verification_attempts", "Propagation checks of a subdomain record, by result"
    ).add(1, {"result": "propagated" if propagated else "not_yet"})


def event_recorded(event_type: EventType) -> None:
    """In the record_event activity (a retry of the same event is deduplicated but counted)."""
    activity.metric_meter().create_counter(
        "a4c_events_appended", "Events this part appended to the event store", None
    ).add(1, {"event_type": event_type.value})


def drift_found(counts: Mapping[str, int]) -> None:
    """In the reconciler's batch activity: findings by kind (a DriftKind value)."""
    counter = activity.metric_meter().create_counter(
        "a4c_drift_findings", "Drift the reconciler found in active organizations, by kind"
    )
    for kind, n in counts.items():
        counter.add(n, {"kind": kind})


def orphans_seen(counts: Mapping[str, int]) -> None:
    """In the reconciler's orphan pass: how many orphans of each kind the last pass saw."""
    gauge = activity.metric_meter().create_gauge(
        "a4c_orphans", "Owned records and marked identity organizations with no live organization"
    )
    for kind in (DriftKind.ORPHAN_RECORD, DriftKind.ORPHAN_IDENTITY):
        gauge.set(counts.get(kind.value, 0), {"kind": kind.value})


def initialize(meter: MetricMeter) -> None:
    """Zero series for the outcomes that are rare, from the runtime's meter at start: an alert's
    ``increase(...)`` needs the series before the first failure, not from it on."""
    bootstraps = meter.create_counter("a4c_bootstraps", "Bootstraps finished, by outcome")
    for outcome in (BootstrapState.COMPLETED, BootstrapState.FAILED, BootstrapState.CANCELLED):
        bootstraps.add(0, {"outcome": outcome.value})
    compensations = meter.create_counter(
        "a4c_compensations", "Compensation steps run after a failed or cancelled bootstrap"
    )
    for name in Compensation:
        for result in ("done", "failed"):
            compensations.add(0, {"compensation": name.value, "outcome": result})
    meter.create_counter(
        "a4c_subdomain_failures", "Subdomains that ended failed (record or verification)"
    ).add(0)
