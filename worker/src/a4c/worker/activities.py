"""Activities: each calls one of our gRPC services through its generated stub and records its event.

Doing the call and the append in one activity keeps "every step is an event" true without an extra
round trip: a retry after a failed append repeats an idempotent call (created=false) and then
appends the event whose deterministic id makes a second append a no-op. The invitation is the
exception: an email cannot be taken back, so `send_invitation` only sends and the workflow appends
its event in a step of its own (a database outage then retries the append, never the email).

Every activity that changes the world is `@steady`: it heartbeats and, once started, runs to the
end even when cancelled, so the workflow compensates knowing what the step did.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.eventstore import EventStore, EventType
from a4c.worker import domain_metrics, events
from a4c.worker.grpc_errors import unary
from a4c.worker.steady import steady
from a4c.workflows.models import (
    BootstrapInput,
    BootstrapStep,
    CleanupInput,
    Compensation,
    EventToRecord,
    GrantInput,
    IdentityCreated,
    InvitationSent,
    InviteInput,
    RecordCreated,
    SubdomainInput,
    SubdomainStep,
)

NOT_PROPAGATED = "NotPropagated"


def call_request_id() -> str:
    """Our services log the request id; the workflow id ties their lines to the workflow."""
    return activity.info().workflow_id or ""


def invitation_request_id() -> str:
    """Names the bootstrap's one invitation for the identity service, which mails a request id once:
    derived from the workflow id, the same on every attempt, every worker and both code paths."""
    return f"{activity.info().workflow_id}.invitation"


def record_type(name: str) -> dns_pb2.RecordType.ValueType:
    return dns_pb2.RecordType.Value(f"RECORD_TYPE_{name.upper()}")


def invitation_event(organization_id: str, sent: InvitationSent, actor: str = "") -> EventToRecord:
    """user.invitation.sent, the same event (and id) whether the workflow or the legacy step appends it."""
    data = {"user_id": sent.user_id, "email": sent.email}
    return EventToRecord(
        organization_id, EventType.USER_INVITATION_SENT, BootstrapStep.INVITE, data, actor=actor
    )


class EventActivities:
    """Appends workflow events that have no upstream call of their own (run as local activities)."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="record_event")
    @steady
    async def record_event(self, event: EventToRecord) -> int:
        sequence = await events.append(self._store, event)
        domain_metrics.event_recorded(event.event_type)
        return sequence


class IdentityActivities:
    """Steps against the identity service (Zitadel behind it)."""

    def __init__(self, stub: identity_pb2_grpc.IdentityServiceAsyncStub, store: EventStore) -> None:
        self._stub = stub
        self._store = store

    @activity.defn(name="create_identity_organization")
    @steady
    async def create_identity_organization(self, request: BootstrapInput) -> IdentityCreated:
        reply = await unary(
            self._stub.CreateOrganization,
            identity_pb2.CreateOrganizationRequest(
                organization_id=request.organization_id,
                name=request.name,
                admin=identity_pb2.Admin(
                    email=request.admin_email,
                    given_name=request.admin_given_name,
                    family_name=request.admin_family_name,
                ),
                request_id=call_request_id(),
            ),
        )
        created = IdentityCreated(reply.organization.id, reply.admin_user_id, reply.created)
        await events.append(
            self._store,
            EventToRecord(
                request.organization_id,
                EventType.ZITADEL_CREATED,
                BootstrapStep.IDENTITY,
                {"identity_org_id": created.identity_organization_id, "admin_user_id": created.admin_user_id},
                actor=request.actor,
            ),
        )
        return created

    @activity.defn(name="grant_admin_role")
    @steady
    async def grant_admin_role(self, request: GrantInput) -> str:
        reply = await unary(
            self._stub.GrantRole,
            identity_pb2.GrantRoleRequest(
                organization_id=request.organization_id,
                user_id=request.admin_user_id,
                request_id=call_request_id(),
            ),
        )
        await events.append(
            self._store,
            EventToRecord(
                request.organization_id,
                EventType.USER_ROLE_ASSIGNED,
                BootstrapStep.ROLE,
                {
                    "user_id": request.admin_user_id,
                    "role_keys": list(reply.role_keys),
                    "grant_id": reply.grant_id,
                },
                actor=request.actor,
            ),
        )
        return reply.grant_id

    @activity.defn(name="send_invitation")
    @steady
    async def send_invitation(self, request: InviteInput) -> InvitationSent:
        """Only the email: its event is the workflow's next step, so retrying that never mails again.

        The request id is the workflow id, the same on every attempt and every worker, so an identity
        service that remembers served request ids answers a repeat without sending a second email.
        """
        reply = await unary(
            self._stub.SendInvitation,
            identity_pb2.SendInvitationRequest(
                organization_id=request.organization_id,
                user_id=request.admin_user_id,
                request_id=invitation_request_id(),
            ),
        )
        if reply.already_sent:
            activity.logger.info("invitation already sent for this request id: nothing mailed")
        return InvitationSent(request.admin_user_id, reply.email)

    @activity.defn(name="send_admin_invitation")
    @steady
    async def send_admin_invitation(self, request: InviteInput) -> str:
        """Send and append in one (a retried append re-sends): kept only for bootstraps started before
        the split (`workflow.patched` in the bootstrap), remove once none of those is left running."""
        sent = await self.send_invitation(request)
        await events.append(self._store, invitation_event(request.organization_id, sent, request.actor))
        return sent.email

    @activity.defn(name="delete_identity_organization")
    @steady
    async def delete_identity_organization(self, request: CleanupInput) -> bool:
        reply = await unary(
            self._stub.DeleteOrganization,
            identity_pb2.DeleteOrganizationRequest(
                organization_id=request.organization_id, request_id=call_request_id()
            ),
        )
        return reply.deleted


