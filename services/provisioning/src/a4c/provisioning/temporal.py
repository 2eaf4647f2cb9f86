"""Temporal, as the provisioning service uses it: start, describe, query, cancel, await closure.

The SDK retries transient RPC failures itself; every call here also has an RPC timeout so a hung
frontend becomes an error instead of a hung gRPC call. Starts are idempotent by workflow id (the
organization id): USE_EXISTING returns a running execution, and a closed bootstrap is never started
again under the same id (REJECT_DUPLICATE), while a subdomain may run again (ALLOW_DUPLICATE).
"""

from __future__ import annotations

import asyncio
import enum
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import (
    Client,
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from a4c.common.deadline import Deadline
from a4c.eventstore import BootstrapState
from a4c.provisioning.errors import Unavailable
from a4c.workflows import search
from a4c.workflows.models import (
    BOOTSTRAP_WORKFLOW,
    SUBDOMAIN_WORKFLOW,
    BootstrapInput,
    Progress,
    SubdomainInput,
    bootstrap_workflow_id,
)
from a4c.workflows.offboarding import (
    CANCEL_UPDATE,
    OFFBOARD_WORKFLOW,
    STATE_QUERY,
    TOO_LATE,
    CancelOffboardingInput,
    CancelOffboardingResult,
    OffboardingState,
    OffboardInput,
    offboard_workflow_id,
)
from a4c.workflows.reconcile import (
    PREVIEW_WORKFLOW_PREFIX,
    RECONCILE_WORKFLOW,
    ReconcileInput,
    ReconcileTally,
)
from a4c.workflows.start import subdomain_start

QUERY_TIMEOUT = 3.0


class Execution(enum.Enum):
    MISSING = "missing"
    RUNNING = "running"
    CLOSED = "closed"


@dataclass(frozen=True)
class Started:
    """A start's outcome: the run to talk to; `closed` when the id had already finished (not restarted)."""

    workflow_id: str
    run_id: str
    closed: bool = False


class TooLate(Exception):
    """The offboarding refused the cancel: its deletion has started (the workflow's own words)."""


class Workflows:
    """The workflow operations of the control API, over one Temporal client."""

    def __init__(self, client: Client, task_queue: str, *, rpc_timeout: float = 10.0) -> None:
        self._client = client
        self._task_queue = task_queue
        self._rpc_timeout = timedelta(seconds=rpc_timeout)

    @property
    def client(self) -> Client:
        return self._client

    async def start_bootstrap(self, request: BootstrapInput) -> Started:
        workflow_id = bootstrap_workflow_id(request.organization_id)
        try:
            handle = await self._client.start_workflow(
                BOOTSTRAP_WORKFLOW,
                request,
                id=workflow_id,
                task_queue=self._task_queue,
                id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=search.initial(
                    request.organization_id, request.slug, BootstrapState.INITIATED
                ),
                rpc_timeout=self._rpc_timeout,
            )
        except WorkflowAlreadyStartedError as closed:
            return Started(workflow_id, closed.run_id or "", closed=True)
        return Started(workflow_id, handle.result_run_id or handle.run_id or "")

    async def start_subdomain(self, request: SubdomainInput, slug: str) -> Started:
        handle = await self._client.start_workflow(
            SUBDOMAIN_WORKFLOW,
            request,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            rpc_timeout=self._rpc_timeout,
            **subdomain_start(request, slug),
        )
        return Started(handle.id, handle.result_run_id or handle.run_id or "")

    async def start_offboarding(self, request: OffboardInput) -> Started:
        """Start (or find running) the organization's offboarding; a closed one may run again (after a
        cancelled offboarding the organization is active and can be offboarded anew)."""
        handle = await self._client.start_workflow(
            OFFBOARD_WORKFLOW,
            request,
            id=offboard_workflow_id(request.organization_id),
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(search.ORGANIZATION_ID, request.organization_id),
                    SearchAttributePair(search.ORG_SLUG, request.slug),
                ]
            ),
            rpc_timeout=self._rpc_timeout,
        )
        return Started(handle.id, handle.result_run_id or handle.run_id or "")

    async def offboarding_state(self, organization_id: str, deadline: Deadline) -> OffboardingState | None:
        """The running offboarding's `offboarding` query; None when it cannot answer in time."""
        handle = self._handle(offboard_workflow_id(organization_id))
        wait_seconds = deadline.remaining()
        try:
            async with asyncio.timeout(wait_seconds):
                state: OffboardingState = await handle.query(
                    STATE_QUERY, result_type=OffboardingState, rpc_timeout=timedelta(seconds=wait_seconds)
                )
        except Exception:
            return None
        return state

    async def cancel_offboarding(
        self, organization_id: str, request: CancelOffboardingInput, deadline: Deadline
    ) -> CancelOffboardingResult:
        """Send the cancel update and wait for its answer (the tenant restored); TooLate when refused."""
        handle = self._handle(offboard_workflow_id(organization_id))
        wait_seconds = deadline.remaining()
        try:
            async with asyncio.timeout(wait_seconds):
                result: CancelOffboardingResult = await handle.execute_update(
                    CANCEL_UPDATE,
                    request,
                    result_type=CancelOffboardingResult,
                    rpc_timeout=timedelta(seconds=wait_seconds),
                )
        except WorkflowUpdateFailedError as error:
            cause = error.cause
            if isinstance(cause, ApplicationError) and cause.type == TOO_LATE:
                raise TooLate(cause.message) from error
            raise
        return result

    def _handle(self, workflow_id: str) -> WorkflowHandle[Any, Any]:
        return self._client.get_workflow_handle(workflow_id)

    async def execution(self, workflow_id: str) -> Execution:
        """Whether the latest run of `workflow_id` is running, closed, or unknown to Temporal."""
        try:
            described = await self._handle(workflow_id).describe(rpc_timeout=self._rpc_timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:
                return Execution.MISSING
            raise
        return Execution.RUNNING if described.status == WorkflowExecutionStatus.RUNNING else Execution.CLOSED

    async def progress(self, workflow_id: str, deadline: Deadline) -> Progress | None:
        """The running workflow's `progress` query; None when it cannot answer in time (e.g. no worker)."""
        handle = self._handle(workflow_id)
        wait_seconds = deadline.remaining()
        try:
            # Both bounds: the RPC's own, and ours around the SDK's retries of it.
            async with asyncio.timeout(wait_seconds):
                result: Progress = await handle.query(
                    "progress", result_type=Progress, rpc_timeout=timedelta(seconds=wait_seconds)
                )
        except Exception:
            return None
        return result

    async def cancel(self, workflow_id: str, reason: str) -> bool:
        """Request cancellation of a running workflow; False when it is not running (nothing to do)."""
        if await self.execution(workflow_id) != Execution.RUNNING:
            return False
        try:
            await self._handle(workflow_id).cancel(reason=reason, rpc_timeout=self._rpc_timeout)
        except RPCError as error:
            if error.status == RPCStatusCode.NOT_FOUND:  # closed between describe and cancel
                return False
            raise
        return True

    async def preview_drift(self, deadline: Deadline) -> ReconcileTally:
        """A read-only run of the reconciler, awaited to its end (across its continue-as-new runs)
        within `deadline`; its execution timeout is the same deadline, so an abandoned preview ends."""
        timeout = timedelta(seconds=max(deadline.remaining(), 1.0))
        handle = await self._client.start_workflow(
            RECONCILE_WORKFLOW,
            ReconcileInput(dry_run=True),
            id=f"{PREVIEW_WORKFLOW_PREFIX}{uuid.uuid4()}",
            task_queue=self._task_queue,
            execution_timeout=timeout,
            result_type=ReconcileTally,
            rpc_timeout=self._rpc_timeout,
        )
        try:
            async with asyncio.timeout(deadline.remaining()):
                tally: ReconcileTally = await handle.result()
                return tally
        except WorkflowFailureError as error:
            raise Unavailable(f"the drift preview failed: {error.cause or error}") from None

    async def wait_closed(self, workflow_id: str) -> None:
        """Return once the latest run of `workflow_id` has closed (however it ended) or does not exist."""
        try:
            await self._handle(workflow_id).result(follow_runs=False)
        except WorkflowFailureError:
            return  # failed, cancelled, terminated or timed out: closed all the same
        except RPCError as error:
            if error.status != RPCStatusCode.NOT_FOUND:
                raise
