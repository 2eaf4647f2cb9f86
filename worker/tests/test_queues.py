"""Per-upstream task queues: every activity is routed, a worker serves what it is told, rates as derived."""

from __future__ import annotations

import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from a4c.common.config import SettingsError
from a4c.eventstore import EventStore
from a4c.worker.config import Settings
from a4c.worker.policy import WorkerPolicy
from a4c.worker.runner import WORKFLOWS, Upstreams, activities, queue_workers
from a4c.workflows import queues
from a4c.workflows.queues import CLOUDFLARE, ZITADEL, Queue, UnroutedActivity, UpstreamLimit

from .mocked import MockedActivities, Script

MINIMAL = {
    "DATABASE_URL": "postgresql://app:pw@db:5432/a4c",
    "A4C_DNS_SERVICE_ADDRESS": "dns:50051",
    "A4C_IDENTITY_SERVICE_ADDRESS": "identity:50051",
}


async def _registered(store: EventStore) -> list[str]:
    """The names of every activity the real worker registers (nothing is called here)."""
    upstreams = Upstreams.open("127.0.0.1:1", "127.0.0.1:1", None)
    policy = WorkerPolicy(zone="example.com", target="app.example.com")
    try:
        return [queues.activity_name(fn) for fn in activities(upstreams, store, policy)]
    finally:
        await upstreams.close()


async def test_every_activity_the_worker_registers_has_a_queue(event_store: EventStore) -> None:
    routed = {name: queues.queue_of(name) for name in await _registered(event_store)}
    assert routed["create_dns_record"] is Queue.CLOUDFLARE
    assert routed["remove_dns_record"] is Queue.CLOUDFLARE
    assert routed["check_propagation"] is Queue.NAMESERVERS
    assert routed["create_identity_organization"] is Queue.ZITADEL
    # The appends and the policy checks are local activities: they run in the workflow's own task.
    assert routed["record_event"] is Queue.MAIN
    with pytest.raises(UnroutedActivity):
        queues.queue_of("activity_nobody_routed")


def test_upstream_queues_are_named_after_the_workflows_queue() -> None:
    assert queues.task_queue("a4c-provisioning", Queue.MAIN) == "a4c-provisioning"
    assert queues.task_queue("a4c-provisioning", Queue.ZITADEL) == "a4c-provisioning-zitadel"


def test_the_rates_are_the_documented_limits_over_the_requests_an_activity_makes() -> None:
    # Cloudflare: 1,200 per 5 minutes, at most 3 requests per activity, 80 % of it: 1.06/s.
    assert CLOUDFLARE.activities_per_second == 1.06
    assert CLOUDFLARE.activities_per_second * CLOUDFLARE.requests_per_activity * 300 <= 1200
    # Zitadel Cloud: 50 per second, at most 6 per activity: 6.66/s.
    assert ZITADEL.activities_per_second == 6.66
    assert (
        UpstreamLimit(requests=10, window_seconds=1, requests_per_activity=3, share=1).activities_per_second
        == 3.33
    )


def test_a_worker_serves_all_queues_by_default_or_the_subset_it_is_given() -> None:
    assert Settings.from_env(MINIMAL).queues == frozenset(Queue)
    subset = Settings.from_env({**MINIMAL, "A4C_WORKER_QUEUES": "main,Zitadel"})
    assert subset.queues == {Queue.MAIN, Queue.ZITADEL}
    for bad in ("main,cloudfare", "nameserver"):
        with pytest.raises(SettingsError) as raised:
            Settings.from_env({**MINIMAL, "A4C_WORKER_QUEUES": bad})
        assert raised.value.key == "A4C_WORKER_QUEUES"


def test_the_rate_settings_default_to_the_derived_figures_and_zero_sets_none() -> None:
    assert Settings.from_env(MINIMAL).queue_rates == {
        Queue.CLOUDFLARE: 1.06,
        Queue.ZITADEL: 6.66,
        Queue.NAMESERVERS: 20.0,
    }
    rates = Settings.from_env({**MINIMAL, "A4C_CLOUDFLARE_ACTIVITIES_PER_SECOND": "0"}).queue_rates
    assert rates[Queue.CLOUDFLARE] is None


async def test_each_served_queue_gets_a_worker_with_its_activities_and_rate(
    time_skipping: WorkflowEnvironment,
) -> None:
    client = time_skipping.client
    mocks = MockedActivities(Script())
    main = f"q-{uuid.uuid4().hex[:6]}"
    rates = {Queue.CLOUDFLARE: 1.5, Queue.ZITADEL: None}
    workers = queue_workers(
        client,
        main,
        workflows=WORKFLOWS,
        activities=mocks.all(),
        queues=(Queue.MAIN, Queue.CLOUDFLARE),
        rates=rates,
    )
    assert workers.task_queues == {Queue.MAIN: main, Queue.CLOUDFLARE: f"{main}-cloudflare"}
    cloudflare = workers.workers[Queue.CLOUDFLARE].config()
    assert cloudflare.get("max_task_queue_activities_per_second") == 1.5
    assert {queues.activity_name(fn) for fn in cloudflare.get("activities", [])} == {
        "create_dns_record",
        "remove_dns_record",
    }
    assert not cloudflare.get("workflows")
    assert workers.workers[Queue.MAIN].config().get("workflows") == list(WORKFLOWS)
