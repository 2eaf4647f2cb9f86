"""Record the offboarding workflow's replay fixtures (histories/offboard_*.json), as record_histories.py
does for the bootstrap's:

    .venv/bin/python worker/tests/record_offboarding_histories.py

New files only at a release (see histories/README.md): the committed ones prove that offboardings
running during an upgrade, some of them in a week-long grace period, continue on the new workers.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from mocked_offboarding import OffboardScript, offboard_input, offboarding_worker, start_offboarding
from temporalio.testing import WorkflowEnvironment

from a4c.devstack.temporal import temporal_binary
from a4c.workflows import search
from a4c.workflows.offboarding import CANCEL_UPDATE, CancelOffboardingInput

HISTORIES = Path(__file__).parent / "histories"


async def main() -> None:
    async with await WorkflowEnvironment.start_local(
        dev_server_existing_path=temporal_binary(), search_attributes=list(search.KEYS)
    ) as env:
        client = env.client
        for name, grace in (("offboard_completed", 1.0), ("offboard_cancelled", 3600.0)):
            organization_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"a4c-replay/{name}"))
            request = offboard_input(
                name.replace("_", "-"), grace_seconds=grace, organization_id=organization_id
            )
            async with offboarding_worker(client, OffboardScript()) as mocks:
                handle = await start_offboarding(client, mocks, request)
                if name == "offboard_cancelled":
                    await mocks.base.started["deactivate_identity_organization"].wait()
                    await handle.execute_update(CANCEL_UPDATE, CancelOffboardingInput("renewed", "operator"))
                await asyncio.wait_for(handle.result(), timeout=60)
            history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json() + "\n")
            print(f"wrote {name}.json ({len(history.events)} events)")


if __name__ == "__main__":
    asyncio.run(main())
