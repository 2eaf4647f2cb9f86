"""The zone's record quota on the real stack: once the zone holds its quota, the next bootstrap still
completes, and its subdomain ends `failed` at once with the DNS service's RESOURCE_EXHAUSTED message
(a quota no retry frees, so the workflow does not retry it)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
from temporalio.api.enums.v1 import EventType as HistoryEventType

from a4c.devstack.system import System, running_system
from a4c.devstack.wiring import TESTS
from a4c.dns.server import build as dns_build
from a4c.eventstore import BootstrapState, EventType, SubdomainStatus
from a4c.identity.server import build as identity_build
from a4c.sandbox.cloudflare import CloudflareSettings
from a4c.workflows.models import subdomain_workflow_id

from .helpers import event_types, subdomain_result

QUOTA = 1  # the zone holds one record: one tenant
HANG_GUARD = 60


@pytest.fixture(scope="module")
async def small_zone(database_url: str) -> AsyncIterator[System]:
    # The zone's quota (as Cloudflare set it) and the DNS service's setting agree: one record.
    profile = replace(TESTS, extra={**TESTS.extra, "dns": {"CLOUDFLARE_ZONE_RECORD_QUOTA": str(QUOTA)}})
    cloudflare = replace(CloudflareSettings(), rate_limit=None, record_quota=QUOTA)
    async with running_system(
        database_url,
        dns_build=dns_build,
        identity_build=identity_build,
        profile=profile,
        cloudflare_settings=cloudflare,
    ) as system:
        yield system


async def test_past_the_quota_the_bootstrap_completes_and_its_subdomain_fails_with_the_quota_message(
    small_zone: System,
) -> None:
    system = small_zone
    first, second = (system.bootstrap_input(f"quota{i}{uuid.uuid4().hex[:6]}") for i in (1, 2))
    async with asyncio.timeout(HANG_GUARD):
        await (await system.start_bootstrap(first)).result()
        fitted = await subdomain_result(system, first.organization_id)
        await (await system.start_bootstrap(second)).result()
        refused = await subdomain_result(system, second.organization_id)

    assert fitted.status == SubdomainStatus.ACTIVE
    assert refused.status == SubdomainStatus.FAILED
    zone = system.wiring.zone
    expected = f"RESOURCE_EXHAUSTED: the zone {zone} holds {QUOTA} of its {QUOTA} DNS records"
    assert refused.error.startswith(expected), refused.error
    organization = await system.store.get_organization(uuid.UUID(second.organization_id))
    assert organization.bootstrap_status == BootstrapState.COMPLETED
    assert organization.subdomain_status == SubdomainStatus.FAILED
    assert organization.last_error == refused.error
    types = await event_types(system, second.organization_id)
    assert EventType.BOOTSTRAP_COMPLETED in types
    assert EventType.SUBDOMAIN_DNS_RECORD_CREATED not in types
    # Not retried: the record's activity ran once and failed (a retried one would show attempt > 1).
    history = await system.client.get_workflow_handle(
        subdomain_workflow_id(second.organization_id)
    ).fetch_history()
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.event_type == HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
    ]
    assert attempts == [1]
    zone_id = system.cloudflare.zone_id(zone)
    assert [r.name for r in system.cloudflare.store.records(zone_id)] == [first.subdomain.fqdn]
