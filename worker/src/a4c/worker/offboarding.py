"""OffboardOrganizationWorkflow: take a tenant down step by step; its identity goes after a grace period.

1. `organization.offboarding.started` (lifecycle → offboarding);
2. stop a running subdomain workflow (and wait until it closed: it could re-create the record);
3. remove the DNS records the organization owns (the DNS service checks the ownership marker);
4. deactivate the identity organization at once (its users can no longer log in);
5. a durable timer for the grace period, during which an operator's `cancel_offboarding` update
   ends the wait: the tenant is restored (event `organization.offboarding.cancelled`, lifecycle
   active again, identity reactivated, a new subdomain run re-creates and verifies the record);
6. the point of no return: `organization.offboarding.deletion_started`; from here the update is
   refused (its validator: nothing is recorded in the history for a refused update);
7. delete the identity organization, then `organization.offboarded` (lifecycle → offboarded, slug
   released: a new organization may take it after the quarantine; the events stay).

Every step is an event with a deterministic id scoped by workflow id and run, so a retried step
appends nothing twice and a second offboarding after a cancelled one records its own events. Its
first step checks the input against the worker's policy, as the bootstrap's does.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.workflow import ParentClosePolicy

with workflow.unsafe.imports_passed_through():
    from a4c.eventstore import EventType
    from a4c.worker.activities import EventActivities
    from a4c.worker.offboarding_activities import OffboardingActivities
    from a4c.worker.policy import REJECTED, PolicyActivities
    from a4c.worker.subdomain import ProvisionSubdomainWorkflow
    from a4c.worker.tracking import local, remote
    from a4c.workflows.models import EventToRecord
    from a4c.workflows.offboarding import (
        CANCEL_UPDATE,
        OFFBOARD_WORKFLOW,
        STATE_QUERY,
        TOO_LATE,
        CancelOffboardingInput,
        CancelOffboardingResult,
        OffboardingState,
        OffboardInput,
        OffboardOutcome,
        OffboardResult,
        OffboardStep,
        OffboardTarget,
    )
    from a4c.workflows.start import subdomain_start


@workflow.defn(name=OFFBOARD_WORKFLOW)
class OffboardOrganizationWorkflow:
    def __init__(self) -> None:
        self._step: str = OffboardStep.STARTED
        self._delete_after = ""
        self._irrevocable = False
        self._cancel: CancelOffboardingInput | None = None
        self._restored = False

    @workflow.query(name=STATE_QUERY)
    def state(self) -> OffboardingState:
        return OffboardingState(self._step, self._delete_after, self._irrevocable, self._cancel is not None)

    @workflow.update(name=CANCEL_UPDATE)
    async def cancel_offboarding(self, request: CancelOffboardingInput) -> CancelOffboardingResult:
        """Accepted during the grace period (or before it): answers once the tenant is restored."""
        first = self._cancel is None
        if first:
            self._cancel = request
        await workflow.wait_condition(lambda: self._restored)
        return CancelOffboardingResult(cancelled=first)

    @cancel_offboarding.validator
    def _validate_cancel(self, request: CancelOffboardingInput) -> None:
        if self._irrevocable:
            raise ApplicationError(
                "the offboarding is past its point of no return: "
                "deleting the identity organization has started",
                type=TOO_LATE,
                non_retryable=True,
            )

    @workflow.run
    async def run(self, request: OffboardInput) -> OffboardResult:
        request = await self._checked(request)
        self._request = request
        timeouts = request.timeouts
        target = OffboardTarget(
            request.organization_id,
            request.subdomain.zone,
            request.subdomain.fqdn,
            request.subdomain.record_type,
            request.actor,
        )
        grace = timedelta(seconds=request.grace_seconds)
        self._delete_after = (workflow.now() + grace).isoformat()
        started = {
            "reason": request.reason,
            "grace_seconds": request.grace_seconds,
            "delete_after": self._delete_after,
        }
        await self._record(EventType.OFFBOARDING_STARTED, OffboardStep.STARTED, started)

        self._step = OffboardStep.STOP_SUBDOMAIN
        await remote(OffboardingActivities.stop_subdomain_workflow, target, timeouts, waits=False)
        self._step = OffboardStep.REMOVE_DNS_RECORDS
        await remote(OffboardingActivities.remove_owned_dns_records, target, timeouts, waits=False)
        self._step = OffboardStep.DEACTIVATE_IDENTITY
        await remote(OffboardingActivities.deactivate_identity_organization, target, timeouts, waits=False)

        # The grace period: a durable timer (it survives worker restarts), cut short by a cancel.
        self._step = OffboardStep.GRACE_PERIOD
        with contextlib.suppress(asyncio.TimeoutError):
            await workflow.wait_condition(lambda: self._cancel is not None, timeout=grace)
        if self._cancel is not None:
            return await self._restore(target, self._cancel)

        self._irrevocable = True
        self._step = OffboardStep.DELETION_STARTED
        await self._record(EventType.OFFBOARDING_DELETION_STARTED, OffboardStep.DELETION_STARTED, {})
        self._step = OffboardStep.DELETE_IDENTITY
        await remote(OffboardingActivities.delete_identity_organization, target, timeouts, waits=False)
        self._step = OffboardStep.OFFBOARDED
        await self._record(EventType.OFFBOARDED, OffboardStep.OFFBOARDED, {})
        return OffboardResult(request.organization_id, OffboardOutcome.OFFBOARDED)

    async def _checked(self, request: OffboardInput) -> OffboardInput:
        try:
            return await local(PolicyActivities.check_offboarding, request, waits=False)
        except ActivityError as error:
            if isinstance(error.cause, ApplicationError) and error.cause.type == REJECTED:
                raise ApplicationError(error.cause.message, type=REJECTED, non_retryable=True) from error
            raise

    async def _restore(self, target: OffboardTarget, cancel: CancelOffboardingInput) -> OffboardResult:
        """Undo what the offboarding did: lifecycle active first (the subdomain check requires it),
        then the identity organization, then the record through a new subdomain run."""
        request = self._request
        self._step = OffboardStep.CANCELLED
        data = {"reason": cancel.reason} if cancel.reason else {}
        await self._record(EventType.OFFBOARDING_CANCELLED, OffboardStep.CANCELLED, data, actor=cancel.actor)
        self._step = OffboardStep.REACTIVATE_IDENTITY
        await remote(
            OffboardingActivities.reactivate_identity_organization, target, request.timeouts, waits=False
        )
        self._step = OffboardStep.RESTORE_SUBDOMAIN
        subdomain = request.subdomain
        await workflow.start_child_workflow(
            ProvisionSubdomainWorkflow.run,
            subdomain,
            parent_close_policy=ParentClosePolicy.ABANDON,
            **subdomain_start(subdomain, request.slug),
        )
        self._restored = True
        await workflow.wait_condition(workflow.all_handlers_finished)  # the cancel's answer goes out
        return OffboardResult(request.organization_id, OffboardOutcome.CANCELLED)

    async def _record(
        self, event_type: EventType, step: str, data: dict[str, Any], *, actor: str | None = None
    ) -> int:
        info = workflow.info()
        event = EventToRecord(
            self._request.organization_id,
            event_type,
            step,
            data,
            dedup_scope=f"{info.workflow_id}/{info.run_id}",
            actor=self._request.actor if actor is None else actor,
        )
        return await local(EventActivities.record_event, event, waits=False)
