"""What the database records about each event's effect: statuses after it, the bootstrap's steps."""

from __future__ import annotations

import uuid

from a4c.devstack.eventstore import sample_event
from a4c.eventstore import BootstrapState, EventStore, EventType, StepState, SubdomainStatus

E = EventType
B = BootstrapState
S = SubdomainStatus
HAPPY = [E.TEMPORAL_INITIATED, E.ZITADEL_CREATED, E.CREATED, E.SUBDOMAIN_DNS_RECORD_CREATED]
HAPPY += [E.USER_ROLE_ASSIGNED, E.SUBDOMAIN_VERIFICATION_STARTED, E.USER_INVITATION_SENT]
HAPPY += [E.BOOTSTRAP_COMPLETED, E.SUBDOMAIN_VERIFIED]


async def _append_all(store: EventStore, org: uuid.UUID, types: list[EventType]) -> None:
    for event_type in types:
        stored = await store.append(sample_event(org, event_type))
        assert stored.processing_error is None, stored.processing_error


async def _steps(store: EventStore, org: uuid.UUID) -> dict[str, tuple[StepState, str]]:
    return {s.name: (s.state, s.error) for s in await store.get_bootstrap_steps(org)}


async def test_each_event_row_records_the_statuses_after_it(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await _append_all(event_store, org, HAPPY)
    bad = await event_store.append(sample_event(org, E.SUBDOMAIN_VERIFICATION_FAILED, error=""))
    assert bad.processing_error is not None
    stream = await event_store.read_stream(org)
    outcomes = " ".join(f"{e.bootstrap_status}/{e.subdomain_status}" for e in stream)
    expected = "initiated/pending running/pending running/pending running/dns_record_created"
    expected += " running/dns_record_created running/verifying running/verifying completed/verifying"
    expected += " completed/active completed/active"  # the last one's handler failed: nothing changed
    assert outcomes == expected


async def test_a_completed_bootstrap_has_every_step_completed_back_to_back(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await _append_all(event_store, org, HAPPY)
    steps = await event_store.get_bootstrap_steps(org)
    assert {s.state for s in steps} == {StepState.COMPLETED}
    stream = {e.event_type: e.created_at for e in await event_store.read_stream(org)}
    by_name = {s.name: s for s in steps}
    assert by_name["create_identity_organization"].started_at == stream[E.TEMPORAL_INITIATED]
    # The child's events do not time the parent: the role grant started when the record was written.
    assert by_name["grant_admin_role"].started_at == stream[E.CREATED]
    assert by_name["complete"].finished_at == stream[E.BOOTSTRAP_COMPLETED]
    assert (await event_store.get_organization(org)).current_step_name == "complete"


async def test_a_failed_bootstrap_marks_the_failed_step_and_what_was_undone(event_store: EventStore) -> None:
    org = uuid.uuid4()
    await _append_all(event_store, org, [E.ZITADEL_CREATED, E.CREATED, E.BOOTSTRAP_FAILED])
    steps = await _steps(event_store, org)
    assert steps["create_identity_organization"] == (StepState.COMPENSATED, "")
    assert steps["record_organization"] == (StepState.COMPLETED, "")
    assert steps["start_subdomain"] == (StepState.PENDING, "")  # never started: nothing to undo
    assert steps["grant_admin_role"] == (StepState.FAILED, "boom")
    assert steps["complete"] == (StepState.PENDING, "")
    assert (await event_store.get_organization(org)).current_step_name == "grant_admin_role"


async def test_a_cancel_fails_the_step_in_flight_with_its_reason(event_store: EventStore) -> None:
    org = uuid.uuid4()
    types = [E.TEMPORAL_INITIATED, E.ZITADEL_CREATED, E.BOOTSTRAP_CANCELLED, E.BOOTSTRAP_COMPENSATED]
    await _append_all(event_store, org, types)
    steps = await _steps(event_store, org)
    assert steps["create_identity_organization"] == (StepState.COMPENSATED, "")
    assert steps["record_organization"] == (StepState.FAILED, "cancelled: operator request")
    assert (await event_store.get_organization(org)).current_step_name == "compensated"


async def test_an_organization_without_events_has_every_step_pending(event_store: EventStore) -> None:
    steps = await event_store.get_bootstrap_steps(uuid.uuid4())
    assert [s.name for s in steps][:2] == ["create_identity_organization", "record_organization"]
    assert {s.state for s in steps} == {StepState.PENDING}


async def test_the_python_enums_mirror_the_sql_enums(event_store: EventStore) -> None:
    for sql_type, enum in [("bootstrap_status", B), ("subdomain_status", S), ("step_state", StepState)]:
        labels = await event_store.pool.fetchval(f"SELECT enum_range(NULL::{sql_type})::text[]")
        assert labels == [member.value for member in enum], sql_type
