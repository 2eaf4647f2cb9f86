"""The current workflows replay every recorded history in histories/ without nondeterminism.

A history is the commands an earlier version of the workflows issued; replaying it on the current
code fails when a change would break executions still running during a rolling upgrade. The
fixtures are committed (record_histories.py re-records them); no server is needed.
"""

from __future__ import annotations

import importlib
import json
import re
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

import a4c.worker
from a4c.worker.runner import WORKFLOWS
from a4c.workflows.models import BOOTSTRAP_WORKFLOW, SUBDOMAIN_WORKFLOW
from a4c.workflows.offboarding import OFFBOARD_WORKFLOW

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
    # Recorded by record_offboarding_histories.py: through the grace timer, and cancelled during it.
    "offboard_completed": (OFFBOARD_WORKFLOW, COMPLETED),
    "offboard_cancelled": (OFFBOARD_WORKFLOW, COMPLETED),
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


_PATCHED = re.compile(r"workflow\.patched\((\w+)\)")


def _patch_ids() -> set[str]:
    """Every patch id the worker's workflows branch on (the constants named in `workflow.patched`)."""
    ids = set()
    for source in sorted(Path(a4c.worker.__file__).parent.glob("*.py")):
        for constant in _PATCHED.findall(source.read_text()):
            ids.add(str(getattr(importlib.import_module(f"a4c.worker.{source.stem}"), constant)))
    return ids


def _patches_in(history: WorkflowHistory) -> set[str]:
    found = set()
    for event in history.events:
        if event.event_type != EventType.EVENT_TYPE_MARKER_RECORDED:
            continue
        marker = event.marker_recorded_event_attributes
        if marker.marker_name == "core_patch":
            found.add(json.loads(marker.details["patch-data"].payloads[0].data)["id"])
    return found


def test_histories_recorded_before_each_patch_are_kept() -> None:
    # The previous release's histories are the ones that predate a patch: while they are kept and
    # replayed, the unpatched branch (what executions started by the old release take) stays tested.
    histories = [_load(path) for path in sorted(HISTORIES.rglob("*.json"))]
    patches = _patch_ids()
    assert patches, "the workflows branch on at least one patch"
    without = {patch: [h for h in histories if patch not in _patches_in(h)] for patch in patches}
    assert {patch for patch, older in without.items() if not older} == set()


def _split_after_the_first_local_activity(path: Path) -> WorkflowHistory:
    """The history as a worker writes it when core ends the first workflow task right after the
    first local activity's marker (a task that sat long in the queue gets a workflow-task heartbeat):
    the commands that follow the activity land in a second task. Replays of such histories on a new
    worker (after a crash) hit a nondeterminism error while a patch was asked after that activity."""
    events = json.loads(path.read_text())["events"]
    at = next(
        i
        for i, event in enumerate(events)
        if event.get("markerRecordedEventAttributes", {}).get("markerName") == "core_local_activity"
    )
    marker = int(events[at]["eventId"])
    first_completed = next(
        e["eventId"] for e in events if e["eventType"] == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"
    )

    def moved(value: str) -> str:
        return str(int(value) + 3) if int(value) > marker else value

    def renumber(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("EventId") and isinstance(value, str):
                    node[key] = moved(value)
                else:
                    renumber(value)
        elif isinstance(node, list):
            for item in node:
                renumber(item)

    rest = events[at + 1 :]
    renumber(rest)
    for event in rest:
        event["eventId"] = moved(event["eventId"])
    for event in rest:  # the first task's remaining commands now belong to the second task
        for attributes in (v for k, v in event.items() if k.endswith("Attributes")):
            if attributes.get("workflowTaskCompletedEventId") == first_completed:
                attributes["workflowTaskCompletedEventId"] = str(marker + 3)
    when, queue = events[at]["eventTime"], events[1]["workflowTaskScheduledEventAttributes"]
    second_task = [
        {
            "eventId": str(marker + 1),
            "eventTime": when,
            "eventType": "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED",
            "workflowTaskScheduledEventAttributes": queue,
        },
        {
            "eventId": str(marker + 2),
            "eventTime": when,
            "eventType": "EVENT_TYPE_WORKFLOW_TASK_STARTED",
            "workflowTaskStartedEventAttributes": {"scheduledEventId": str(marker + 1)},
        },
        {
            "eventId": str(marker + 3),
            "eventTime": when,
            "eventType": "EVENT_TYPE_WORKFLOW_TASK_COMPLETED",
            "workflowTaskCompletedEventAttributes": {
                "scheduledEventId": str(marker + 1),
                "startedEventId": str(marker + 2),
            },
        },
    ]
    split = {"events": [*events[: at + 1], *second_task, *rest]}
    return WorkflowHistory.from_json(f"split-{path.stem}", json.dumps(split))


@pytest.mark.parametrize("name", ["bootstrap_completed_waits", "subdomain_verified_waits"])
async def test_a_history_whose_first_task_ends_after_the_policy_check_replays(name: str) -> None:
    history = _split_after_the_first_local_activity(HISTORIES / f"{name}.json")
    result = await Replayer(workflows=list(WORKFLOWS)).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None
