"""What the worker tests look at: the event log, the projection and the sandbox's state."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

from a4c.devstack.system import ZONE, System
from a4c.eventstore import EventType
from a4c.workflows.models import BootstrapInput, SubdomainResult, subdomain_workflow_id

BOOTSTRAP_EVENTS = [
    EventType.ZITADEL_CREATED,
    EventType.CREATED,
    EventType.USER_ROLE_ASSIGNED,
    EventType.USER_INVITATION_SENT,
    EventType.BOOTSTRAP_COMPLETED,
]
SUBDOMAIN_EVENTS = [
    EventType.SUBDOMAIN_DNS_RECORD_CREATED,
    EventType.SUBDOMAIN_VERIFICATION_STARTED,
    EventType.SUBDOMAIN_VERIFIED,
]


async def event_types(system: System, organization_id: str) -> list[str]:
    return [e.event_type for e in await system.store.read_stream(uuid.UUID(organization_id))]


def split(types: list[str]) -> tuple[list[str], list[str]]:
    sub = [t for t in types if ".subdomain." in t]
    return [t for t in types if ".subdomain." not in t], sub


async def subdomain_result(system: System, organization_id: str) -> SubdomainResult:
    handle = system.client.get_workflow_handle(
        subdomain_workflow_id(organization_id), result_type=SubdomainResult
    )
    return await handle.result()


def sandbox_counts(system: System, request: BootstrapInput) -> dict[str, Any]:
    """How many of each thing exists upstream for this organization."""
    with system.zitadel.store.read() as state:
        orgs = [o for o in state.orgs.values() if o.id == request.organization_id]
        users = [u for u in state.users.values() if u.org_id == request.organization_id]
        grants = [g for g in state.user_grants.values() if g.org_id == request.organization_id]
    emails = system.zitadel.emails(request.admin_email)
    zone_id = system.cloudflare.zone_id(ZONE)
    records = [r for r in system.cloudflare.store.records(zone_id) if r.name == request.subdomain.fqdn]
    return {
        "orgs": len(orgs),
        "users": len(users),
        "grants": len(grants),
        "emails": len(emails),
        "records": len(records),
    }


def duplicates(types: list[str]) -> list[str]:
    return [t for t, n in Counter(types).items() if n > 1]
