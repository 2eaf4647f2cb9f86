"""Replaying the recorded histories of this session's runs proves the workflows are deterministic."""

from __future__ import annotations

from collections.abc import AsyncIterator

from temporalio.client import WorkflowHistory
from temporalio.worker import Replayer

from a4c.devstack.system import System
from a4c.worker.runner import WORKFLOWS


async def test_recorded_histories_replay_without_nondeterminism(system: System) -> None:
    histories = []
    async for execution in system.client.list_workflows(f'TaskQueue = "{system.task_queue}"'):
        handle = system.client.get_workflow_handle(execution.id, run_id=execution.run_id)
        histories.append(await handle.fetch_history())
    # Every scenario of the bootstrap tests ran here: success, failure, cancellation, retried child.
    assert len(histories) >= 8

    replayer = Replayer(workflows=list(WORKFLOWS))

    async def each() -> AsyncIterator[WorkflowHistory]:
        for history in histories:
            yield history

    results = await replayer.replay_workflows(each(), raise_on_replay_failure=False)
    assert results.replay_failures == {}
