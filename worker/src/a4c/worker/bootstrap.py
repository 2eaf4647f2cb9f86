"""BootstrapOrganizationWorkflow: identity org + admin, record, subdomain child, role, invitation.

The subdomain child is started with ParentClosePolicy.ABANDON and only its
*start* is awaited: DNS verification takes minutes and must not hold up the bootstrap. Any
unrecoverable failure, or a cancellation, runs the registered compensations in reverse order and
records what was cleaned up.

Its first step checks the input against the worker's own policy (a4c.worker.policy) and continues
with the worker's subdomain input and timeouts: a refused input ends the workflow failed before
anything exists, with no event (there is nothing to compensate and no organization to record).
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
    from a4c.worker.activities import EventActivities, IdentityActivities
    from a4c.worker.compensation import Compensations
    from a4c.worker.policy import POLICY_PATCH, REJECTED, PolicyActivities
    from a4c.worker.subdomain import ProvisionSubdomainWorkflow
    from a4c.worker.tracking import StepTracker, local, remote
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
        if workflow.patched(POLICY_PATCH):
            request = await self._checked(request)
        self._request = request
        self._saga = Compensations(request, self._record)
        self._set_status(BootstrapState.RUNNING)
        timeouts = request.timeouts
        try:
            self._saga.register_identity()
            identity: IdentityCreated = await self._step(
                BootstrapStep.IDENTITY,
                lambda: remote(IdentityActivities.create_identity_organization, request, timeouts),
            )
            await self._step(BootstrapStep.RECORD, self._record_organization)
            child = await self._step(BootstrapStep.SUBDOMAIN, self._start_subdomain)
            grant = GrantInput(request.organization_id, identity.admin_user_id, request.actor)
            await self._step(
                BootstrapStep.ROLE,
                lambda: remote(IdentityActivities.grant_admin_role, grant, timeouts),
            )
            invite = InviteInput(request.organization_id, identity.admin_user_id, request.actor)
            await self._step(
                BootstrapStep.INVITE,
                lambda: remote(IdentityActivities.send_admin_invitation, invite, timeouts),
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
            checked = await local(PolicyActivities.check_bootstrap, request)
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
        return result

    async def _record(self, event_type: EventType, step: str, data: dict[str, Any]) -> int:
        request = self._request
        event = EventToRecord(request.organization_id, event_type, step, data, actor=request.actor)
        return await local(EventActivities.record_event, event)

    async def _record_organization(self) -> int:
        request = self._request
        data = {"name": request.name, "slug": request.slug, "subdomain_fqdn": request.subdomain.fqdn}
        return await self._record(EventType.CREATED, BootstrapStep.RECORD, data)

    async def _record_completed(self) -> int:
        return await self._record(EventType.BOOTSTRAP_COMPLETED, BootstrapStep.COMPLETE, {})

    async def _start_subdomain(self) -> ChildWorkflowHandle[ProvisionSubdomainWorkflow, SubdomainResult]:
        request = self._request
        self._saga.register_subdomain()
        handle = await workflow.start_child_workflow(
            ProvisionSubdomainWorkflow.run,
            request.subdomain,
            parent_close_policy=ParentClosePolicy.ABANDON,
            **subdomain_start(request.subdomain, request.slug),
        )
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
            await self._record(EventType.BOOTSTRAP_COMPENSATED, "compensated", {"cleanup": cleanup.done})
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
