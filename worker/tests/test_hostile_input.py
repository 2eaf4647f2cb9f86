"""Workflows started by hand on Temporal, bypassing the provisioning service, with hostile input.

Whoever can reach Temporal can start a workflow with any input. Each of these ends failed at its
first step (the worker's policy check) and leaves nothing behind: no Zitadel organization, user or
email, no Cloudflare record, no event and no organization projection row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import replace

import pytest
from temporalio.api.enums.v1 import EventType as HistoryEventType
from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError

from a4c.devstack.system import ZONE, System
from a4c.eventstore import NotFound
from a4c.worker.policy import REJECTED
from a4c.workflows import search
from a4c.workflows.models import (
    BOOTSTRAP_WORKFLOW,
    SUBDOMAIN_WORKFLOW,
    BootstrapInput,
    BootstrapResult,
    SubdomainResult,
    bootstrap_workflow_id,
)
from a4c.workflows.start import subdomain_start

from .helpers import sandbox_counts

Hostile = Callable[[BootstrapInput], BootstrapInput]
ATTACKER = "evil.example"


def _slug(slug: str) -> Hostile:
    def change(request: BootstrapInput) -> BootstrapInput:
        return replace(request, slug=slug, subdomain=replace(request.subdomain, fqdn=f"{slug}.{ZONE}"))

    return change


def _subdomain(**changes: object) -> Hostile:
    return lambda request: replace(request, subdomain=replace(request.subdomain, **changes))


BOOTSTRAP_CASES: dict[str, Hostile] = {
    "reserved slug (mail discovery)": _slug("autodiscover"),
    "reserved slug (login page)": _slug("login"),
    "reserved slug (the application host)": _slug("app"),
    "punycode look-alike slug": _slug("xn--pple-43d"),
    "attacker's CNAME target": _subdomain(target=ATTACKER),
    "zone not configured": lambda r: replace(
        r, subdomain=replace(r.subdomain, zone="analytics4change.com", fqdn=f"{r.slug}.analytics4change.com")
    ),
    "another tenant's name": _subdomain(fqdn=f"victim.{ZONE}"),
    "not proxied": _subdomain(proxied=False),
    "overlong name": lambda r: replace(r, name="A" * 201),
    "CRLF in the name": lambda r: replace(r, name="Acme\r\nBcc: attacker@evil.example"),
    "bidi override in the admin's name": lambda r: replace(r, admin_family_name="Admin\u202e"),
    "bad email": lambda r: replace(r, admin_email="admin@evil.example\r\nBcc: x@evil.example"),
}


def _hostile_input(system: System, case: str) -> BootstrapInput:
    slug = f"hostile-{uuid.uuid4().hex[:6]}"
    return BOOTSTRAP_CASES[case](system.bootstrap_input(slug))


async def _rejected(handle: WorkflowHandle[object, object]) -> ApplicationError:
    with pytest.raises(WorkflowFailureError) as failure:
        await handle.result()
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == REJECTED
    assert cause.non_retryable
    return cause


async def _assert_nothing_left(system: System, request: BootstrapInput, handle_id: str) -> None:
    counts = sandbox_counts(system, request)
    assert counts == {"orgs": 0, "users": 0, "grants": 0, "emails": 0, "records": 0}
    every_record = [
        r
        for zone in system.cloudflare.store.zones()
        for r in system.cloudflare.store.records(zone.id)
        if request.organization_id in (r.comment or "") or r.content == ATTACKER
    ]
    assert every_record == []
    assert await system.store.read_stream(uuid.UUID(request.organization_id)) == []
    with pytest.raises(NotFound):
        await system.store.get_organization(uuid.UUID(request.organization_id))
    # It stopped at its first step: no activity was scheduled on the task queue (the check is local).
    history = await system.client.get_workflow_handle(handle_id).fetch_history()
    kinds = {event.event_type for event in history.events}
    assert HistoryEventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in kinds
    assert HistoryEventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED not in kinds


@pytest.mark.parametrize("case", sorted(BOOTSTRAP_CASES))
async def test_a_hand_started_hostile_bootstrap_fails_at_its_first_step_and_leaves_nothing(
    system: System, worker: None, case: str
) -> None:
    request = _hostile_input(system, case)
    handle = await system.client.start_workflow(
        BOOTSTRAP_WORKFLOW,
        request,
        id=bootstrap_workflow_id(request.organization_id),
        task_queue=system.task_queue,
        result_type=BootstrapResult,
        search_attributes=search.initial(request.organization_id, request.slug, "initiated"),
    )
    error = await _rejected(handle)
    # The reason names the rule, never the value (failure messages are not encrypted in the history).
    for value in (request.name, request.admin_email, request.admin_family_name, ATTACKER):
        assert value not in error.message
    await _assert_nothing_left(system, request, handle.id)


async def test_a_bootstrap_under_a_workflow_id_of_its_own_choosing_is_refused(
    system: System, worker: None
) -> None:
    # A second run for an organization under another id would bypass the id's duplicate protection.
    request = system.bootstrap_input(f"hostile-{uuid.uuid4().hex[:6]}")
    handle = await system.client.start_workflow(
        BOOTSTRAP_WORKFLOW,
        request,
        id=f"my-own-{uuid.uuid4().hex[:8]}",
        task_queue=system.task_queue,
        result_type=BootstrapResult,
    )
    assert "workflow_id" in (await _rejected(handle)).message
    await _assert_nothing_left(system, request, handle.id)


SUBDOMAIN_CASES: dict[str, Hostile] = {
    "attacker's CNAME target": _subdomain(target=ATTACKER),
    "reserved label": _subdomain(fqdn=f"ns1.{ZONE}"),
    "the zone apex's wildcard": _subdomain(fqdn=f"*.{ZONE}"),
    "zone not configured": _subdomain(zone=ATTACKER, fqdn=f"victim.{ATTACKER}"),
    "not a CNAME": _subdomain(record_type="TXT"),
    # Everything else as the provisioning service would send it, but no organization was recorded:
    # a free name squatted for an organization that does not exist.
    "an organization nobody recorded": lambda request: request,
}


@pytest.mark.parametrize("case", sorted(SUBDOMAIN_CASES))
async def test_a_hand_started_hostile_subdomain_workflow_fails_at_its_first_step_and_leaves_nothing(
    system: System, worker: None, case: str
) -> None:
    request = SUBDOMAIN_CASES[case](system.bootstrap_input(f"hostile-{uuid.uuid4().hex[:6]}"))
    handle = await system.client.start_workflow(
        SUBDOMAIN_WORKFLOW,
        request.subdomain,
        task_queue=system.task_queue,
        result_type=SubdomainResult,
        **subdomain_start(request.subdomain, request.slug),
    )
    await _rejected(handle)
    await _assert_nothing_left(system, request, handle.id)
