"""ProvisionSubdomainWorkflow: create the DNS record, then wait until every nameserver answers.

The wait is Temporal retries of a single-check activity, spaced by the input's policy and bounded
by its deadline (schedule-to-close): no loop or sleep in code, and retries add no history events.
A subdomain that never verifies ends as failed without failing anything else; it can be retried
by starting this workflow again (a new run, so its events get new deterministic ids).

Its first step checks the input against the worker's own policy (a4c.worker.policy): the zone, name,
target and proxying must be the worker's, and the pacing and timeouts are the worker's. A refused
input fails the workflow before any record or event exists.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from a4c.eventstore import EventType, SubdomainStatus
    from a4c.worker import domain_metrics
    from a4c.worker.activities import NOT_PROPAGATED, DnsActivities, EventActivities
    from a4c.worker.policy import POLICY_PATCH, REJECTED, PolicyActivities
    from a4c.worker.tracking import WAIT_FOR_STEPS_PATCH, StepTracker, local, remote
    from a4c.workflows import search
    from a4c.workflows.models import (
        SUBDOMAIN_STEPS,
        SUBDOMAIN_WORKFLOW,
        EventToRecord,
        Progress,
        SubdomainInput,
        SubdomainResult,
        SubdomainStep,
    )
    from a4c.workflows.queues import activity_queue


@workflow.defn(name=SUBDOMAIN_WORKFLOW)
class ProvisionSubdomainWorkflow:
    def __init__(self) -> None:
        self._tracker = StepTracker(SUBDOMAIN_STEPS, SubdomainStatus.PENDING)

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._tracker.progress()

    @workflow.run
    async def run(self, request: SubdomainInput) -> SubdomainResult:
        # Histories from before the check replay without it (and with their input's policy).
        checks = workflow.patched(POLICY_PATCH)
        # A cancel (the bootstrap compensating) waits for a running create_dns_record, so the parent
        # removes the record only after it can no longer appear; older histories replay TRY_CANCEL.
        # Asked before the first await, as in the bootstrap (bootstrap.py says why).
        self._waits = workflow.patched(WAIT_FOR_STEPS_PATCH)
        if checks:
            request = await self._checked(request)
        self._request = request
        self._tracker.start(SubdomainStep.DNS_RECORD)
        try:
            record = await remote(
                DnsActivities.create_dns_record, request, request.timeouts, waits=self._waits
            )
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise
            return await self._failed(SubdomainStep.DNS_RECORD, error)
        self._tracker.finish(SubdomainStep.DNS_RECORD)
        reason = workflow.cancellation_reason()
        if self._waits and reason is not None:
            raise asyncio.CancelledError(reason)  # created after the cancel: the parent removes it
        self._set_status(SubdomainStatus.DNS_RECORD_CREATED)

        self._tracker.start(SubdomainStep.VERIFY)
        await self._record(EventType.SUBDOMAIN_VERIFICATION_STARTED, "verification_started", {})
        self._set_status(SubdomainStatus.VERIFYING)
        policy = request.verification
        await workflow.sleep(timedelta(seconds=policy.first_check_seconds))
        try:
            await workflow.execute_activity_method(
                DnsActivities.check_propagation,
                request,
                task_queue=activity_queue(DnsActivities.check_propagation, workflow.info().task_queue),
                start_to_close_timeout=timedelta(seconds=min(request.timeouts.attempt_seconds, 30)),
                schedule_to_close_timeout=timedelta(seconds=policy.deadline_seconds),
                retry_policy=RetryPolicy(
                    initial_interval=timedelta(seconds=policy.initial_interval_seconds),
                    backoff_coefficient=policy.backoff,
                    maximum_interval=timedelta(seconds=policy.max_interval_seconds),
                    maximum_attempts=0,
                ),
            )
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise
            return await self._failed(SubdomainStep.VERIFY, error)
        self._tracker.finish(SubdomainStep.VERIFY)
        await self._record(EventType.SUBDOMAIN_VERIFIED, "verified", {})
        self._set_status(SubdomainStatus.ACTIVE)
        domain_metrics.subdomain_active()
        return SubdomainResult(request.organization_id, SubdomainStatus.ACTIVE, record.dns_record_id)

    async def _checked(self, request: SubdomainInput) -> SubdomainInput:
        """The worker's subdomain input for this organization and name, or the workflow fails here."""
        try:
            return await local(PolicyActivities.check_subdomain, request, waits=False)
        except ActivityError as error:
            self._set_status(SubdomainStatus.FAILED)
            if isinstance(error.cause, ApplicationError) and error.cause.type == REJECTED:
                raise ApplicationError(error.cause.message, type=REJECTED, non_retryable=True) from error
            raise

    async def _failed(self, step: SubdomainStep, error: ActivityError) -> SubdomainResult:
        cause = error.cause
        message = str(cause) if cause is not None else str(error)
        if cause is not None and getattr(cause, "type", None) == NOT_PROPAGATED:
            message = f"not propagated before the {self._request.verification.deadline_seconds:.0f}s deadline"
        elif "timeout" in type(cause).__name__.lower():
            message = f"{step} timed out: {message}"
        self._tracker.fail(step, message)
        await self._record(EventType.SUBDOMAIN_VERIFICATION_FAILED, "verification_failed", {"error": message})
        self._set_status(SubdomainStatus.FAILED)
        domain_metrics.subdomain_failed()
        return SubdomainResult(self._request.organization_id, SubdomainStatus.FAILED, error=message)

    async def _record(self, event_type: EventType, step: str, data: dict[str, Any]) -> int:
        info = workflow.info()
        event = EventToRecord(
            self._request.organization_id,
            event_type,
            step,
            {"fqdn": self._request.fqdn, **data},
            dedup_scope=f"{info.workflow_id}/{info.run_id}",
            actor=self._request.actor,
        )
        return await local(EventActivities.record_event, event, waits=self._waits)

    def _set_status(self, status: SubdomainStatus) -> None:
        self._tracker.status = status
        workflow.upsert_search_attributes([search.SUBDOMAIN_STATUS.value_set(status)])
