"""The real workflows on a worker whose activities are mocks registered under the real names.

The workflows find activities by name only, so these stand-ins replace the services, the database
and the sandbox: a test runs in seconds, says how each upstream answers (`Script`) and reads back
the order in which the workflows called them (`MockedActivities.calls`).

    async with mocked_worker(env.client, Script(fail=("grant_admin_role",))) as mocks:
        handle = await start_bootstrap(env.client, mocks.task_queue, bootstrap_input("acme"))

Used by the fast workflow tests and by `record_histories.py` (the replay fixtures).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from temporalio import activity
from temporalio.api.testservice.v1 import LockTimeSkippingRequest, UnlockTimeSkippingRequest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from a4c.eventstore import EventType
from a4c.worker.activities import NOT_PROPAGATED
from a4c.worker.policy import PolicyActivities, WorkerPolicy
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
    StepTimeouts,
    SubdomainInput,
    VerificationPolicy,
)

ZONE = "firstovertheline.com"
# A mock that is still asked to check after this many attempts means the deadline did not stop
# the checks: it fails loudly instead of letting the retries run until the test's timeout.
RUNAWAY_CHECKS = 200


@dataclass(frozen=True)
class Call:
    workflow_id: str
    activity: str
    detail: str = ""
    # Server time when this attempt started (skipped time included), for the spacing and deadline tests.
    started: datetime | None = None


@dataclass
class Script:
    """How the mocked upstreams answer; the defaults are the happy path."""

    # Activity names that fail with a permanent (non-retryable) error.
    fail: tuple[str, ...] = ()
    # Activity name that runs until it is cancelled (to cancel a bootstrap mid-step), heartbeating as
    # the real (steady) activities do, since a cancel reaches an activity only through a heartbeat.
    block_at: str | tuple[str, ...] | None = None
    # The blocked activity then still completes, as a real call that was already applied does.
    lands_after_cancel: bool = False
    # check_propagation answers "not yet" this many times before "propagated"; None: never propagates.
    checks_before_propagated: int | None = 0


@dataclass
class MockedActivities:
    script: Script
    task_queue: str = field(default_factory=lambda: f"mocked-{uuid.uuid4().hex[:8]}")
    calls: list[Call] = field(default_factory=list)
    events: list[EventToRecord] = field(default_factory=list)
    started: defaultdict[str, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    # A test sets one to let a blocked activity finish without a cancel (a cancel the workflow refused).
    released: defaultdict[str, asyncio.Event] = field(default_factory=lambda: defaultdict(asyncio.Event))
    _checks: int = 0

    def of(self, workflow_id: str) -> list[tuple[str, str]]:
        """(activity, detail) of one workflow's calls, in order."""
        return [(c.activity, c.detail) for c in self.calls if c.workflow_id == workflow_id]

    async def recorded_name(self, organization_id: uuid.UUID) -> str | None:
        """What the event store would answer: the name in the organization's `organization.created`."""
        for event in self.events:
            if event.organization_id == str(organization_id) and event.event_type == EventType.CREATED:
                return str(event.data["subdomain_fqdn"])
        return None

    def event(self, event_type: str) -> EventToRecord:
        return next(e for e in self.events if e.event_type == event_type)

    async def _enter(self, name: str, detail: str = "") -> None:
        info = activity.info()
        self.calls.append(Call(info.workflow_id or "", name, detail, info.started_time))
        self.started[name].set()
        blocked = self.script.block_at
        if name == blocked or (isinstance(blocked, tuple) and name in blocked):
            while not activity.is_cancelled() and not self.released[name].is_set():
                activity.heartbeat()
                with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                    await asyncio.wait_for(activity.wait_for_cancelled(), 0.05)
            if self.released[name].is_set():
                return
            self.calls.append(Call(info.workflow_id or "", name, "cancel seen"))
            if not self.script.lands_after_cancel:
                raise asyncio.CancelledError(f"{name} cancelled")
        if name in self.script.fail:
            raise ApplicationError(f"{name} refused", type="InvalidArgument", non_retryable=True)

    @activity.defn(name="record_event")
    async def record_event(self, event: EventToRecord) -> int:
        await self._enter("record_event", event.event_type)
        self.events.append(event)
        return len(self.events)

    @activity.defn(name="create_identity_organization")
    async def create_identity_organization(self, request: BootstrapInput) -> IdentityCreated:
        await self._enter("create_identity_organization")
        return IdentityCreated(f"zitadel-{request.slug}", f"admin-{request.slug}", created=True)

    @activity.defn(name="grant_admin_role")
    async def grant_admin_role(self, request: GrantInput) -> str:
        await self._enter("grant_admin_role")
        return f"grant-{request.admin_user_id}"

    @activity.defn(name="send_invitation")
    async def send_invitation(self, request: InviteInput) -> InvitationSent:
        await self._enter("send_invitation")
        return InvitationSent(request.admin_user_id, "admin@example.test")

    @activity.defn(name="send_admin_invitation")
    async def send_admin_invitation(self, request: InviteInput) -> str:
        await self._enter("send_admin_invitation")
        return "admin@example.test"

    @activity.defn(name="delete_identity_organization")
    async def delete_identity_organization(self, request: CleanupInput) -> bool:
        await self._enter("delete_identity_organization")
        return True

    @activity.defn(name="create_dns_record")
    async def create_dns_record(self, request: SubdomainInput) -> RecordCreated:
        await self._enter("create_dns_record")
        return RecordCreated(f"record-{request.organization_id[:8]}", created=True)

    @activity.defn(name="check_propagation")
    async def check_propagation(self, request: SubdomainInput) -> None:
        await self._enter("check_propagation")
        self._checks += 1
        if self._checks > RUNAWAY_CHECKS:
            raise ApplicationError(
                "checks never stopped: the deadline is not bounding them", non_retryable=True
            )
        wanted = self.script.checks_before_propagated
        if wanted is None or self._checks <= wanted:
            raise ApplicationError(f"{request.fqdn} not yet propagated", type=NOT_PROPAGATED)

    @activity.defn(name="remove_dns_record")
    async def remove_dns_record(self, request: CleanupInput) -> list[str]:
        await self._enter("remove_dns_record")
        return [f"record-{request.organization_id[:8]}"]

    def all(self) -> list[Callable[..., Any]]:
        return [
            self.record_event,
            self.create_identity_organization,
            self.grant_admin_role,
            self.send_invitation,
            self.send_admin_invitation,
            self.delete_identity_organization,
            self.create_dns_record,
            self.check_propagation,
            self.remove_dns_record,
        ]


