"""Provisioning's principals: each scope gates its methods, the actor reaches the events and the
workflows' input, and one principal's bootstraps are rate limited."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator

import grpc
import pytest_asyncio
from temporalio.testing import WorkflowEnvironment

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.eventstore import EventType
from a4c.workflows.models import subdomain_workflow_id

from .helpers import (
    ACTOR,
    COMPLETED_BOOTSTRAP,
    SUBDOMAIN_FAILED,
    TOKEN,
    Running,
    bootstrap_request,
    rpc_error,
    running_provisioning,
    seed,
    service_env,
    unique,
    workflow_ids_for_slug,
)

CONSOLE_TOKEN = "provisioning-console-token-0123456789"  # read only
BOOTSTRAPPER_TOKEN = "provisioning-bootstrapper-token-0123456789"  # read and bootstrap, no operate


@pytest_asyncio.fixture(scope="module")
async def scoped(database_url: str, temporal: WorkflowEnvironment) -> AsyncIterator[Running]:
    """A service whose principals hold one, two and all three scopes; bootstraps limited to 2 at once."""
    principals = ",".join(
        [
            f"{ACTOR}:read+bootstrap+operate:{TOKEN}",
            f"console:read:{CONSOLE_TOKEN}",
            f"bootstrapper:read+bootstrap:{BOOTSTRAPPER_TOKEN}",
        ]
    )
    env = service_env(
        database_url,
        f"provisioning-scopes-{uuid.uuid4().hex[:8]}",
        A4C_AUTH_PRINCIPALS=principals,
        A4C_BOOTSTRAP_BURST="2",
        A4C_BOOTSTRAP_RATE_PER_MINUTE="1",
    )
    async with running_provisioning(env, temporal.client) as running:
        yield running


def stub(
    service: Running, token: str
) -> tuple[grpc.aio.Channel, provisioning_pb2_grpc.ProvisioningServiceAsyncStub]:
    channel = open_channel(service.address, token=token)
    return channel, provisioning_pb2_grpc.ProvisioningServiceStub(channel)


async def test_a_read_principal_cannot_bootstrap_and_nothing_is_left_behind(scoped: Running) -> None:
    slug = unique("console")
    channel, console = stub(scoped, CONSOLE_TOKEN)
    async with channel:
        details = await rpc_error(console.BootstrapOrganization(bootstrap_request(slug)))
        assert (details.code, details.message) == (
            grpc.StatusCode.PERMISSION_DENIED,
            "missing scope 'bootstrap'",
        )
        missing = await rpc_error(console.GetOrganization(pb.GetOrganizationRequest(slug=slug)))
        assert missing.code == grpc.StatusCode.NOT_FOUND  # it may read: nothing was created
    assert await workflow_ids_for_slug(scoped.temporal, slug) == []
    claimed = await scoped.store.pool.fetchval("SELECT count(*) FROM slug_claims WHERE slug = $1", slug)
    assert claimed == 0


async def test_cancel_and_retry_need_the_operate_scope(scoped: Running) -> None:
    _, slug = await seed(scoped, [*COMPLETED_BOOTSTRAP, *SUBDOMAIN_FAILED], "operate")
    for token in (CONSOLE_TOKEN, BOOTSTRAPPER_TOKEN):
        channel, caller = stub(scoped, token)
        async with channel:
            retry = await rpc_error(caller.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug)))
            cancel = await rpc_error(caller.CancelBootstrap(pb.CancelBootstrapRequest(slug=slug)))
        assert (retry.code, retry.message) == (grpc.StatusCode.PERMISSION_DENIED, "missing scope 'operate'")
        assert (cancel.code, cancel.message) == (grpc.StatusCode.PERMISSION_DENIED, "missing scope 'operate'")


async def test_an_unknown_credential_is_unauthenticated(scoped: Running) -> None:
    channel, stranger = stub(scoped, "not-a-known-token-0123456789")
    async with channel:
        details = await rpc_error(stranger.GetOrganization(pb.GetOrganizationRequest(slug="acme")))
    assert details.code == grpc.StatusCode.UNAUTHENTICATED


def _input_of(history_event: object) -> dict[str, object]:
    payload = history_event.workflow_execution_started_event_attributes.input.payloads[0]  # type: ignore[attr-defined]
    decoded: dict[str, object] = json.loads(payload.data)
    return decoded


async def test_the_actor_is_in_the_bootstraps_event_and_its_workflows_input(scoped: Running) -> None:
    channel, bootstrapper = stub(scoped, BOOTSTRAPPER_TOKEN)
    async with channel:
        started = await bootstrapper.BootstrapOrganization(bootstrap_request(unique("actor")))
    events = await scoped.store.read_stream(uuid.UUID(started.organization_id))
    assert [(e.event_type, e.metadata["actor"]) for e in events] == [
        (EventType.TEMPORAL_INITIATED, "bootstrapper")
    ]
    history = await scoped.temporal.get_workflow_handle(started.workflow_id).fetch_history()
    workflow_input = _input_of(history.events[0])
    assert workflow_input["actor"] == "bootstrapper"
    subdomain = workflow_input["subdomain"]
    assert isinstance(subdomain, dict)
    assert subdomain["actor"] == "bootstrapper"  # the child workflow's events record it too


async def test_a_retry_records_the_operator_as_the_actor_of_its_workflow(scoped: Running) -> None:
    organization_id, slug = await seed(scoped, [*COMPLETED_BOOTSTRAP, *SUBDOMAIN_FAILED], "retry-actor")
    channel, operator = stub(scoped, TOKEN)
    async with channel:
        await operator.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug))
    handle = scoped.temporal.get_workflow_handle(subdomain_workflow_id(str(organization_id)))
    history = await handle.fetch_history()
    assert _input_of(history.events[0])["actor"] == ACTOR


async def test_bootstraps_are_rate_limited_per_principal_with_retry_info(scoped: Running) -> None:
    # The bootstrapper may have spent its burst above; the operator's bucket is its own.
    channel, operator = stub(scoped, TOKEN)
    async with channel:
        allowed = [await operator.BootstrapOrganization(bootstrap_request(unique("rate"))) for _ in range(2)]
        refused_slug = unique("rate")
        details = await rpc_error(operator.BootstrapOrganization(bootstrap_request(refused_slug)))
    assert all(reply.organization_id for reply in allowed)
    assert (details.code, details.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
    assert details.retry_delay is not None
    assert 0 < details.retry_delay <= 60  # one a minute
    assert await workflow_ids_for_slug(scoped.temporal, refused_slug) == []  # refused before anything
