"""Compensation for a failed or cancelled bootstrap: undo what was done, newest first.

Each undo is registered *before* its step runs (a step that fails half-way may still have created
something), is idempotent (an undo of nothing is a no-op), and one failing undo does not stop the
others: the result says what was cleaned up and whether everything was, and (`removed`) what
each undo actually found: the record ids deleted (possibly none), whether an organization was deleted.
Compensation starts only after the running step has finished (the workflow waits for it), so
"newest first" includes whatever that step created after the cancel.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from temporalio import workflow
from temporalio.workflow import ChildWorkflowHandle

with workflow.unsafe.imports_passed_through():
    from a4c.eventstore import EventType
    from a4c.worker import domain_metrics
    from a4c.worker.activities import DnsActivities, IdentityActivities
    from a4c.worker.tracking import StepTracker, remote
    from a4c.workflows.models import (
        BootstrapInput,
        BootstrapStep,
        CleanupInput,
        Compensation,
        subdomain_workflow_id,
    )

Recorder = Callable[[EventType, str, dict[str, Any]], Awaitable[int]]


@dataclass
class Cleanup:
    done: list[str] = field(default_factory=list)
    complete: bool = True
    removed: dict[str, Any] = field(default_factory=dict)


class Compensations:
    def __init__(self, request: BootstrapInput, record: Recorder, *, waits: bool) -> None:
        self._request = request
        self._waits = waits
        self._record = record
        self._identity = False
        self._subdomain = False
        self._child: ChildWorkflowHandle[Any, Any] | None = None

    def register_identity(self) -> None:
        self._identity = True

    def register_subdomain(self) -> None:
        self._subdomain = True

    def subdomain_started(self, handle: ChildWorkflowHandle[Any, Any]) -> None:
        self._child = handle

    async def run(self, tracker: StepTracker) -> Cleanup:
        cleanup = Cleanup()
        if self._subdomain:
            await self._undo(cleanup, Compensation.STOP_SUBDOMAIN, self._stop_child)
            await self._undo(cleanup, Compensation.REMOVE_DNS_RECORD, self._remove_record)
            tracker.compensated(BootstrapStep.SUBDOMAIN)
        if self._identity:
            await self._undo(cleanup, Compensation.DELETE_IDENTITY, self._delete_identity)
            tracker.compensated(BootstrapStep.IDENTITY)
        return cleanup

    async def _undo(self, cleanup: Cleanup, name: Compensation, undo: Callable[[], Awaitable[Any]]) -> None:
        try:
            outcome = await undo()
        except Exception as error:
            workflow.logger.warning("compensation %s failed: %s", name, error)
            cleanup.complete = False
            domain_metrics.compensation(name, succeeded=False)
        else:
            cleanup.done.append(name)
            domain_metrics.compensation(name, succeeded=True)
            if outcome is not None:
                cleanup.removed[name] = outcome

    async def _stop_child(self) -> None:
        """Cancel the subdomain workflow and wait until it has stopped, so it cannot re-create the record."""
        if self._child is None:
            # Its start failed or was never reached; a run from an earlier attempt may still exist.
            handle = workflow.get_external_workflow_handle(
                subdomain_workflow_id(self._request.organization_id)
            )
            with contextlib.suppress(Exception):  # not found or already closed: nothing to stop
                await handle.cancel()
            return
        self._child.cancel()
        with contextlib.suppress(Exception):  # ending cancelled (or failed) is what we asked for
            await self._child

    async def _remove_record(self) -> list[str]:
        sub = self._request.subdomain
        target = CleanupInput(
            self._request.organization_id, sub.zone, sub.fqdn, sub.record_type, self._request.actor
        )
        return await remote(
            DnsActivities.remove_dns_record, target, self._request.timeouts, waits=self._waits
        )

    async def _delete_identity(self) -> bool:
        target = CleanupInput(self._request.organization_id, actor=self._request.actor)
        return await remote(
            IdentityActivities.delete_identity_organization, target, self._request.timeouts, waits=self._waits
        )
