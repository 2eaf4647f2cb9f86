"""ProvisionSubdomainWorkflow: create the DNS record, then wait until every nameserver answers.

The wait is Temporal retries of a single-check activity, spaced by the input's policy and bounded
by its deadline (schedule-to-close): no loop or sleep in code, and retries add no history events.
A subdomain that never verifies ends as failed without failing anything else; it can be retried
by starting this workflow again (a new run, so its events get new deterministic ids).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, is_cancelled_exception

with workflow.unsafe.imports_passed_through():
    from a4c.worker.activities import NOT_PROPAGATED, DnsActivities, EventActivities
    from a4c.worker.tracking import StepTracker, local, remote
    from a4c.workflows import search
    from a4c.workflows.models import (
        STEP_DNS_RECORD,
        STEP_VERIFY,
        SUBDOMAIN_STEPS,
        SUBDOMAIN_WORKFLOW,
        EventToRecord,
        Progress,
        SubdomainInput,
        SubdomainResult,
    )


@workflow.defn(name=SUBDOMAIN_WORKFLOW)
class ProvisionSubdomainWorkflow:
    def __init__(self) -> None:
        self._tracker = StepTracker(SUBDOMAIN_STEPS, "pending")

    @workflow.query(name="progress")
    def progress(self) -> Progress:
        return self._tracker.progress()

    @workflow.run
    async def run(self, request: SubdomainInput) -> SubdomainResult:
        self._request = request
        self._tracker.start(STEP_DNS_RECORD)
        try:
            record = await remote(DnsActivities.create_dns_record, request, request.timeouts)
        except ActivityError as error:
            if is_cancelled_exception(error):
                raise
            return await self._failed(STEP_DNS_RECORD, error)
        self._tracker.finish(STEP_DNS_RECORD)
        self._set_status("dns_record_created")

        self._tracker.start(STEP_VERIFY)
        await self._record("organization.subdomain.verification_started", "verification_started", {})
        self._set_status("verifying")
        policy = request.verification
        await workflow.sleep(timedelta(seconds=policy.first_check_seconds))
        try:
            await workflow.execute_activity_method(
                DnsActivities.check_propagation,
                request,
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
            return await self._failed(STEP_VERIFY, error)
        self._tracker.finish(STEP_VERIFY)
        await self._record("organization.subdomain.verified", "verified", {})
        self._set_status("active")
        return SubdomainResult(request.organization_id, "active", record.dns_record_id)

    async def _failed(self, step: str, error: ActivityError) -> SubdomainResult:
        cause = error.cause
        message = str(cause) if cause is not None else str(error)
        if cause is not None and getattr(cause, "type", None) == NOT_PROPAGATED:
            message = f"not propagated before the {self._request.verification.deadline_seconds:.0f}s deadline"
        elif "timeout" in type(cause).__name__.lower():
            message = f"{step} timed out: {message}"
        self._tracker.fail(step, message)
        await self._record(
            "organization.subdomain.verification_failed", "verification_failed", {"error": message}
        )
        self._set_status("failed")
        return SubdomainResult(self._request.organization_id, "failed", error=message)

    async def _record(self, event_type: str, step: str, data: dict[str, Any]) -> int:
        info = workflow.info()
        event = EventToRecord(
            self._request.organization_id,
            event_type,
            step,
            {"fqdn": self._request.fqdn, **data},
            dedup_scope=f"{info.workflow_id}/{info.run_id}",
        )
        return await local(EventActivities.record_event, event)

    def _set_status(self, status: str) -> None:
        self._tracker.status = status
        workflow.upsert_search_attributes([search.SUBDOMAIN_STATUS.value_set(status)])
