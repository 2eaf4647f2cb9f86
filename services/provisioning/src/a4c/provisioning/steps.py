"""A bootstrap's steps: live from the running workflow's `progress` query, else rebuilt from its events.

The query is the truth while the workflow runs (it knows the step in flight and its retries); once it
has closed, nothing answers queries without a worker replaying it, while the events say the same
thing durably. Each event marks the end of one step, so a step started when the previous one ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from a4c.eventstore import EventType, StoredEvent
from a4c.workflows.models import (
    BOOTSTRAP_STEPS,
    STEP_COMPLETE,
    STEP_IDENTITY,
    STEP_INVITE,
    STEP_RECORD,
    STEP_ROLE,
    STEP_SUBDOMAIN,
    Progress,
)

# The bootstrap event that closes each step; start_subdomain has none (its child's events follow).
STEP_OF_EVENT = {
    EventType.ZITADEL_CREATED.value: STEP_IDENTITY,
    EventType.CREATED.value: STEP_RECORD,
    EventType.USER_ROLE_ASSIGNED.value: STEP_ROLE,
    EventType.USER_INVITATION_SENT.value: STEP_INVITE,
    EventType.BOOTSTRAP_COMPLETED.value: STEP_COMPLETE,
}
# Compensation names (the failure event's `cleanup`) → the step they undid.
_UNDOES = {"delete_identity_organization": STEP_IDENTITY, "remove_dns_record": STEP_SUBDOMAIN}
_SUBDOMAIN_PREFIX = "organization.subdomain."


@dataclass
class StepView:
    name: str
    state: str = "pending"  # pending, running, completed, failed, compensated
    started_at: datetime | None = None
    finished_at: datetime | None = None
    error: str = ""


@dataclass(frozen=True)
class StepsView:
    current_step: str
    steps: list[StepView]


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def from_progress(progress: Progress) -> StepsView:
    steps = [
        StepView(s.name, s.state, _time(s.started_at), _time(s.finished_at), s.error) for s in progress.steps
    ]
    return StepsView(progress.current_step, steps)


def from_events(events: Sequence[StoredEvent]) -> StepsView:
    steps = {name: StepView(name) for name in BOOTSTRAP_STEPS}
    order = list(BOOTSTRAP_STEPS)
    previous_end: datetime | None = None
    reached = -1  # index of the last completed step
    for event in events:
        if event.processing_error:
            continue
        kind = event.event_type
        if kind == EventType.TEMPORAL_INITIATED and previous_end is None:
            previous_end = event.created_at
        step_name = STEP_OF_EVENT.get(kind)
        if step_name is None and kind.startswith(_SUBDOMAIN_PREFIX):
            step_name = STEP_SUBDOMAIN  # the child's events prove it was started
        if step_name is not None:
            index = order.index(step_name)
            for earlier in order[reached + 1 : index + 1]:
                _finish(steps[earlier], previous_end, event.created_at)
            reached = max(reached, index)
            if step_name != STEP_SUBDOMAIN:
                previous_end = event.created_at
        elif kind == EventType.BOOTSTRAP_FAILED:
            failed = str(event.data.get("failed_step") or "")
            _fail(steps.get(failed), previous_end, event, str(event.data.get("error") or ""))
            _compensate(steps, event.data.get("cleanup"))
        elif kind == EventType.BOOTSTRAP_CANCELLED:
            following = order[reached + 1] if reached + 1 < len(order) else None
            reason = str(event.data.get("reason") or "")
            _fail(
                steps.get(following or ""),
                previous_end,
                event,
                f"cancelled: {reason}" if reason else "cancelled",
            )
        elif kind == EventType.BOOTSTRAP_COMPENSATED:
            _compensate(steps, event.data.get("cleanup"))
    touched = [s for s in steps.values() if s.state != "pending"]
    return StepsView(touched[-1].name if touched else "", list(steps.values()))


def _finish(step: StepView, started: datetime | None, finished: datetime) -> None:
    if step.state == "pending":
        step.state, step.started_at, step.finished_at = "completed", started, finished


def _fail(step: StepView | None, started: datetime | None, event: StoredEvent, error: str) -> None:
    if step is not None and step.state in ("pending", "running"):
        step.state, step.started_at, step.finished_at, step.error = "failed", started, event.created_at, error


def _compensate(steps: dict[str, StepView], cleanup: object) -> None:
    if not isinstance(cleanup, list):
        return
    for undo in cleanup:
        step = steps.get(_UNDOES.get(str(undo), ""))
        if step is not None and step.state == "completed":
            step.state = "compensated"
