"""CancelBootstrap and RetrySubdomain: only in the states that allow them, and idempotent."""

from __future__ import annotations

import grpc

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.eventstore import EventType
from a4c.workflows import search
from a4c.workflows.models import SubdomainInput

from .helpers import (
    COMPLETED_BOOTSTRAP,
    SUBDOMAIN_ACTIVE,
    SUBDOMAIN_FAILED,
    Running,
    bootstrap_request,
    rpc_error,
    seed,
    unique,
    workflow_exists,
)


async def test_cancelling_a_running_bootstrap_requests_cancellation_with_the_reason(service: Running) -> None:
    started = await service.stub.BootstrapOrganization(bootstrap_request(unique("cancel")))
    request = pb.CancelBootstrapRequest(organization_id=started.organization_id, reason="wrong tenant")

    reply = await service.stub.CancelBootstrap(request)

    assert reply.cancel_requested
    assert reply.status == pb.BOOTSTRAP_STATUS_INITIATED  # compensation runs in the workflow, later
    history = await service.temporal.get_workflow_handle(started.workflow_id).fetch_history()
    requested = [
        e for e in history.events if e.HasField("workflow_execution_cancel_requested_event_attributes")
    ]
    assert len(requested) == 1
    assert requested[0].workflow_execution_cancel_requested_event_attributes.cause == "wrong tenant"


async def test_cancelling_a_finished_bootstrap_does_nothing(service: Running) -> None:
    organization_id, slug = await seed(service, COMPLETED_BOOTSTRAP, "control")
    reply = await service.stub.CancelBootstrap(pb.CancelBootstrapRequest(slug=slug))
    assert (reply.cancel_requested, reply.status) == (False, pb.BOOTSTRAP_STATUS_COMPLETED)
    assert len(await service.store.read_stream(organization_id)) == len(COMPLETED_BOOTSTRAP)


async def test_a_cancellation_reason_must_be_printable(service: Running) -> None:
    _, slug = await seed(service, COMPLETED_BOOTSTRAP[:2], "control")
    details = await rpc_error(
        service.stub.CancelBootstrap(pb.CancelBootstrapRequest(slug=slug, reason="a\x00b"))
    )
    assert (details.code, details.fields) == (grpc.StatusCode.INVALID_ARGUMENT, {"reason"})


async def test_a_failed_subdomain_of_a_completed_bootstrap_is_provisioned_again_once(
    service: Running,
) -> None:
    organization_id, slug = await seed(service, [*COMPLETED_BOOTSTRAP, *SUBDOMAIN_FAILED], "control")
    first = await service.stub.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug))
    second = await service.stub.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug))

    assert first.workflow_id == f"org-subdomain-{organization_id}"
    assert (second.workflow_id, second.run_id) == (first.workflow_id, first.run_id)  # the running one
    handle = service.temporal.get_workflow_handle(first.workflow_id)
    described = await handle.describe()
    assert described.typed_search_attributes.get(search.ORG_SLUG) == slug
    history = await handle.fetch_history()
    started = history.events[0].workflow_execution_started_event_attributes
    (sent,) = await service.temporal.data_converter.decode(started.input.payloads, [SubdomainInput])
    assert (sent.organization_id, sent.fqdn, sent.zone) == (
        str(organization_id),
        f"{slug}.firstovertheline.com",
        "firstovertheline.com",
    )
    assert (sent.record_type, sent.target, sent.proxied) == ("CNAME", "app.firstovertheline.com", True)


async def test_a_subdomain_retry_is_refused_unless_the_bootstrap_completed_and_the_subdomain_failed(
    service: Running,
) -> None:
    cases = [
        (COMPLETED_BOOTSTRAP[:3], "BOOTSTRAP_NOT_COMPLETED"),
        ([*COMPLETED_BOOTSTRAP[:3], EventType.BOOTSTRAP_FAILED], "BOOTSTRAP_NOT_COMPLETED"),
        ([*COMPLETED_BOOTSTRAP, *SUBDOMAIN_ACTIVE[:2]], "SUBDOMAIN_NOT_RETRYABLE"),
        ([*COMPLETED_BOOTSTRAP, *SUBDOMAIN_ACTIVE], "SUBDOMAIN_NOT_RETRYABLE"),
    ]
    for types, reason in cases:
        organization_id, slug = await seed(service, types, "control")
        details = await rpc_error(service.stub.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug)))
        assert (details.code, details.reason) == (grpc.StatusCode.FAILED_PRECONDITION, reason)
        assert not await workflow_exists(service.temporal, f"org-subdomain-{organization_id}")


async def test_a_removed_subdomain_can_be_retried(service: Running) -> None:
    _, slug = await seed(
        service, [*COMPLETED_BOOTSTRAP, *SUBDOMAIN_ACTIVE[:2], EventType.SUBDOMAIN_DNS_RECORD_DELETED]
    )
    reply = await service.stub.RetrySubdomain(pb.RetrySubdomainRequest(slug=slug))
    assert reply.run_id
