"""A worker process killed mid-bootstrap: a new worker finishes it with exactly one of everything."""

from __future__ import annotations

import asyncio

from a4c.devstack.system import System
from a4c.devstack.timing import eventually
from a4c.eventstore import EventType

from .helpers import (
    BOOTSTRAP_EVENTS,
    SUBDOMAIN_EVENTS,
    event_types,
    sandbox_counts,
    split,
    subdomain_result,
)


async def test_worker_killed_mid_bootstrap_is_replaced_and_nothing_is_duplicated(system: System) -> None:
    # Slow identity calls so the kill lands while the bootstrap is between its steps.
    system.zitadel.faults.configure({"faults": [{"kind": "latency", "seconds": 0.4}]})
    first = system.worker_process()
    request = system.bootstrap_input("phoenix")
    handle = await system.start_bootstrap(request)

    async def identity_done() -> bool:
        return EventType.ZITADEL_CREATED in await event_types(system, request.organization_id)

    await eventually(identity_done)
    first.kill()
    await asyncio.to_thread(first.wait, 10)

    second = system.worker_process()
    try:
        await handle.result()
        assert (await subdomain_result(system, request.organization_id)).status == "active"
    finally:
        system.zitadel.faults.clear()
        second.terminate()
        await asyncio.to_thread(second.wait, 30)

    assert split(await event_types(system, request.organization_id)) == (BOOTSTRAP_EVENTS, SUBDOMAIN_EVENTS)
    assert sandbox_counts(system, request) == {"orgs": 1, "users": 1, "grants": 1, "emails": 1, "records": 1}
