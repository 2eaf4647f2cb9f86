"""BootstrapOrganization starts one workflow per organization, whatever the concurrency or the retries."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import grpc
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.timing import eventually
from a4c.eventstore import BootstrapState, EventType, SubdomainStatus
from a4c.provisioning.bootstrap import organization_id_for
from a4c.workflows.models import BootstrapInput, StepTimeouts, VerificationPolicy

from .helpers import (
    Running,
    bootstrap_id,
    bootstrap_request,
    insert_claim,
    rpc_error,
    running_provisioning,
    service_env,
    unique,
    workflow_exists,
    workflow_ids_for_slug,
)


async def one_workflow_for(service: Running, slug: str) -> None:
    async def listed() -> bool:
        return len(await workflow_ids_for_slug(service.temporal, slug)) >= 1

    await eventually(listed)
    assert len(await workflow_ids_for_slug(service.temporal, slug)) == 1


async def claims_for(service: Running, slug: str) -> int:
    count: int = await service.store.pool.fetchval("SELECT count(*) FROM slug_claims WHERE slug = $1", slug)
    return count


async def test_a_bootstrap_starts_the_workflow_then_records_it(service: Running) -> None:
    slug = unique("acme")
    reply = await service.stub.BootstrapOrganization(bootstrap_request(slug))

    organization_id = uuid.UUID(reply.organization_id)
    assert reply.workflow_id == bootstrap_id(organization_id)
    assert reply.subdomain_fqdn == f"{slug}.firstovertheline.com"
    assert not reply.already_existed
    assert await workflow_exists(service.temporal, reply.workflow_id)
    (initiated,) = await service.store.read_stream(organization_id)
    assert initiated.event_type == EventType.TEMPORAL_INITIATED
    assert initiated.data == {
        "workflow_id": reply.workflow_id,
        "name": f"Acme Health {slug}",
        "slug": slug,
        "subdomain_fqdn": reply.subdomain_fqdn,
        "admin_email": f"ada@{slug}.example",
    }
    assert initiated.processing_error is None
    row = await service.store.get_organization(organization_id)
    assert (row.slug, row.bootstrap_status, row.subdomain_status) == (
        slug,
        BootstrapState.INITIATED,
        SubdomainStatus.PENDING,
    )
    assert await service.store.pool.fetchval(
        "SELECT confirmed_at IS NOT NULL FROM slug_claims WHERE slug = $1", slug
    )


async def test_fifty_identical_concurrent_requests_give_one_workflow_and_one_organization(
    service: Running,
) -> None:
    slug = unique("same")
    replies = await asyncio.gather(
        *(service.stub.BootstrapOrganization(bootstrap_request(slug)) for _ in range(50))
    )

    assert len({r.organization_id for r in replies}) == 1
    assert sum(not r.already_existed for r in replies) == 1
    await one_workflow_for(service, slug)
    events = await service.store.read_stream(uuid.UUID(replies[0].organization_id))
    assert [e.event_type for e in events] == [EventType.TEMPORAL_INITIATED]
    assert await claims_for(service, slug) == 1


async def test_fifty_requests_with_one_request_id_give_one_workflow_and_one_organization(
    service: Running,
) -> None:
    slug, request_id = unique("keyed"), f"req-{uuid.uuid4()}"
    request = bootstrap_request(slug, request_id=request_id)
    replies = await asyncio.gather(*(service.stub.BootstrapOrganization(request) for _ in range(50)))

    assert {r.organization_id for r in replies} == {str(organization_id_for(request_id))}
    assert sum(not r.already_existed for r in replies) == 1
    await one_workflow_for(service, slug)


async def test_fifty_different_requests_racing_for_one_slug_leave_one_winner(service: Running) -> None:
    slug = unique("race")
    requests = [
        bootstrap_request(slug, name=f"Contender {i}", request_id=f"race-{uuid.uuid4()}") for i in range(50)
    ]
    outcomes = await asyncio.gather(
        *(service.stub.BootstrapOrganization(r) for r in requests), return_exceptions=True
    )

    winners = [o for o in outcomes if not isinstance(o, BaseException)]
    losers = [o for o in outcomes if isinstance(o, grpc.aio.AioRpcError)]
    assert len(winners) == 1
    assert len(losers) == 49
    assert {e.code() for e in losers} == {grpc.StatusCode.ALREADY_EXISTS}
    await one_workflow_for(service, slug)
    row = await service.store.get_organization_by_slug(slug)
    assert str(row.id) == winners[0].organization_id
    for request in requests:
        loser = organization_id_for(request.request_id)
        if str(loser) != winners[0].organization_id:
            assert not await workflow_exists(service.temporal, bootstrap_id(loser))


async def test_a_retried_request_returns_the_same_bootstrap(service: Running) -> None:
    request = bootstrap_request(unique("retry"), request_id=f"retry-{uuid.uuid4()}")
    first = await service.stub.BootstrapOrganization(request)
    second = await service.stub.BootstrapOrganization(request)

    assert (second.organization_id, second.workflow_id, second.subdomain_fqdn) == (
        first.organization_id,
        first.workflow_id,
        first.subdomain_fqdn,
    )
    assert (first.already_existed, second.already_existed) == (False, True)
    assert len(await service.store.read_stream(uuid.UUID(first.organization_id))) == 1


async def test_the_same_values_sent_again_under_a_new_request_id_are_the_same_bootstrap(
    service: Running,
) -> None:
    slug = unique("resent")  # e.g. a re-run CLI command: it makes a new request id every time
    first = await service.stub.BootstrapOrganization(bootstrap_request(slug, request_id=f"a-{uuid.uuid4()}"))
    again = await service.stub.BootstrapOrganization(bootstrap_request(slug, request_id=f"b-{uuid.uuid4()}"))

    assert again.organization_id == first.organization_id
    assert (first.already_existed, again.already_existed) == (False, True)
    await one_workflow_for(service, slug)


async def test_a_finished_bootstrap_is_not_started_again(service: Running) -> None:
    request = bootstrap_request(unique("closed"), request_id=f"closed-{uuid.uuid4()}")
    first = await service.stub.BootstrapOrganization(request)
    handle = service.temporal.get_workflow_handle(first.workflow_id)
    run_id = (await handle.describe()).run_id
    await handle.terminate("test: pretend it failed")

    again = await service.stub.BootstrapOrganization(request)

    assert again.already_existed
    assert again.organization_id == first.organization_id
    described = await handle.describe()
    assert (described.run_id, described.status) == (run_id, WorkflowExecutionStatus.TERMINATED)


async def test_a_request_id_reused_for_another_slug_or_other_values_is_refused(service: Running) -> None:
    request_id = f"reused-{uuid.uuid4()}"
    slug = unique("first")
    await service.stub.BootstrapOrganization(bootstrap_request(slug, request_id=request_id))

    other_slug = unique("second")
    details = await rpc_error(
        service.stub.BootstrapOrganization(bootstrap_request(other_slug, request_id=request_id))
    )
    assert (details.code, details.fields, details.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        {"request_id"},
        "REQUEST_ID_REUSED",
    )
    assert await claims_for(service, other_slug) == 0

    changed = bootstrap_request(slug, request_id=request_id, name="Another Name")
    details = await rpc_error(service.stub.BootstrapOrganization(changed))
    assert (details.code, details.fields) == (grpc.StatusCode.ALREADY_EXISTS, {"request_id"})


async def test_a_stale_claim_whose_start_never_happened_is_taken_over(service: Running) -> None:
    slug, abandoned = unique("stale"), uuid.uuid4()
    await insert_claim(service, slug, abandoned, age=timedelta(hours=1))  # its owner crashed before starting

    reply = await service.stub.BootstrapOrganization(bootstrap_request(slug))

    assert reply.organization_id != str(abandoned)
    assert await workflow_exists(service.temporal, reply.workflow_id)
    owner = await service.store.pool.fetchval("SELECT organization_id FROM slug_claims WHERE slug = $1", slug)
    assert str(owner) == reply.organization_id


async def test_a_stale_claim_whose_workflow_did_start_keeps_its_slug(service: Running) -> None:
    slug, owner = unique("started"), uuid.uuid4()
    await insert_claim(service, slug, owner, age=timedelta(hours=1))  # its owner crashed after starting
    await service.temporal.start_workflow(
        "BootstrapOrganizationWorkflow", id=bootstrap_id(owner), task_queue="nobody"
    )

    details = await rpc_error(service.stub.BootstrapOrganization(bootstrap_request(slug)))

    assert (details.code, details.fields) == (grpc.StatusCode.ALREADY_EXISTS, {"slug"})
    confirmed = await service.store.pool.fetchval(
        "SELECT confirmed_at IS NOT NULL FROM slug_claims WHERE slug = $1", slug
    )
    assert confirmed


async def test_a_fresh_claim_of_another_request_is_respected(service: Running) -> None:
    slug = unique("fresh")
    await insert_claim(service, slug, uuid.uuid4())  # another request, starting right now
    details = await rpc_error(service.stub.BootstrapOrganization(bootstrap_request(slug)))
    assert (details.code, details.fields, details.reason) == (
        grpc.StatusCode.ALREADY_EXISTS,
        {"slug"},
        "SLUG_TAKEN",
    )
    assert await workflow_ids_for_slug(service.temporal, slug) == []


async def test_the_workflow_input_carries_the_configured_policy(
    database_url: str, temporal: WorkflowEnvironment
) -> None:
    env = service_env(
        database_url,
        f"input-{uuid.uuid4().hex[:8]}",
        A4C_BASE_DOMAIN="tenants.example.org",
        A4C_SUBDOMAIN_TARGET="edge.{base_domain}",
        A4C_SUBDOMAIN_PROXIED="false",
        A4C_VERIFY_FIRST_CHECK_SECONDS="1",
        A4C_VERIFY_INITIAL_INTERVAL_SECONDS="2",
        A4C_VERIFY_BACKOFF="3",
        A4C_VERIFY_MAX_INTERVAL_SECONDS="4",
        A4C_VERIFY_DEADLINE_SECONDS="5",
        A4C_STEP_ATTEMPT_SECONDS="6",
        A4C_STEP_TOTAL_SECONDS="7",
    )
    async with running_provisioning(env, temporal.client) as service:
        slug = unique("configured")
        reply = await service.stub.BootstrapOrganization(
            bootstrap_request(slug, admin_email=" Ada@Acme-Health.EXAMPLE ")
        )
        history = await service.temporal.get_workflow_handle(reply.workflow_id).fetch_history()

    started = history.events[0].workflow_execution_started_event_attributes
    (sent,) = await temporal.client.data_converter.decode(started.input.payloads, [BootstrapInput])
    assert reply.subdomain_fqdn == f"{slug}.tenants.example.org"
    assert sent.admin_email == "Ada@acme-health.example"
    assert sent.subdomain.zone == "tenants.example.org"
    assert sent.subdomain.fqdn == reply.subdomain_fqdn
    assert sent.subdomain.target == "edge.tenants.example.org"
    assert sent.subdomain.proxied is False
    assert sent.subdomain.verification == VerificationPolicy(1, 2, 3, 4, 5)
    assert sent.subdomain.timeouts == sent.timeouts == StepTimeouts(6, 7)
    # The role/invite policy is the identity service's: nothing of it travels in the workflow input.
    assert not {"role_keys", "invite_url_template", "application_name"} & set(vars(sent))
