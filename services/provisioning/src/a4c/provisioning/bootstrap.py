"""BootstrapOrganization: claim the slug, start the workflow, record that it started.

Order and why:
1. The organization id: uuid5 of the request id (a retried request maps to the same organization),
   else a new uuid4.
2. The slug claim (event store, migration 0004) decides atomically, across replicas, which request
   owns the slug. A request that is the same as the claim's (same organization id, or the same
   values: name, slug and admin) continues with the claim's organization; anything else is
   ALREADY_EXISTS. An unconfirmed claim whose workflow never started is taken over once stale; a
   slug its organization released (offboarded and out of quarantine, or a failed or cancelled
   bootstrap compensated; migration 0007) goes to a new organization, the old one keeps its events.
3. Start the workflow (the running one is returned; a closed one is not restarted).
4. Only then append `temporal_initiated` (deterministic id: every caller appends the same event once)
   and confirm the claim. The caller whose append wrote the event is the one that started the
   bootstrap; everyone else gets already_existed=true.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass

from a4c.common.tracing import current_ids
from a4c.eventstore import EventType, LifecycleStatus, NewEvent, NotFound, SlugClaim, event_id
from a4c.provisioning import retry
from a4c.provisioning.deps import Dependencies
from a4c.provisioning.errors import AlreadyExists
from a4c.provisioning.temporal import Execution
from a4c.provisioning.validation import NewOrganization
from a4c.workflows.models import BootstrapInput, bootstrap_workflow_id

# Fixed forever: uuid5(NAMESPACE_URL, "urn:a4c:provisioning:organization-ids"). Changing it would
# map a retried request to a new organization.
ORGANIZATION_ID_NAMESPACE = uuid.UUID("c879472c-336b-5d3d-a280-cacc2f0e4d32")
INITIATED_STEP = "temporal_initiated"
_CLAIM_ROUNDS = 3


@dataclass(frozen=True)
class Bootstrapped:
    organization_id: str
    workflow_id: str
    subdomain_fqdn: str
    already_existed: bool


def organization_id_for(request_id: str | None) -> uuid.UUID:
    return uuid.uuid5(ORGANIZATION_ID_NAMESPACE, request_id) if request_id else uuid.uuid4()


def fingerprint(org: NewOrganization) -> str:
    """Digest of the request's values: equal for a resent request, whatever its request id."""
    values = [org.name, org.slug, org.admin_email.lower(), org.admin_given_name, org.admin_family_name]
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()


class Bootstrapper:
    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def bootstrap(self, org: NewOrganization, *, actor: str) -> Bootstrapped:
        """``actor``: the calling principal's name, recorded in the event's metadata."""
        organization_id = await self._owner(org)
        deps = self._deps
        fqdn = deps.subdomain_fqdn(org.slug)
        started = await deps.workflows.start_bootstrap(self._input(org, str(organization_id), fqdn, actor))
        call_id = str(uuid.uuid4())
        initiated = NewEvent(
            id=event_id(started.workflow_id, INITIATED_STEP),
            stream_id=organization_id,
            event_type=EventType.TEMPORAL_INITIATED,
            data={
                "workflow_id": started.workflow_id,
                "name": org.name,
                "slug": org.slug,
                "subdomain_fqdn": fqdn,
                "admin_email": org.admin_email,
            },
            metadata={
                "workflow_id": started.workflow_id,
                "run_id": started.run_id,
                "request_id": org.request_id,
                "call_id": call_id,
                "correlation_id": started.workflow_id,
                "actor": actor,
                # The caller's trace (the BootstrapOrganization call's span), when traced.
                **current_ids(),
            },
        )
        stored = await retry.idempotent(lambda: deps.store.append(initiated))
        await retry.idempotent(lambda: deps.claims.confirm(org.slug, organization_id))
        already_existed = stored.metadata.get("call_id") != call_id
        if deps.metrics is not None and not already_existed:
            deps.metrics.appended(initiated.event_type)
        return Bootstrapped(
            organization_id=str(organization_id),
            workflow_id=started.workflow_id,
            subdomain_fqdn=fqdn,
            already_existed=already_existed,
        )

    async def _owner(self, org: NewOrganization) -> uuid.UUID:
        """The organization this request bootstraps, once the slug is claimed for it."""
        claims, digest = self._deps.claims, fingerprint(org)
        wanted = organization_id_for(org.request_id)
        for _ in range(_CLAIM_ROUNDS):
            claim = await retry.idempotent(
                lambda: claims.claim(
                    org.slug,
                    wanted,
                    request_id=org.request_id,
                    fingerprint=digest,
                    quarantine_seconds=self._deps.settings.slug_quarantine_seconds,
                )
            )
            if claim.slug != org.slug:
                raise AlreadyExists(
                    "request_id", "was already used for a request with another slug", "REQUEST_ID_REUSED"
                )
            if claim.organization_id == wanted:
                if claim.fingerprint != digest:
                    raise AlreadyExists(
                        "request_id", "was already used for a request with other values", "REQUEST_ID_REUSED"
                    )
                return wanted
            if claim.fingerprint == digest:
                if await self._leaving(claim.organization_id):
                    # Its organization is being (or was) offboarded: the slug waits out its quarantine.
                    raise AlreadyExists(
                        "slug", "belongs to an offboarded organization (in quarantine)", "SLUG_QUARANTINED"
                    )
                # The same values again (a resent command has a new request id, or none): same request.
                return claim.organization_id
            if not await self._released(claim):
                raise AlreadyExists("slug", "is already taken by another organization", "SLUG_TAKEN")
        raise AlreadyExists("slug", "is being claimed by another request; retry", "SLUG_CONTENDED")

    async def _leaving(self, organization_id: uuid.UUID) -> bool:
        """Whether the organization is offboarding or offboarded (a resend must not revive it)."""
        try:
            found = await retry.idempotent(lambda: self._deps.store.get_organization(organization_id))
        except NotFound:
            return False
        return found.lifecycle_status is not LifecycleStatus.ACTIVE

    async def _released(self, claim: SlugClaim) -> bool:
        """Free a claim whose bootstrap never started (stale and unknown to Temporal)."""
        stale_after = self._deps.settings.slug_claim_stale_seconds
        if claim.confirmed or claim.age_seconds < stale_after:
            return False
        workflow_id = bootstrap_workflow_id(str(claim.organization_id))
        if await self._deps.workflows.execution(workflow_id) != Execution.MISSING:
            # Started after all (its owner died before confirming): the slug is that organization's.
            await self._deps.claims.confirm(claim.slug, claim.organization_id)
            return False
        return await self._deps.claims.release_stale(
            claim.slug, claim.organization_id, older_than=stale_after
        )

    def _input(self, org: NewOrganization, organization_id: str, fqdn: str, actor: str) -> BootstrapInput:
        settings = self._deps.settings
        return BootstrapInput(
            organization_id=organization_id,
            name=org.name,
            slug=org.slug,
            admin_email=org.admin_email,
            admin_given_name=org.admin_given_name,
            admin_family_name=org.admin_family_name,
            subdomain=self._deps.subdomain_input(organization_id, fqdn, actor=actor),
            timeouts=settings.step_timeouts,
            actor=actor,
        )