# The worker's policy in these tests: the production defaults in the tests' zone.
POLICY = WorkerPolicy(zone=ZONE, target=f"app.{ZONE}")


@contextlib.asynccontextmanager
async def mocked_worker(
    client: Client, script: Script, policy: WorkerPolicy = POLICY
) -> AsyncIterator[MockedActivities]:
    """The real workflows and the mocks on a worker of their own task queue, for one test.

    The first-step policy checks are the real ones (they call nothing): `policy` is the worker's.
    """
    mocks = MockedActivities(script)
    checks = PolicyActivities(policy, mocks.recorded_name)
    activities = [checks.check_bootstrap, checks.check_subdomain, *mocks.all()]
    # Every queue, as a worker process serving all of them: the upstream activities run on theirs.
    async with queue_workers(client, mocks.task_queue, workflows=WORKFLOWS, activities=activities, rates={}):
        yield mocks


def bootstrap_input(
    slug: str,
    *,
    verification: VerificationPolicy | None = None,
    timeouts: StepTimeouts | None = None,
    organization_id: str | None = None,
) -> BootstrapInput:
    """A bootstrap request; the production policies unless a test passes its own."""
    organization_id = organization_id or str(uuid.uuid4())
    timeouts = timeouts or StepTimeouts()
    return BootstrapInput(
        organization_id=organization_id,
        name=f"{slug.title()} Health",
        slug=slug,
        admin_email=f"admin@{slug}.example",
        admin_given_name="Ada",
        admin_family_name="Admin",
        subdomain=SubdomainInput(
            organization_id=organization_id,
            zone=ZONE,
            fqdn=f"{slug}.{ZONE}",
            target=f"app.{ZONE}",
            verification=verification or VerificationPolicy(),
            timeouts=timeouts,
        ),
        timeouts=timeouts,
    )


@contextlib.asynccontextmanager
async def skipping_time(client: Client) -> AsyncIterator[None]:
    """Let the time-skipping server skip time while the block awaits something.

    The environment does this by itself only while a handle from its own `start_workflow` is awaited,
    not for a handle fetched by id (such as the subdomain child's).
    """
    await client.test_service.unlock_time_skipping(UnlockTimeSkippingRequest())
    try:
        yield
    finally:
        await client.test_service.lock_time_skipping(LockTimeSkippingRequest())
