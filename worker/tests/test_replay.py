"""The current workflows replay every recorded history in histories/ without nondeterminism.

A history is the commands an earlier version of the workflows issued; replaying it on the current
code fails when a change would break executions still running during a rolling upgrade. The
fixtures are committed (record_histories.py re-records them); no server is needed.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from a4c.worker.runner import WORKFLOWS
from a4c.workflows.models import BOOTSTRAP_WORKFLOW, SUBDOMAIN_WORKFLOW

HISTORIES = Path(__file__).parent / "histories"
COMPLETED = EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED
# The scenarios the fixtures must cover: which workflow, and the event its history ends with.
REQUIRED = {
    "bootstrap_completed": (BOOTSTRAP_WORKFLOW, COMPLETED),
    "bootstrap_failed_compensated": (BOOTSTRAP_WORKFLOW, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED),
    "bootstrap_cancelled": (BOOTSTRAP_WORKFLOW, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED),
    "subdomain_verified": (SUBDOMAIN_WORKFLOW, COMPLETED),
    # A subdomain that fails ends its workflow normally, with a "failed" result.
    "subdomain_failed_deadline": (SUBDOMAIN_WORKFLOW, COMPLETED),
    "subdomain_record_failed": (SUBDOMAIN_WORKFLOW, COMPLETED),
    "subdomain_stopped": (SUBDOMAIN_WORKFLOW, EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED),
}


def _load(path: Path) -> WorkflowHistory:
    return WorkflowHistory.from_json(f"replay-{path.stem}", path.read_text())


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_a_recorded_history_covers_the_scenario(name: str) -> None:
    history = _load(HISTORIES / f"{name}.json")
    workflow_type, closing = REQUIRED[name]
    assert history.events[0].workflow_execution_started_event_attributes.workflow_type.name == workflow_type
    assert history.events[-1].event_type == closing


async def test_every_recorded_history_replays_on_the_current_workflows() -> None:
    paths = sorted(HISTORIES.rglob("*.json"))
    assert len(paths) >= len(REQUIRED)
    replayer = Replayer(workflows=list(WORKFLOWS))
    failures = {}
    for path in paths:
        result = await replayer.replay_workflow(_load(path), raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures[str(path.relative_to(HISTORIES))] = str(result.replay_failure)
    assert failures == {}
