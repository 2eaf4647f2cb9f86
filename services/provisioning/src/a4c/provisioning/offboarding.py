"""OffboardOrganization and CancelOffboarding: start the offboarding workflow, or cancel it in time.

Offboarding is idempotent by organization: the workflow id is derived from the organization id
(a running one is found, USE_EXISTING), and an organization already offboarding or offboarded
answers that offboarding with already_existed=true instead of an error. What happens upstream, and
when a cancel is too late, is the workflow's (a4c.worker.offboarding); this module decides only
whether an organization can be offboarded now and turns the workflow's answers into the API's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from a4c.common.deadline import Deadline
from a4c.eventstore import BootstrapState, LifecycleStatus, Organization
from a4c.provisioning import organizations
from a4c.provisioning.deps import Dependencies
from a4c.provisioning.errors import FailedPrecondition
from a4c.provisioning.temporal import Execution, TooLate
from a4c.workflows.offboarding import CancelOffboardingInput, OffboardInput, offboard_workflow_id

STATE_TIMEOUT = 3.0


@dataclass(frozen=True)
class Offboarded:
    organization_id: str
    workflow_id: str
    already_existed: bool
    lifecycle_status: LifecycleStatus
    delete_after: datetime | None


@dataclass(frozen=True)
class OffboardingCancelled:
    cancelled: bool
    lifecycle_status: LifecycleStatus


class Offboarding:
    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def offboard(self, ref: UUID | str, reason: str, *, actor: str) -> Offboarded:
        deps = self._deps
        organization = await organizations.find(deps.store, ref)
        workflow_id = offboard_workflow_id(str(organization.id))
        if organization.lifecycle_status is not LifecycleStatus.ACTIVE:
            return await self._existing(organization)
        if await deps.workflows.execution(workflow_id) == Execution.RUNNING:
            # Started a moment ago (its first event not appended yet): the same offboarding.
            return await self._existing(organization)
        _check_offboardable(organization)
        started = await deps.workflows.start_offboarding(self._input(organization, reason, actor))
        grace = timedelta(seconds=deps.settings.offboarding_grace_seconds)
        return Offboarded(
            str(organization.id),
            started.workflow_id,
            already_existed=False,
            lifecycle_status=LifecycleStatus.OFFBOARDING,
            delete_after=datetime.now().astimezone() + grace,
        )

    async def cancel(self, ref: UUID | str, reason: str, *, actor: str) -> OffboardingCancelled:
        deps = self._deps
        organization = await organizations.find(deps.store, ref)
        organization_id = str(organization.id)
        if organization.lifecycle_status is LifecycleStatus.OFFBOARDED:
            raise FailedPrecondition("the organization is already offboarded", "ALREADY_OFFBOARDED")
        execution = await deps.workflows.execution(offboard_workflow_id(organization_id))
        if execution != Execution.RUNNING:
            if execution == Execution.CLOSED and organization.lifecycle_status is LifecycleStatus.ACTIVE:
                return OffboardingCancelled(False, LifecycleStatus.ACTIVE)  # cancelled before
            raise FailedPrecondition("the organization is not being offboarded", "NOT_OFFBOARDING")
        deadline = Deadline.after(deps.settings.step_timeouts.attempt_seconds)
        try:
            result = await deps.workflows.cancel_offboarding(
                organization_id, CancelOffboardingInput(reason, actor), deadline
            )
        except TooLate as refused:
            raise FailedPrecondition(str(refused), "PAST_POINT_OF_NO_RETURN") from None
        after = await organizations.find(deps.store, organization.id)
        return OffboardingCancelled(result.cancelled, after.lifecycle_status)

    async def _existing(self, organization: Organization) -> Offboarded:
        deps = self._deps
        organization_id = str(organization.id)
        state = await deps.workflows.offboarding_state(organization_id, Deadline.after(STATE_TIMEOUT))
        delete_after = datetime.fromisoformat(state.delete_after) if state and state.delete_after else None
        if delete_after is None and organization.offboarding_started_at is not None:
            delete_after = organization.offboarding_started_at + timedelta(
                seconds=deps.settings.offboarding_grace_seconds
            )
        return Offboarded(
            organization_id,
            offboard_workflow_id(organization_id),
            already_existed=True,
            lifecycle_status=(
                LifecycleStatus.OFFBOARDING
                if organization.lifecycle_status is LifecycleStatus.ACTIVE
                else organization.lifecycle_status
            ),
            delete_after=delete_after,
        )

    def _input(self, organization: Organization, reason: str, actor: str) -> OffboardInput:
        deps, organization_id = self._deps, str(organization.id)
        slug = organization.slug or ""
        fqdn = organization.subdomain_fqdn or deps.subdomain_fqdn(slug)
        return OffboardInput(
            organization_id=organization_id,
            slug=slug,
            reason=reason,
            grace_seconds=deps.settings.offboarding_grace_seconds,
            subdomain=deps.subdomain_input(organization_id, fqdn, actor=actor),
            timeouts=deps.settings.step_timeouts,
            actor=actor,
        )


def _check_offboardable(organization: Organization) -> None:
    if not organization.bootstrap_status.is_final:
        raise FailedPrecondition(
            f"the bootstrap is {organization.bootstrap_status.value}; cancel it instead of offboarding",
            "BOOTSTRAP_RUNNING",
        )
    if organization.slug_released_at is not None:
        state = organization.bootstrap_status
        detail = "cancelled" if state is BootstrapState.CANCELLED else "failed"
        raise FailedPrecondition(
            f"nothing to offboard: the bootstrap {detail} and its compensation removed everything",
            "NOTHING_TO_OFFBOARD",
        )
