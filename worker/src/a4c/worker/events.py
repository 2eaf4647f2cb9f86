"""Appending workflow events: deterministic ids and activity metadata, in one place.

The event id comes from the workflow id (or an explicit dedup scope) and the step, so a retried,
replayed or re-run activity appends nothing new: the event store treats a known id as a no-op.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from temporalio import activity

from a4c.common.tracing import current_ids
from a4c.eventstore import ORGANIZATION_STREAM, EventStore, NewEvent, event_id
from a4c.workflows.models import EventToRecord


def metadata(step: str, actor: str = "") -> dict[str, Any]:
    """``actor``: the principal that caused the workflow (omitted when unknown)."""
    info = activity.info()
    found: dict[str, Any] = {"actor": actor} if actor else {}
    return found | {
        "workflow_id": info.workflow_id,
        "run_id": info.workflow_run_id,
        "workflow_type": info.workflow_type,
        "activity": info.activity_type,
        "attempt": info.attempt,
        "step": step,
        "correlation_id": info.workflow_id,
        # The activity's span (the Temporal TracingInterceptor's RunActivity), when traced.
        **current_ids(),
    }


def run_scope() -> str:
    """Dedup scope for workflows that may legitimately run again (a retried subdomain): id + run."""
    info = activity.info()
    return f"{info.workflow_id}/{info.workflow_run_id}"


async def append(store: EventStore, event: EventToRecord) -> int:
    """Append `event` once; returns its global sequence (the stored one when it already existed)."""
    scope = event.dedup_scope or activity.info().workflow_id or ""
    stored = await store.append(
        NewEvent(
            id=event_id(scope, event.step),
            stream_id=UUID(event.organization_id),
            stream_type=ORGANIZATION_STREAM,
            event_type=event.event_type,
            data=dict(event.data),
            metadata=metadata(event.step, event.actor),
        )
    )
    return stored.sequence
