"""The drift reconciler's activities: compare a batch of organizations with Cloudflare and Zitadel and,
unless the run is a preview, act on what differs; then look for orphans.

Rate budget: a batch lists the zone's owned records in pages of 5,000 (ListOwnedRecords: one
Cloudflare request per page, filtered by our marker upstream) and the identity organizations in
pages of 1,000 (one Zitadel search per page), and compares in memory. Only a difference costs more:
a name lookup for a missing record, a create for a repair, a read to confirm a missing identity
organization (searches lag). So a run over N organizations in batches of B, with R owned records,
spends about ceil(N/B) * ceil(R/5000) Cloudflare requests plus the orphan pass's ceil(R/5000) plus
about two per drifted tenant; each call is counted in the tally.

The policy (what a record must be, whether to repair, whether to delete orphans) is the worker's own,
never the workflow input's: a hand-started run can only choose to be a preview.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from temporalio import activity
from temporalio.exceptions import ApplicationError

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.eventstore import EventStore, EventType, Organization, SubdomainStatus
from a4c.worker import domain_metrics, drift, events
from a4c.worker.activities import call_request_id
from a4c.worker.drift import RecordPolicy
from a4c.worker.grpc_errors import unary
from a4c.worker.steady import steady
from a4c.workflows.models import EventToRecord
from a4c.workflows.reconcile import (
    BatchInput,
    BatchResult,
    DriftAction,
    DriftFinding,
    DriftKind,
    OrphanInput,
    ReconcileTally,
)

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Unary = grpc.aio.UnaryUnaryMultiCallable
ACTOR = "reconciler"  # the events' actor: the schedule, not a principal
_OWNED_PAGE = 5000
_IDENTITY_PAGE = 1000


@dataclass(frozen=True)
class ReconcilePolicy:
    records: RecordPolicy
    auto_repair: bool = True
    delete_orphans: bool = False
    batch_size: int = 500
    # An owned record or marked organization younger than this is not an orphan yet: a bootstrap
    # creates the Zitadel organization (and its child the record) a moment before its events.
    orphan_min_age_seconds: float = 3600.0


@dataclass
class _Run:
    """One activity's findings and upstream calls."""

    listed: int
    dns_calls: int = 0
    identity_calls: int = 0
    checked: int = 0
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    findings: list[DriftFinding] = field(default_factory=list)

    def found(self, org_id: str, slug: str, kind: DriftKind, action: DriftAction, subject: str) -> None:
        self.counts[kind.value] += 1
        if len(self.findings) <= self.listed:
            self.findings.append(DriftFinding(org_id, slug, kind.value, action.value, subject))

    def tally(self) -> ReconcileTally:
        listed = self.findings[: self.listed]
        return ReconcileTally(
            checked=self.checked,
            batches=1,
            dns_calls=self.dns_calls,
            identity_calls=self.identity_calls,
            counts=dict(self.counts),
            findings=listed,
            truncated=len(self.findings) > len(listed),
            listed=self.listed,
        )


