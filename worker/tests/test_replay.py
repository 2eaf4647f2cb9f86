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
