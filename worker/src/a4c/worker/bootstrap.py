"""BootstrapOrganizationWorkflow: identity org + admin, record, subdomain child, role, invitation.

The subdomain child is started with ParentClosePolicy.ABANDON and only its
*start* is awaited: DNS verification takes minutes and must not hold up the bootstrap. Any
unrecoverable failure, or a cancellation, runs the registered compensations in reverse order and
records what was cleaned up.

Its first step checks the input against the worker's own policy (a4c.worker.policy) and continues
with the worker's subdomain input and timeouts: a refused input ends the workflow failed before
anything exists, with no event (there is nothing to compensate and no organization to record).

Cancel semantics: a cancel waits for the running step (ActivityCancellationType.
WAIT_CANCELLATION_COMPLETED; the activities finish what they started), so compensation runs after
it and also removes what that step created. The invitation is the point of no return: an email
cannot be recalled, so from the moment it is being sent a cancel is refused, the bootstrap
completes, and the completion event says the cancel came too late. Temporal's status and the
projection's thus always agree: CANCELED/cancelled (everything undone) or COMPLETED/completed.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception
from temporalio.workflow import ChildWorkflowHandle, ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from a4c.eventstore import BootstrapState, EventType
    from a4c.worker import domain_metrics
    from a4c.worker.activities import EventActivities, IdentityActivities, invitation_event
    from a4c.worker.compensation import Compensations
    from a4c.worker.policy import POLICY_PATCH, REJECTED, PolicyActivities
    from a4c.worker.subdomain import ProvisionSubdomainWorkflow
    from a4c.worker.tracking import WAIT_FOR_STEPS_PATCH, StepTracker, local, remote, uncancellable
    from a4c.workflows import search
    from a4c.workflows.models import (
        BOOTSTRAP_STEPS,
        BOOTSTRAP_WORKFLOW,
        BootstrapInput,
        BootstrapResult,
        BootstrapStep,
        EventToRecord,
        GrantInput,
        IdentityCreated,
        InvitationSent,
        InviteInput,
        Progress,
        SubdomainResult,
    )
    from a4c.workflows.start import subdomain_start

T = TypeVar("T")


@workflow.defn(name=BOOTSTRAP_WORKFLOW)
class BootstrapOrganizationWorkflow:
    def __init__(self) -> None:
        self._tracker = StepTracker(BOOTSTRAP_STEPS, BootstrapState.INITIATED)

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._tracker.progress()

    @workflow.run
    async def run(self, request: BootstrapInput) -> BootstrapResult:
        # Histories from before the check replay without it (and with their input's policy).
        checks = workflow.patched(POLICY_PATCH)
        # One marker for this workflow's issue-21 behaviour: waiting cancels, the point of no return
        # and the invitation split from its event. Histories without it replay the older code paths.
        # Asked before the first await, so the marker is always in the first workflow task: asked
        # after the policy check's local activity, a replay on another worker (after a crash) did
        # not see the marker where core looked for it whenever that activity's marker and the code
        # after it were recorded in different workflow tasks, and the workflow was stuck on a
        # nondeterminism error.
        self._waits = workflow.patched(WAIT_FOR_STEPS_PATCH)
        if checks:
            request = await self._checked(request)
        self._request = request
        self._irrevocable = False
        self._too_late: str | None = None
        self._saga = Compensations(request, self._record, waits=self._waits)
        self._set_status(BootstrapState.RUNNING)
        timeouts = request.timeouts
        try:
            self._saga.register_identity()
            identity: IdentityCreated = await self._step(
                BootstrapStep.IDENTITY,
                lambda: remote(
                    IdentityActivities.create_identity_organization, request, timeouts, waits=self._waits
                ),
            )
            await self._step(BootstrapStep.RECORD, self._record_organization)
            child = await self._step(BootstrapStep.SUBDOMAIN, self._start_subdomain)
            grant = GrantInput(request.organization_id, identity.admin_user_id, request.actor)
            await self._step(
                BootstrapStep.ROLE,
                lambda: remote(IdentityActivities.grant_admin_role, grant, timeouts, waits=self._waits),
            )
            invite = InviteInput(request.organization_id, identity.admin_user_id, request.actor)
            if self._waits:
                await self._past_the_point_of_no_return(self._invite_and_complete(invite))
            else:
                await self._step(
                    BootstrapStep.INVITE,
                    lambda: remote(IdentityActivities.send_admin_invitation, invite, timeouts, waits=False),
                )
                await self._step(BootstrapStep.COMPLETE, self._record_completed)
        except BaseException as error:
            raise await self._fail(error) from error
        self._set_status(BootstrapState.COMPLETED)
        domain_metrics.bootstrap_finished(BootstrapState.COMPLETED)
        return BootstrapResult(
            request.organization_id,
            BootstrapState.COMPLETED,
            identity.identity_organization_id,
            identity.admin_user_id,
            child.id,
        )

    async def _checked(self, request: BootstrapInput) -> BootstrapInput:
        """The input with the worker's subdomain policy and timeouts, or the workflow fails here."""
        try:
            checked = await local(PolicyActivities.check_bootstrap, request, waits=False)
        except ActivityError as error:
            self._set_status(BootstrapState.FAILED)
            if isinstance(error.cause, ApplicationError) and error.cause.type == REJECTED:
                raise ApplicationError(error.cause.message, type=REJECTED, non_retryable=True) from error
            raise
        return dataclasses.replace(request, subdomain=checked.subdomain, timeouts=checked.timeouts)

    async def _step(self, name: str, run: Callable[[], Awaitable[T]]) -> T:
        self._tracker.start(name)
        try:
            result = await run()
        except BaseException as error:
            self._tracker.fail(name, _describe(error))
            raise
        self._tracker.finish(name)
        reason = workflow.cancellation_reason()
        if self._waits and not self._irrevocable and reason is not None:
            # The cancel came while this step ran; it was let finish, so now compensate it too.
            raise asyncio.CancelledError(reason)
        return result

    async def _past_the_point_of_no_return(self, work: Awaitable[None]) -> None:
        """Run `work` to its end whatever cancels arrive meanwhile; they are too late."""
        self._irrevocable = True

        def refuse() -> None:
            self._too_late = workflow.cancellation_reason() or "cancelled"
            workflow.logger.warning("cancel refused: the invitation is already being sent")

        await uncancellable(work, refuse)

    async def _invite_and_complete(self, invite: InviteInput) -> None:
        timeouts = self._request.timeouts
        # The email and its event are separate steps: retries of the append never send again.
        sent: InvitationSent = await self._step(
            BootstrapStep.INVITE,
            lambda: remote(IdentityActivities.send_invitation, invite, timeouts, waits=True),
        )
        await local(
            EventActivities.record_event,
            invitation_event(invite.organization_id, sent, invite.actor),
            waits=True,
        )
        await self._step(BootstrapStep.COMPLETE, self._record_completed)

    async def _record(self, event_type: EventType, step: str, data: dict[str, Any]) -> int:
        request = self._request
        event = EventToRecord(request.organization_id, event_type, step, data, actor=request.actor)
        return await local(EventActivities.record_event, event, waits=self._waits)

    async def _record_organization(self) -> int:
        request = self._request
        data = {"name": request.name, "slug": request.slug, "subdomain_fqdn": request.subdomain.fqdn}
        return await self._record(EventType.CREATED, BootstrapStep.RECORD, data)

    async def _record_completed(self) -> int:
        data = {"cancel_too_late": self._too_late} if self._too_late is not None else {}
        return await self._record(EventType.BOOTSTRAP_COMPLETED, BootstrapStep.COMPLETE, data)

    async def _start_subdomain(self) -> ChildWorkflowHandle[ProvisionSubdomainWorkflow, SubdomainResult]:
        request = self._request
        self._saga.register_subdomain()
        start = workflow.start_child_workflow(
            ProvisionSubdomainWorkflow.run,
            request.subdomain,
            parent_close_policy=ParentClosePolicy.ABANDON,
            **subdomain_start(request.subdomain, request.slug),
        )
        # A cancel during the start must not leave a child compensation cannot wait for: finish the
        # start, then `_step` raises the cancel and compensation stops the child it now holds.
        handle = await (uncancellable(start) if self._waits else start)
        self._saga.subdomain_started(handle)
        return handle

    def _set_status(self, status: BootstrapState) -> None:
        self._tracker.status = status
        workflow.upsert_search_attributes([search.BOOTSTRAP_STATUS.value_set(status)])

    async def _fail(self, error: BaseException) -> BaseException:
        """Compensate and record; returns the exception that ends the workflow (cancelled or failed)."""
        cancelled = is_cancelled_exception(error)
        failed_step = self._tracker.current
        # An operator's cancel carries a reason (CancelBootstrap passes it); record that, not the exception.
        reason = (workflow.cancellation_reason() if cancelled else None) or _describe(error)
        cleanup = await self._saga.run(self._tracker)
        if cancelled:
            await self._record(EventType.BOOTSTRAP_CANCELLED, "cancelled", {"reason": reason})
        else:
            data = {"failed_step": failed_step, "error": reason, "cleanup": cleanup.done}
            await self._record(EventType.BOOTSTRAP_FAILED, "failed", data)
        if cleanup.complete:
            done: dict[str, Any] = {"cleanup": cleanup.done}
            if self._waits:
                done["removed"] = cleanup.removed  # what each undo actually found and removed
            await self._record(EventType.BOOTSTRAP_COMPENSATED, "compensated", done)
        self._set_status(BootstrapState.CANCELLED if cancelled else BootstrapState.FAILED)
        domain_metrics.bootstrap_finished(BootstrapState.CANCELLED if cancelled else BootstrapState.FAILED)
        if cancelled:
            return asyncio.CancelledError(reason)
        return ApplicationError(
            f"bootstrap failed at {failed_step}: {reason}",
            {"cleanup": cleanup.done},
            type="BootstrapFailed",
            non_retryable=True,
        )


def _describe(error: BaseException) -> str:
    """The innermost message: ActivityError wraps the ApplicationError that says what went wrong."""
    message = str(error)
    cause = error.__cause__ or getattr(error, "cause", None)
    while cause is not None:
        message = str(cause) or message
        cause = cause.__cause__ or getattr(cause, "cause", None)
    return message or type(error).__name__
