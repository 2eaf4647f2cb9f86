"""Values in and out of the event store: frozen dataclasses, enums mirroring the SQL enums."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from .errors import InvalidEvent
from .events import EventType

_STREAM_TYPE = re.compile(r"^[a-z][a-z0-9_]*$")


class SubdomainStatus(StrEnum):
    """SQL enum subdomain_status: pending → dns_record_created → verifying → active | failed; removed."""

    PENDING = "pending"
    DNS_RECORD_CREATED = "dns_record_created"
    VERIFYING = "verifying"
    ACTIVE = "active"
    FAILED = "failed"
    REMOVED = "removed"
    # The name is held by a record A4C does not own (the reconciler, migration 0009).
    DRIFTED = "drifted"


class IdentityStatus(StrEnum):
    """organizations_projection.identity_status: the identity organization as the reconciler saw it."""

    ACTIVE = "active"
    MISSING = "missing"
    DEACTIVATED = "deactivated"


class BootstrapState(StrEnum):
    """SQL enum bootstrap_status: initiated → running → completed | failed | cancelled (final)."""

    INITIATED = "initiated"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_final(self) -> bool:
        return self in (BootstrapState.COMPLETED, BootstrapState.FAILED, BootstrapState.CANCELLED)


class LifecycleStatus(StrEnum):
    """SQL enum lifecycle_status (0007): active → offboarding → offboarded; a cancel goes back to active."""

    ACTIVE = "active"
    OFFBOARDING = "offboarding"
    OFFBOARDED = "offboarded"


class StepState(StrEnum):
    """SQL enum step_state: a bootstrap step's state (organization_steps, the workflows' progress query)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    COMPENSATED = "compensated"


@dataclass(frozen=True, kw_only=True)
class NewEvent:
    """An event to append. `id` must be deterministic (see `event_id`) so retries deduplicate.

    `event_type` must be an `EventType`: a type the projection does not handle is refused here, so a
    misspelt name fails its writer at once instead of becoming a `processing_error` row.

    `expected_version` is optional optimistic concurrency: the version the stream must be at now
    (0 for a new stream); left None, the store assigns the next version.
    """

    id: UUID
    stream_id: UUID
    event_type: EventType
    data: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    stream_type: str = "organization"
    expected_version: int | None = None

    def __post_init__(self) -> None:
        # The same rules as the table's CHECKs and the projection's dispatch, so a bad event fails at
        # the caller, not in SQL.
        try:
            object.__setattr__(self, "event_type", EventType(self.event_type))
        except ValueError:
            raise InvalidEvent(f"event type {self.event_type!r} is not an EventType") from None
        if not _STREAM_TYPE.match(self.stream_type):
            raise InvalidEvent(f"stream type {self.stream_type!r} is not a lowercase word")
        if not isinstance(self.data, Mapping) or not isinstance(self.metadata, Mapping):
            raise InvalidEvent("event data and metadata must be mappings (JSON objects)")
        if self.expected_version is not None and self.expected_version < 0:
            raise InvalidEvent(f"expected_version must be >= 0, not {self.expected_version}")


@dataclass(frozen=True, kw_only=True)
class StoredEvent:
    """An event as stored: `sequence` is its global position, `stream_version` its place in the stream.

    `bootstrap_status` and `subdomain_status` are the organization's once the projection applied this
    event (unchanged by an event with a `processing_error`); None only where no trigger ran.
    """

    id: UUID
    sequence: int
    stream_id: UUID
    stream_type: str
    stream_version: int
    event_type: str
    data: Mapping[str, Any]
    metadata: Mapping[str, Any]
    created_at: datetime
    processed_at: datetime | None
    processing_error: str | None
    bootstrap_status: BootstrapState | None = None
    subdomain_status: SubdomainStatus | None = None


@dataclass(frozen=True, kw_only=True)
class Organization:
    """A row of organizations_projection. Fields are None until the event that sets them arrives."""

    id: UUID
    name: str | None
    slug: str | None
    subdomain_fqdn: str | None
    subdomain_status: SubdomainStatus
    dns_record_id: str | None
    identity_org_id: str | None
    admin_user_id: str | None
    admin_email: str | None
    workflow_id: str | None
    bootstrap_status: BootstrapState
    current_step: str | None
    failed_step: str | None
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    subdomain_verified_at: datetime | None
    last_applied_sequence: int
    identity_status: IdentityStatus = IdentityStatus.ACTIVE
    # current_step as a step name (e.g. "grant_admin_role", "cancelled"; "" before any step).
    current_step_name: str = ""
    lifecycle_status: LifecycleStatus = LifecycleStatus.ACTIVE
    offboarding_reason: str | None = None
    offboarding_started_at: datetime | None = None
    offboarded_at: datetime | None = None
    # When it gave up its slug (offboarded, or its failed/cancelled bootstrap compensated).
    slug_released_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class BootstrapStepRecord:
    """One step of a bootstrap as the database's step projection has it (get_bootstrap_steps)."""

    name: str
    state: StepState
    started_at: datetime | None
    finished_at: datetime | None
    error: str


@dataclass(frozen=True)
class OrganizationCursor:
    """Where a page of `list_organizations` ends: the keyset (created_at, id) of its last row.

    The store speaks positions, not tokens: turning one into an opaque page token bound to the
    query is the API's job (`a4c.common.paging`).
    """

    created_at: datetime
    id: UUID


@dataclass(frozen=True, kw_only=True)
class OrganizationPage:
    """One page of `list_organizations`; `next_after` is None on the last page."""

    items: Sequence[Organization]
    next_after: OrganizationCursor | None


@dataclass(frozen=True, kw_only=True)
class BootstrapStatus:
    """What `get_bootstrap_status` returns: the bootstrap's progress and its subdomain's state."""

    organization_id: UUID
    bootstrap_status: BootstrapState
    current_step: str | None
    failed_step: str | None
    subdomain_status: SubdomainStatus
    last_error: str | None
    updated_at: datetime
