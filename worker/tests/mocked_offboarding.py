"""The real offboarding workflow on a worker with mocked activities (as mocked.py does for the bootstrap).

async with offboarding_worker(env.client, OffboardScript()) as mocks:
    handle = await start_offboarding(env.client, mocks.task_queue, offboard_input("acme"))
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy

from a4c.worker.policy import PolicyActivities
from a4c.worker.runner import WORKFLOWS, queue_workers
from a4c.workflows.models import StepTimeouts, SubdomainInput
from a4c.workflows.offboarding import (
    OFFBOARD_WORKFLOW,
    OffboardInput,
    OffboardResult,
    OffboardTarget,
    offboard_workflow_id,
)

try:
    from .mocked import POLICY, ZONE, MockedActivities, Script
except ImportError:  # imported by record_offboarding_histories.py, run as a script beside it
    from mocked import POLICY, ZONE, MockedActivities, Script  # type: ignore[no-redef]


@dataclass
class OffboardScript:
    # Activity names whose mock waits until the test sets `release` (to hold the workflow there).
    hold_at: tuple[str, ...] = ()


@dataclass
class OffboardingMocks:
    base: MockedActivities
    script: OffboardScript
    release: asyncio.Event = field(default_factory=asyncio.Event)
    names: dict[str, str] = field(default_factory=dict)  # organization id → recorded fqdn

    @property
    def task_queue(self) -> str:
        return self.base.task_queue

    async def recorded_name(self, organization_id: uuid.UUID) -> str | None:
        return self.names.get(str(organization_id))

    async def _enter(self, name: str) -> None:
        await self.base._enter(name)
        if name in self.script.hold_at:
            await self.release.wait()

    @activity.defn(name="stop_subdomain_workflow")
    async def stop_subdomain_workflow(self, target: OffboardTarget) -> bool:
        await self._enter("stop_subdomain_workflow")
        return False

    @activity.defn(name="remove_owned_dns_records")
    async def remove_owned_dns_records(self, target: OffboardTarget) -> list[str]:
        await self._enter("remove_owned_dns_records")
        return [f"record-{target.organization_id[:8]}"]

    @activity.defn(name="deactivate_identity_organization")
    async def deactivate_identity_organization(self, target: OffboardTarget) -> bool:
        await self._enter("deactivate_identity_organization")
        return True

    @activity.defn(name="reactivate_identity_organization")
    async def reactivate_identity_organization(self, target: OffboardTarget) -> bool:
        await self._enter("reactivate_identity_organization")
        return True

    @activity.defn(name="delete_offboarded_identity_organization")
    async def delete_identity_organization(self, target: OffboardTarget) -> bool:
        await self._enter("delete_offboarded_identity_organization")
        return True

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.stop_subdomain_workflow,
            self.remove_owned_dns_records,
            self.deactivate_identity_organization,
            self.reactivate_identity_organization,
            self.delete_identity_organization,
        ]


@contextlib.asynccontextmanager
async def offboarding_worker(client: Client, script: OffboardScript) -> AsyncIterator[OffboardingMocks]:
    """The real workflows (offboarding, and the subdomain child a cancel starts), mocked activities."""
    mocks = OffboardingMocks(MockedActivities(Script()), script)
    checks = PolicyActivities(POLICY, mocks.recorded_name)
    activities = [
        checks.check_subdomain,
        checks.check_offboarding,
        *mocks.base.all(),
        *mocks.all(),
    ]
    # Every queue, as a worker process serving all of them: the upstream activities run on theirs.
    async with queue_workers(client, mocks.task_queue, workflows=WORKFLOWS, activities=activities, rates={}):
        yield mocks


def offboard_input(
    slug: str, *, grace_seconds: float = 7 * 86400, organization_id: str | None = None
) -> OffboardInput:
    organization_id = organization_id or str(uuid.uuid4())
    return OffboardInput(
        organization_id=organization_id,
        slug=slug,
        reason="contract ended",
        grace_seconds=grace_seconds,
        subdomain=SubdomainInput(
            organization_id=organization_id, zone=ZONE, fqdn=f"{slug}.{ZONE}", target=f"app.{ZONE}"
        ),
        timeouts=StepTimeouts(),
        actor="operator",
    )


async def start_offboarding(
    client: Client, mocks: OffboardingMocks, request: OffboardInput, *, recorded: bool = True
) -> WorkflowHandle[Any, OffboardResult]:
    """Start it as the provisioning service does; `recorded`: the event store knows the organization."""
    if recorded:
        mocks.names[request.organization_id] = request.subdomain.fqdn
    return await client.start_workflow(
        OFFBOARD_WORKFLOW,
        request,
        id=offboard_workflow_id(request.organization_id),
        task_queue=mocks.task_queue,
        result_type=OffboardResult,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
    )