class DnsActivities:
    """Steps against the DNS service (Cloudflare and the authoritative nameservers behind it)."""

    def __init__(self, stub: dns_pb2_grpc.DnsServiceAsyncStub, store: EventStore) -> None:
        self._stub = stub
        self._store = store

    @activity.defn(name="create_dns_record")
    @steady
    async def create_dns_record(self, request: SubdomainInput) -> RecordCreated:
        reply = await unary(
            self._stub.CreateRecord,
            dns_pb2.CreateRecordRequest(
                zone=request.zone,
                name=request.fqdn,
                type=record_type(request.record_type),
                content=request.target,
                ttl=1,
                proxied=request.proxied,
                owner=request.organization_id,
                request_id=call_request_id(),
            ),
        )
        await events.append(
            self._store,
            EventToRecord(
                request.organization_id,
                EventType.SUBDOMAIN_DNS_RECORD_CREATED,
                SubdomainStep.DNS_RECORD,
                {"dns_record_id": reply.record.id, "fqdn": reply.record.name},
                dedup_scope=events.run_scope(),
                actor=request.actor,
            ),
        )
        return RecordCreated(reply.record.id, reply.created)

    @activity.defn(name="check_propagation")
    async def check_propagation(self, request: SubdomainInput) -> None:
        """One check; "not yet" is a retryable failure so Temporal's retry policy spaces the checks."""
        reply = await unary(
            self._stub.CheckPropagation,
            dns_pb2.CheckPropagationRequest(
                zone=request.zone,
                name=request.fqdn,
                type=record_type(request.record_type),
                expected_content=request.target,
                proxied=request.proxied,
            ),
        )
        domain_metrics.verification_attempt(reply.propagated)
        if not reply.propagated:
            pending = [
                f"{a.nameserver}: {a.rcode} {a.detail}".strip() for a in reply.answers if not a.matches
            ]
            raise ApplicationError(f"{request.fqdn} not yet propagated", pending, type=NOT_PROPAGATED)

    @activity.defn(name="remove_dns_record")
    @steady
    async def remove_dns_record(self, request: CleanupInput) -> list[str]:
        """Delete every record on the name that this organization owns (compensation)."""
        listing = await unary(
            self._stub.ListRecords,
            dns_pb2.ListRecordsRequest(
                zone=request.zone, name=request.fqdn, type=record_type(request.record_type)
            ),
        )
        deleted: list[str] = []
        for record in listing.records:
            if record.managed and record.owner == request.organization_id:
                reply = await unary(
                    self._stub.DeleteRecord,
                    dns_pb2.DeleteRecordRequest(
                        zone=request.zone,
                        id=record.id,
                        owner=request.organization_id,
                        request_id=call_request_id(),
                    ),
                )
                if reply.deleted:
                    deleted.append(record.id)
        # What was actually removed, possibly nothing (the step never created a record): the
        # projection (migration 0008) reads the list and marks the subdomain removed either way.
        await events.append(
            self._store,
            EventToRecord(
                request.organization_id,
                EventType.SUBDOMAIN_DNS_RECORD_DELETED,
                f"compensate.{Compensation.REMOVE_DNS_RECORD}",
                {"dns_record_ids": deleted, "fqdn": request.fqdn},
                actor=request.actor,
            ),
        )
        return deleted