class ReconcileActivities:
    def __init__(
        self,
        dns: dns_pb2_grpc.DnsServiceAsyncStub,
        identity: identity_pb2_grpc.IdentityServiceAsyncStub,
        store: EventStore,
        policy: ReconcilePolicy,
    ) -> None:
        self._dns = dns
        self._identity = identity
        self._store = store
        self._policy = policy

    @activity.defn(name="reconcile_batch")
    @steady
    async def reconcile_batch(self, request: BatchInput) -> BatchResult:
        after = uuid.UUID(request.after) if request.after else None
        size = self._policy.batch_size
        orgs = await self._store.reconcilable_batch(after, size)
        run = _Run(request.listed, checked=len(orgs))
        if not orgs:
            return BatchResult(run.tally(), request.after, done=True)
        owned = await self._owned_records(run)
        by_owner: dict[str, list[dns_pb2.Record]] = defaultdict(list)
        for record in owned:
            by_owner[record.owner].append(record)
        states = {o.id: o.state for o in await self._identity_organizations(run)}
        for org in orgs:
            try:
                await self._subdomain_check(org, by_owner.get(str(org.id), []), run, request.dry_run)
                await self._identity_check(org, states, run, request.dry_run)
            except ApplicationError as error:
                if not error.non_retryable:
                    raise  # a service is down: the batch is retried
                # One organization a service refuses (a name outside its policy...) must not stop
                # the sweep of every other one.
                activity.logger.warning("organization %s not reconciled: %s", org.id, error.type)
                run.found(
                    str(org.id), org.slug or "", DriftKind.UNCHECKED, DriftAction.REPORT, error.type or ""
                )
        domain_metrics.drift_found(run.counts)
        return BatchResult(run.tally(), str(orgs[-1].id), done=len(orgs) < size)

    @activity.defn(name="reconcile_orphans")
    @steady
    async def reconcile_orphans(self, request: OrphanInput) -> ReconcileTally:
        run = _Run(request.listed)
        records = await self._owned_records(run)
        organizations = [o for o in await self._identity_organizations(run) if self._old_enough(o.created_at)]
        owners = {_uuid(r.owner) for r in records} | {_uuid(o.id) for o in organizations}
        live = await self._store.live_organizations([o for o in owners if o is not None])
        live_ids = {str(o) for o in live}
        for record in records:
            if record.owner not in live_ids and self._old_enough(record.created_at):
                await self._orphan_record(record, run, request.dry_run)
        for org in organizations:
            if org.id not in live_ids:
                await self._orphan_identity(org.id, run, request.dry_run)
        domain_metrics.orphans_seen(run.counts)
        return replace(run.tally(), batches=0)

    # -- per organization ---------------------------------------------------------------------------
    async def _subdomain_check(
        self, org: Organization, ours: list[dns_pb2.Record], run: _Run, dry_run: bool
    ) -> None:
        if org.subdomain_status not in drift.RECONCILED_SUBDOMAINS or not org.subdomain_fqdn:
            return
        fqdn, org_id, slug = org.subdomain_fqdn, str(org.id), org.slug or ""
        kind = drift.record_drift(org, ours, self._policy.records)
        if kind is None:
            if org.subdomain_status is SubdomainStatus.DRIFTED and not dry_run:
                # Someone restored it (or removed the foreign record and a retry recreated ours).
                record = next(r for r in ours if r.name == fqdn)
                await self._event(org, EventType.SUBDOMAIN_DRIFT_REPAIRED, "restored", fqdn, record.id)
            return
        foreign = None
        if kind is DriftKind.RECORD_MISSING:
            listing = await self._dns_call(
                run,
                self._dns.ListRecords,
                dns_pb2.ListRecordsRequest(zone=self._policy.records.zone, name=fqdn),
            )
            foreign = drift.name_drift(org, listing.records)
        if foreign is not None:
            run.found(org_id, slug, DriftKind.NAME_TAKEN, DriftAction.REPORT, fqdn)
            if not dry_run and org.subdomain_status is not SubdomainStatus.DRIFTED:
                await self._detected(org, DriftKind.NAME_TAKEN, foreign)
            return
        action = DriftAction.REPAIR if self._policy.auto_repair else DriftAction.REPORT
        run.found(org_id, slug, kind, action, fqdn)
        if dry_run:
            return
        if action is DriftAction.REPORT:
            if org.subdomain_status is not SubdomainStatus.DRIFTED:
                await self._detected(org, kind, None)
            return
        try:
            created = await self._dns_call(run, self._dns.CreateRecord, self._restore_request(org))
        except ApplicationError as error:
            if error.type != "FAILED_PRECONDITION":
                raise
            # A foreign record took the name between the lookup and the create: never overwritten.
            if org.subdomain_status is not SubdomainStatus.DRIFTED:
                await self._detected(org, DriftKind.NAME_TAKEN, None)
            return
        await self._event(org, EventType.SUBDOMAIN_DRIFT_REPAIRED, kind.value, fqdn, created.record.id)

    async def _identity_check(
        self, org: Organization, states: dict[str, str], run: _Run, dry_run: bool
    ) -> None:
        identity_id = org.identity_org_id or str(org.id)
        state = states.get(identity_id)
        if state is None:
            state = await self._identity_state(identity_id, run)  # a search may lag: read it fresh
        kind = drift.identity_drift(state)
        if kind is None:
            return
        run.found(str(org.id), org.slug or "", kind, DriftAction.REPORT, identity_id)
        status = drift.identity_status(kind)
        if dry_run or org.identity_status == status:
            return
        data = {"identity_org_id": identity_id, "state": status.value}
        await events.append(
            self._store,
            EventToRecord(
                str(org.id),
                EventType.IDENTITY_DRIFT_DETECTED,
                f"reconcile.{kind}",
                data,
                dedup_scope=_scope(org),
                actor=ACTOR,
            ),
        )

    async def _identity_state(self, identity_id: str, run: _Run) -> str | None:
        try:
            reply = await self._identity_call(
                run,
                self._identity.GetOrganization,
                identity_pb2.GetOrganizationRequest(organization_id=identity_id),
            )
        except ApplicationError as error:
            if error.type == "NOT_FOUND":
                return None
            raise
        return str(reply.organization.state)

    # -- orphans ------------------------------------------------------------------------------------
    async def _orphan_record(self, record: dns_pb2.Record, run: _Run, dry_run: bool) -> None:
        action = DriftAction.DELETE if self._policy.delete_orphans else DriftAction.REPORT
        run.found(record.owner, "", DriftKind.ORPHAN_RECORD, action, record.name)
        if dry_run:
            return
        deleted = False
        if action is DriftAction.DELETE:
            request = dns_pb2.DeleteRecordRequest(
                zone=self._policy.records.zone, id=record.id, owner=record.owner, request_id=call_request_id()
            )
            deleted = (await self._dns_call(run, self._dns.DeleteRecord, request)).deleted
        data = {"dns_record_id": record.id, "fqdn": record.name, "deleted": deleted}
        await self._orphan_event(record.owner, EventType.SUBDOMAIN_ORPHAN_DETECTED, record.id, data, deleted)

    async def _orphan_identity(self, identity_id: str, run: _Run, dry_run: bool) -> None:
        if await self._identity_state(identity_id, run) is None:
            return  # not one A4C marked (GetOrganization answers NOT_FOUND for those), or gone
        action = DriftAction.DELETE if self._policy.delete_orphans else DriftAction.REPORT
        run.found(identity_id, "", DriftKind.ORPHAN_IDENTITY, action, identity_id)
        if dry_run:
            return
        deleted = False
        if action is DriftAction.DELETE:
            request = identity_pb2.DeleteOrganizationRequest(
                organization_id=identity_id, request_id=call_request_id()
            )
            deleted = (await self._identity_call(run, self._identity.DeleteOrganization, request)).deleted
        data = {"identity_org_id": identity_id, "deleted": deleted}
        await self._orphan_event(identity_id, EventType.IDENTITY_ORPHAN_DETECTED, identity_id, data, deleted)

    async def _orphan_event(
        self, owner: str, event_type: EventType, subject: str, data: dict[str, Any], deleted: bool
    ) -> None:
        """Once per orphan ever (its id is the dedup scope), and once more when it is deleted. An
        owner that is not a UUID has no stream: it is counted in the metric only."""
        if _uuid(owner) is None:
            return
        step = "orphan_deleted" if deleted else "orphan_detected"
        await events.append(
            self._store,
            EventToRecord(
                owner, event_type, step, data, dedup_scope=f"reconcile-orphan/{subject}", actor=ACTOR
            ),
        )

    # -- listings and calls -------------------------------------------------------------------------
    async def _owned_records(self, run: _Run) -> list[dns_pb2.Record]:
        records: list[dns_pb2.Record] = []
        token = ""
        while True:
            request = dns_pb2.ListOwnedRecordsRequest(
                zone=self._policy.records.zone, page_size=_OWNED_PAGE, page_token=token
            )
            page = await self._dns_call(run, self._dns.ListOwnedRecords, request)
            records += page.records
            activity.heartbeat()
            token = page.next_page_token
            if not token:
                return records

    async def _identity_organizations(self, run: _Run) -> list[identity_pb2.Organization]:
        found: list[identity_pb2.Organization] = []
        token = ""
        while True:
            request = identity_pb2.ListOrganizationsRequest(page_size=_IDENTITY_PAGE, page_token=token)
            page = await self._identity_call(run, self._identity.ListOrganizations, request)
            found += page.organizations
            activity.heartbeat()
            token = page.next_page_token
            if not token:
                return found

    async def _dns_call(self, run: _Run, method: Unary[Req, Resp], request: Req) -> Resp:
        run.dns_calls += 1
        return await unary(method, request)

    async def _identity_call(self, run: _Run, method: Unary[Req, Resp], request: Req) -> Resp:
        run.identity_calls += 1
        return await unary(method, request)

    def _restore_request(self, org: Organization) -> dns_pb2.CreateRecordRequest:
        policy = self._policy.records
        return dns_pb2.CreateRecordRequest(
            zone=policy.zone,
            name=org.subdomain_fqdn or "",
            type=dns_pb2.RECORD_TYPE_CNAME,
            content=policy.target,
            ttl=1,
            proxied=policy.proxied,
            owner=str(org.id),
            request_id=call_request_id(),
        )

    async def _detected(self, org: Organization, kind: DriftKind, found: dns_pb2.Record | None) -> None:
        data: dict[str, Any] = {"fqdn": org.subdomain_fqdn, "reason": kind.value}
        if found is not None:
            data["found"] = {
                "type": dns_pb2.RecordType.Name(found.type).removeprefix("RECORD_TYPE_"),
                "content": found.content,
                "managed": found.managed,
            }
        await events.append(
            self._store,
            EventToRecord(
                str(org.id),
                EventType.SUBDOMAIN_DRIFT_DETECTED,
                f"reconcile.{kind}",
                data,
                dedup_scope=_scope(org),
                actor=ACTOR,
            ),
        )

    async def _event(
        self, org: Organization, event_type: EventType, reason: str, fqdn: str, record_id: str
    ) -> None:
        data = {"fqdn": fqdn, "reason": reason, "dns_record_id": record_id}
        await events.append(
            self._store,
            EventToRecord(
                str(org.id), event_type, f"reconcile.{reason}", data, dedup_scope=_scope(org), actor=ACTOR
            ),
        )

    def _old_enough(self, created: Timestamp) -> bool:
        """An unset creation time (0) counts as old."""
        if not created.seconds:
            return True
        age = datetime.now(UTC) - created.ToDatetime(tzinfo=UTC)
        return bool(age.total_seconds() >= self._policy.orphan_min_age_seconds)


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _scope(org: Organization) -> str:
    """Event ids per reconciler workflow and organization: one finding of a kind per tenant per run
    (a retried batch appends nothing twice), a new one on the next scheduled run."""
    return f"{activity.info().workflow_id}/{org.id}"
