"""Offboarding's activities: each does one step through our services (or Temporal) and records its event.

As in a4c.worker.activities, the call and its event append are one activity: a retry repeats an
idempotent call (nothing left to stop, to remove, to deactivate) and then appends an event whose
deterministic id makes the second append a no-op. Ids are scoped by workflow id *and run*: an
organization whose offboarding was cancelled may be offboarded again later under the same workflow id.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.service import RPCError, RPCStatusCode

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.eventstore import EventStore, EventType
from a4c.worker import events
from a4c.worker.activities import call_request_id, record_type
from a4c.worker.grpc_errors import unary
from a4c.worker.steady import steady
from a4c.workflows.models import EventToRecord, subdomain_workflow_id
from a4c.workflows.offboarding import OffboardStep, OffboardTarget


class OffboardingActivities:
    """Steps of OffboardOrganizationWorkflow against Temporal, the DNS and the identity services."""

    def __init__(
        self,
        client: Client | None,
        dns: dns_pb2_grpc.DnsServiceAsyncStub,
        identity: identity_pb2_grpc.IdentityServiceAsyncStub,
        store: EventStore,
    ) -> None:
        self._client = client
        self._dns = dns
        self._identity = identity
        self._store = store

    async def _record(
        self, target: OffboardTarget, event_type: EventType, step: str, data: dict[str, Any]
    ) -> None:
        event = EventToRecord(
            target.organization_id, event_type, step, data, dedup_scope=events.run_scope(), actor=target.actor
        )
        await events.append(self._store, event)

    @activity.defn(name="stop_subdomain_workflow")
    @steady
    async def stop_subdomain_workflow(self, target: OffboardTarget) -> bool:
        """Cancel a running subdomain workflow and wait until it has closed, so that it cannot create
        the record again after the next step removed it. True when one was running."""
        if self._client is None:
            raise RuntimeError("the worker was built without a Temporal client for offboarding")
        handle = self._client.get_workflow_handle(subdomain_workflow_id(target.organization_id))
        try:
            running = (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
            running = False
        if running:
            try:
                await handle.cancel(reason="offboarding")
                await handle.result(follow_runs=False)
            except WorkflowFailureError:
                pass  # closed as cancelled (or failed): stopped all the same
            except RPCError as error:
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
        await self._record(
            target,
            EventType.OFFBOARDING_SUBDOMAIN_STOPPED,
            OffboardStep.STOP_SUBDOMAIN,
            {"was_running": running},
        )
        return running

    @activity.defn(name="remove_owned_dns_records")
    @steady
    async def remove_owned_dns_records(self, target: OffboardTarget) -> list[str]:
        """Delete the records on the organization's name that carry its ownership marker; the DNS
        service checks the marker again (`owner`), so a record someone else owns stays."""
        listing = await unary(
            self._dns.ListRecords,
            dns_pb2.ListRecordsRequest(
                zone=target.zone, name=target.fqdn, type=record_type(target.record_type)
            ),
        )
        deleted: list[str] = []
        for record in listing.records:
            if not (record.managed and record.owner == target.organization_id):
                continue
            reply = await unary(
                self._dns.DeleteRecord,
                dns_pb2.DeleteRecordRequest(
                    zone=target.zone, id=record.id, owner=target.organization_id, request_id=call_request_id()
                ),
            )
            if reply.deleted:
                deleted.append(record.id)
        data: dict[str, Any] = {"fqdn": target.fqdn, "dns_record_ids": deleted}
        await self._record(
            target, EventType.OFFBOARDING_DNS_RECORDS_REMOVED, OffboardStep.REMOVE_DNS_RECORDS, data
        )
        return deleted

    @activity.defn(name="deactivate_identity_organization")
    @steady
    async def deactivate_identity_organization(self, target: OffboardTarget) -> bool:
        reply = await unary(
            self._identity.DeactivateOrganization,
            identity_pb2.DeactivateOrganizationRequest(
                organization_id=target.organization_id, request_id=call_request_id()
            ),
        )
        await self._record(
            target,
            EventType.OFFBOARDING_IDENTITY_DEACTIVATED,
            OffboardStep.DEACTIVATE_IDENTITY,
            {"changed": reply.changed},
        )
        return reply.changed

    @activity.defn(name="reactivate_identity_organization")
    @steady
    async def reactivate_identity_organization(self, target: OffboardTarget) -> bool:
        reply = await unary(
            self._identity.ReactivateOrganization,
            identity_pb2.ReactivateOrganizationRequest(
                organization_id=target.organization_id, request_id=call_request_id()
            ),
        )
        await self._record(
            target,
            EventType.OFFBOARDING_IDENTITY_REACTIVATED,
            OffboardStep.REACTIVATE_IDENTITY,
            {"changed": reply.changed},
        )
        return reply.changed

    @activity.defn(name="delete_offboarded_identity_organization")
    @steady
    async def delete_identity_organization(self, target: OffboardTarget) -> bool:
        reply = await unary(
            self._identity.DeleteOrganization,
            identity_pb2.DeleteOrganizationRequest(
                organization_id=target.organization_id, request_id=call_request_id()
            ),
        )
        await self._record(
            target,
            EventType.OFFBOARDING_IDENTITY_DELETED,
            OffboardStep.DELETE_IDENTITY,
            {"deleted": reply.deleted},
        )
        return reply.deleted
