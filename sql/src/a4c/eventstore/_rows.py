"""SQL column lists and row → dataclass mapping shared by the store's modules."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar
from uuid import UUID

import asyncpg

from .errors import InvalidEvent
from .models import (
    BootstrapState,
    BootstrapStatus,
    BootstrapStepRecord,
    IdentityStatus,
    LifecycleStatus,
    Organization,
    StepState,
    StoredEvent,
    SubdomainStatus,
)

E = TypeVar("E", bound=StrEnum)

# jsonb travels as text both ways: no codec has to be registered on a pool the caller built.
EVENT_COLUMNS = """id, sequence, stream_id, stream_type, stream_version, event_type,
    event_data::text AS event_data, event_metadata::text AS event_metadata,
    created_at, processed_at, processing_error,
    bootstrap_status::text AS bootstrap_status, subdomain_status::text AS subdomain_status"""

ORGANIZATION_COLUMNS = """id, name, slug, subdomain_fqdn, subdomain_status::text AS subdomain_status,
    dns_record_id, identity_org_id, admin_user_id, admin_email, workflow_id,
    bootstrap_status::text AS bootstrap_status, current_step, failed_step, last_error,
    created_at, updated_at, subdomain_verified_at, last_applied_sequence,
    bootstrap_step_name(current_step, failed_step) AS current_step_name,
    lifecycle_status::text AS lifecycle_status, offboarding_reason, offboarding_started_at, offboarded_at,
    slug_released_at, identity_status"""


def _json_default(value: object) -> str:
    # UUIDs and times are common in payloads; anything else is a caller bug, not something to str().
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def to_json(value: Mapping[str, Any]) -> str:
    try:
        return json.dumps(dict(value), default=_json_default, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"event payload is not JSON: {exc}") from exc


def event_from_row(row: asyncpg.Record) -> StoredEvent:
    return StoredEvent(
        id=row["id"],
        sequence=row["sequence"],
        stream_id=row["stream_id"],
        stream_type=row["stream_type"],
        stream_version=row["stream_version"],
        event_type=row["event_type"],
        data=json.loads(row["event_data"]),
        metadata=json.loads(row["event_metadata"]),
        created_at=row["created_at"],
        processed_at=row["processed_at"],
        processing_error=row["processing_error"],
        bootstrap_status=_optional(BootstrapState, row["bootstrap_status"]),
        subdomain_status=_optional(SubdomainStatus, row["subdomain_status"]),
    )


def _optional(enum: type[E], value: str | None) -> E | None:
    return None if value is None else enum(value)


def organization_from_row(row: asyncpg.Record) -> Organization:
    values = dict(row)
    values["subdomain_status"] = SubdomainStatus(values["subdomain_status"])
    values["bootstrap_status"] = BootstrapState(values["bootstrap_status"])
    values["lifecycle_status"] = LifecycleStatus(values["lifecycle_status"])
    values["identity_status"] = IdentityStatus(values["identity_status"])
    return Organization(**values)


def step_from_row(row: asyncpg.Record) -> BootstrapStepRecord:
    values = dict(row)
    values["state"] = StepState(values["state"])
    return BootstrapStepRecord(**values)


def bootstrap_status_from_row(row: asyncpg.Record) -> BootstrapStatus:
    return BootstrapStatus(
        organization_id=row["organization_id"],
        bootstrap_status=BootstrapState(row["bootstrap_status"]),
        current_step=row["current_step"],
        failed_step=row["failed_step"],
        subdomain_status=SubdomainStatus(row["subdomain_status"]),
        last_error=row["last_error"],
        updated_at=row["updated_at"],
    )
