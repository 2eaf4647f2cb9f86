"""A bootstrap's steps: live from the running workflow's `progress` query, else from the database.

The query is the truth while the workflow runs (it knows the step in flight and its retries); once it
has closed, nothing answers queries without a worker replaying it, while the database's step
projection (migration 0006, `EventStore.get_bootstrap_steps`) says the same thing durably.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from a4c.eventstore import BootstrapStepRecord, StepState
from a4c.workflows.models import Progress


@dataclass(frozen=True)
class StepsView:
    current_step: str  # the last step that left pending, in workflow order; "" when none has
    steps: list[BootstrapStepRecord]


def _time(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def from_progress(progress: Progress) -> StepsView:
    steps = [
        BootstrapStepRecord(
            name=s.name,
            state=s.state,
            started_at=_time(s.started_at),
            finished_at=_time(s.finished_at),
            error=s.error,
        )
        for s in progress.steps
    ]
    return StepsView(progress.current_step, steps)


def from_records(steps: Sequence[BootstrapStepRecord]) -> StepsView:
    touched = [s for s in steps if s.state != StepState.PENDING]
    return StepsView(touched[-1].name if touched else "", list(steps))
