"""The floor: the project's own workflows on a worker whose activities do nothing.

Same activity names and result types as a4c.worker.activities, same workflow classes, same worker
settings (a4c.worker.runner.build_worker's Worker arguments, read from the same environment), so the
only difference from the real worker is the work the activities do. `python -m bench.floor_worker`
runs until SIGTERM; TEMPORAL_ADDRESS and TEMPORAL_TASK_QUEUE say where.
"""

from __future__ import annotations

import asyncio
import os
import signal
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity

from a4c.eventstore import EventType
from a4c.worker.config import Settings
from a4c.worker.policy import PolicyActivities
from a4c.worker.runner import WORKFLOWS, queue_workers
from a4c.workflows.models import (
    BootstrapInput,
    CleanupInput,
    EventToRecord,
    GrantInput,
    IdentityCreated,
    InvitationSent,
    InviteInput,
    RecordCreated,
    SubdomainInput,
)

# The one thing the floor remembers: each organization's recorded name, which the real worker's
# subdomain check reads back from the event store (the floor has none).
_ASKED: dict[uuid.UUID, str] = {}


@activity.defn(name="record_event")
async def record_event(event: EventToRecord) -> int:
    if event.event_type == EventType.CREATED:
        _ASKED[uuid.UUID(event.organization_id)] = str(event.data["subdomain_fqdn"])
    return 0


@activity.defn(name="create_identity_organization")
async def create_identity_organization(request: BootstrapInput) -> IdentityCreated:
    return IdentityCreated(f"id-{request.organization_id}", f"user-{request.organization_id}", True)


@activity.defn(name="grant_admin_role")
async def grant_admin_role(request: GrantInput) -> str:
    return "grant"


@activity.defn(name="send_invitation")
async def send_invitation(request: InviteInput) -> InvitationSent:
    return InvitationSent(request.admin_user_id, "admin@example.invalid")


@activity.defn(name="send_admin_invitation")
async def send_admin_invitation(request: InviteInput) -> str:
    return "admin@example.invalid"


@activity.defn(name="delete_identity_organization")
async def delete_identity_organization(request: CleanupInput) -> bool:
    return True


@activity.defn(name="create_dns_record")
async def create_dns_record(request: SubdomainInput) -> RecordCreated:
    return RecordCreated(f"rec-{request.organization_id}", True)


@activity.defn(name="check_propagation")
async def check_propagation(request: SubdomainInput) -> None:
    return None


@activity.defn(name="remove_dns_record")
async def remove_dns_record(request: CleanupInput) -> list[str]:
    return []


NO_OPS: list[Any] = [
    record_event,
    create_identity_organization,
    grant_admin_role,
    send_invitation,
    send_admin_invitation,
    delete_identity_organization,
    create_dns_record,
    check_propagation,
    remove_dns_record,
]


async def _as_asked(organization_id: uuid.UUID) -> str | None:
    return _ASKED.get(organization_id)


async def main() -> None:
    settings = Settings.from_env(os.environ)
    if settings.base_domain is None:
        raise SystemExit("floor_worker: A4C_BASE_DOMAIN is required (the bench wiring sets it)")
    # The first-step policy checks are the real ones (part of the floor); the floor records nothing,
    # so the organization's recorded name is taken to be the one asked for.
    checks = PolicyActivities(settings.policy(settings.base_domain), _as_asked)
    client = await settings.temporal.connect()
    # The same queues and rate limits as the real worker (a4c.workflows.queues).
    worker = queue_workers(
        client,
        settings.task_queue,
        workflows=WORKFLOWS,
        activities=[checks.check_bootstrap, checks.check_subdomain, *NO_OPS],
        queues=settings.queues,
        rates=settings.queue_rates,
        max_concurrent_activities=settings.max_concurrent_activities,
        max_concurrent_workflow_tasks=settings.max_concurrent_workflow_tasks,
        graceful_shutdown_timeout=timedelta(seconds=settings.shutdown_grace_seconds),
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=settings.sticky_timeout_seconds),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with worker:
        await stop.wait()


if __name__ == "__main__":
    asyncio.run(main())
