"""GetOrganization, ListOrganizationEvents and GetBootstrap from the read models (and the live query)."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest
from temporalio import workflow
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.eventstore import EventType
from a4c.workflows.models import BOOTSTRAP_STEPS, BOOTSTRAP_WORKFLOW, BootstrapInput, Progress, StepProgress

from .helpers import (
    COMPLETED_BOOTSTRAP,
    SUBDOMAIN_FAILED,
    Running,
    bootstrap_request,
    rpc_error,
    running_provisioning,
    seed,
    service_env,
    unique,
)


async def test_an_organization_reads_the_same_by_id_and_by_slug(service: Running) -> None:
    organization_id, slug = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_FAILED)

    by_id = await service.stub.GetOrganization(
        pb.GetOrganizationRequest(organization_id=str(organization_id))
    )
    by_slug = await service.stub.GetOrganization(pb.GetOrganizationRequest(slug=slug))

    assert by_id == by_slug
    org = by_id.organization
    assert (org.id, org.slug, org.subdomain_fqdn) == (
        str(organization_id),
        slug,
        f"{slug}.firstovertheline.com",
    )
    assert (org.bootstrap_status, org.subdomain_status) == (
        pb.BOOTSTRAP_STATUS_COMPLETED,
        pb.SUBDOMAIN_STATUS_FAILED,
    )
    assert org.current_step == "complete"
    assert org.identity_organization_id
    assert org.admin_user_id
    assert org.dns_record_id
    assert org.last_error == "not resolvable after 600 s"
    assert org.created_at.ToNanoseconds() <= org.updated_at.ToNanoseconds()
    assert not org.HasField("subdomain_verified_at")


@pytest.mark.parametrize(
    ("request_fields", "code", "field"),
    [
        ({"organization_id": str(uuid.uuid4())}, grpc.StatusCode.NOT_FOUND, None),
        ({"slug": "no-such-organization"}, grpc.StatusCode.NOT_FOUND, None),
        ({"organization_id": "not-a-uuid"}, grpc.StatusCode.INVALID_ARGUMENT, "organization_id"),
        ({"slug": "Not A Slug"}, grpc.StatusCode.INVALID_ARGUMENT, "slug"),
        ({}, grpc.StatusCode.INVALID_ARGUMENT, "organization_id"),
    ],
    ids=["unknown-id", "unknown-slug", "bad-id", "bad-slug", "neither"],
)
async def test_unknown_or_malformed_organizations_are_refused_by_every_lookup(
    service: Running, request_fields: dict[str, str], code: grpc.StatusCode, field: str | None
) -> None:
    calls = [
        service.stub.GetOrganization(pb.GetOrganizationRequest(**request_fields)),
        service.stub.GetBootstrap(pb.GetBootstrapRequest(**request_fields)),
        service.stub.ListOrganizationEvents(pb.ListOrganizationEventsRequest(**request_fields)),
        service.stub.CancelBootstrap(pb.CancelBootstrapRequest(**request_fields)),
        service.stub.RetrySubdomain(pb.RetrySubdomainRequest(**request_fields)),
    ]
    for call in calls:
        details = await rpc_error(call)
        assert details.code == code
        assert details.fields == ({field} if field else set())


async def test_events_page_in_stream_order_and_tokens_stay_with_their_organization(service: Running) -> None:
    organization_id, slug = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_FAILED)
    other_id, _ = await seed(service, COMPLETED_BOOTSTRAP)

    events: list[pb.Event] = []
    token = ""
    while True:
        reply = await service.stub.ListOrganizationEvents(
            pb.ListOrganizationEventsRequest(slug=slug, page_size=4, page_token=token)
        )
        events += reply.events
        token = reply.next_page_token
        if not token:
            break
        stolen = pb.ListOrganizationEventsRequest(
            organization_id=str(other_id), page_size=4, page_token=token
        )
        details = await rpc_error(service.stub.ListOrganizationEvents(stolen))
        assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"page_token"})

    assert [e.stream_version for e in events] == list(range(1, 10))
    assert [e.event_type for e in events] == [str(t) for t in COMPLETED_BOOTSTRAP + SUBDOMAIN_FAILED]
    assert all(e.stream_id == str(organization_id) for e in events)
    assert events[0].data["slug"] == slug
    assert events[0].metadata["seeded"] is True
    sequences = [e.sequence for e in events]
    assert sequences == sorted(sequences)

    too_big = pb.ListOrganizationEventsRequest(slug=slug, page_size=1001)
    details = await rpc_error(service.stub.ListOrganizationEvents(too_big))
    assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"page_size"})


async def test_a_finished_bootstrap_reports_its_steps_from_its_events(service: Running) -> None:
    organization_id, _ = await seed(service, COMPLETED_BOOTSTRAP + SUBDOMAIN_FAILED)

    reply = await service.stub.GetBootstrap(pb.GetBootstrapRequest(organization_id=str(organization_id)))

    view = reply.bootstrap
    assert (view.status, view.subdomain_status) == (pb.BOOTSTRAP_STATUS_COMPLETED, pb.SUBDOMAIN_STATUS_FAILED)
    assert [s.name for s in view.steps] == list(BOOTSTRAP_STEPS)
    assert {s.state for s in view.steps} == {pb.STEP_STATE_COMPLETED}
    assert all(s.HasField("finished_at") for s in view.steps)
    assert view.current_step == "complete"
    assert view.error == "not resolvable after 600 s"
    assert view.workflow_id == f"org-bootstrap-{organization_id}"


async def test_a_failed_bootstrap_shows_the_failed_step_and_what_compensation_undid(service: Running) -> None:
    organization_id, _ = await seed(
        service, [*COMPLETED_BOOTSTRAP[:3], EventType.BOOTSTRAP_FAILED, EventType.BOOTSTRAP_COMPENSATED]
    )
    reply = await service.stub.GetBootstrap(pb.GetBootstrapRequest(organization_id=str(organization_id)))

    states = {s.name: (s.state, s.error) for s in reply.bootstrap.steps}
    assert reply.bootstrap.status == pb.BOOTSTRAP_STATUS_FAILED
    assert states["create_identity_organization"] == (pb.STEP_STATE_COMPENSATED, "")
    assert states["record_organization"] == (pb.STEP_STATE_COMPLETED, "")
    assert states["grant_admin_role"] == (pb.STEP_STATE_FAILED, "boom")
    assert states["complete"] == (pb.STEP_STATE_PENDING, "")
    assert reply.bootstrap.error == "boom"


async def test_a_running_bootstrap_whose_workflow_cannot_answer_falls_back_to_its_events(
    service: Running,
) -> None:
    started = await service.stub.BootstrapOrganization(bootstrap_request(unique("noworker")))

    # No worker polls this task queue, so the query cannot be answered: the caller's deadline bounds it.
    reply = await service.stub.GetBootstrap(
        pb.GetBootstrapRequest(organization_id=started.organization_id), timeout=2.0
    )

    assert reply.bootstrap.status == pb.BOOTSTRAP_STATUS_INITIATED
    assert {s.state for s in reply.bootstrap.steps} == {pb.STEP_STATE_PENDING}


@workflow.defn(name=BOOTSTRAP_WORKFLOW)
class HalfwayBootstrap:
    """Stands in for the real workflow: two steps done, the third running, until told to finish."""

    def __init__(self) -> None:
        self._done = False

    @workflow.run
    async def run(self, _request: BootstrapInput) -> None:
        await workflow.wait_condition(lambda: self._done)

    @workflow.signal
    def finish(self) -> None:
        self._done = True

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        now = workflow.now().isoformat()
        steps = [StepProgress(name, "completed", now, now) for name in BOOTSTRAP_STEPS[:2]]
        steps.append(StepProgress(BOOTSTRAP_STEPS[2], "running", now))
        steps += [StepProgress(name) for name in BOOTSTRAP_STEPS[3:]]
        return Progress(status="running", current_step=BOOTSTRAP_STEPS[2], steps=steps)


async def test_a_running_bootstrap_reports_the_workflows_live_progress(
    database_url: str, temporal: WorkflowEnvironment
) -> None:
    queue = f"live-{uuid.uuid4().hex[:8]}"  # its own queue: the stand-in must not pick up other tests' starts
    async with (
        running_provisioning(service_env(database_url, queue), temporal.client) as service,
        # Unsandboxed: the sandbox would re-import this test module by a name importlib mode does not know.
        Worker(
            temporal.client,
            task_queue=queue,
            workflows=[HalfwayBootstrap],
            workflow_runner=UnsandboxedWorkflowRunner(),
        ),
    ):
        started = await service.stub.BootstrapOrganization(bootstrap_request(unique("live")))
        reply = await service.stub.GetBootstrap(
            pb.GetBootstrapRequest(organization_id=started.organization_id)
        )
        handle = temporal.client.get_workflow_handle(started.workflow_id)
        await handle.signal("finish")
        async with asyncio.timeout(30):  # a broken stand-in must fail the test, not hang it
            await handle.result()

    view = reply.bootstrap
    assert view.status == pb.BOOTSTRAP_STATUS_RUNNING  # ahead of the events, which only say initiated
    assert view.current_step == "start_subdomain"
    assert [s.state for s in view.steps][:4] == [
        pb.STEP_STATE_COMPLETED,
        pb.STEP_STATE_COMPLETED,
        pb.STEP_STATE_RUNNING,
        pb.STEP_STATE_PENDING,
    ]
    assert view.steps[2].HasField("started_at")
    assert not view.steps[2].HasField("finished_at")


async def test_the_lifecycle_status_is_read_and_filtered(service: Running) -> None:
    offboarding = [EventType.OFFBOARDING_STARTED, EventType.OFFBOARDING_DNS_RECORDS_REMOVED]
    active_id, _ = await seed(service, COMPLETED_BOOTSTRAP)
    leaving_id, leaving_slug = await seed(service, COMPLETED_BOOTSTRAP + offboarding)
    gone_id, _ = await seed(service, COMPLETED_BOOTSTRAP + offboarding + [EventType.OFFBOARDED])

    leaving = (await service.stub.GetOrganization(pb.GetOrganizationRequest(slug=leaving_slug))).organization
    assert (leaving.lifecycle_status, leaving.offboarding_reason) == (
        pb.LIFECYCLE_STATUS_OFFBOARDING,
        "contract ended",
    )
    assert leaving.HasField("offboarding_started_at")
    assert not leaving.HasField("offboarded_at")
    assert leaving.subdomain_status == pb.SUBDOMAIN_STATUS_REMOVED

    expected = {
        pb.LIFECYCLE_STATUS_ACTIVE: active_id,
        pb.LIFECYCLE_STATUS_OFFBOARDING: leaving_id,
        pb.LIFECYCLE_STATUS_OFFBOARDED: gone_id,
    }
    for status, organization_id in expected.items():
        reply = await service.stub.ListOrganizations(
            pb.ListOrganizationsRequest(lifecycle_status=status, page_size=500)
        )
        ids = {o.id for o in reply.organizations}
        assert str(organization_id) in ids
        assert ids.isdisjoint(str(other) for other in expected.values() if other != organization_id)
        assert {o.lifecycle_status for o in reply.organizations} == {status}

    error = await rpc_error(service.stub.ListOrganizations(pb.ListOrganizationsRequest(lifecycle_status=9)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
