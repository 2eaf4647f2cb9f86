"""Domain values → protobuf messages (and the enum maps both ways), for the servicer only."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from google.protobuf import struct_pb2, timestamp_pb2

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.eventstore import (
    BootstrapState,
    BootstrapStepRecord,
    IdentityStatus,
    LifecycleStatus,
    Organization,
    StepState,
    StoredEvent,
    SubdomainStatus,
)
from a4c.provisioning.control import BootstrapView
from a4c.provisioning.watch import WatchItem
from a4c.workflows.reconcile import ReconcileTally

BOOTSTRAP_STATUS = {
    BootstrapState.INITIATED: pb.BOOTSTRAP_STATUS_INITIATED,
    BootstrapState.RUNNING: pb.BOOTSTRAP_STATUS_RUNNING,
    BootstrapState.COMPLETED: pb.BOOTSTRAP_STATUS_COMPLETED,
    BootstrapState.FAILED: pb.BOOTSTRAP_STATUS_FAILED,
    BootstrapState.CANCELLED: pb.BOOTSTRAP_STATUS_CANCELLED,
}
IDENTITY_STATUS = {
    IdentityStatus.ACTIVE: pb.IDENTITY_STATUS_ACTIVE,
    IdentityStatus.MISSING: pb.IDENTITY_STATUS_MISSING,
    IdentityStatus.DEACTIVATED: pb.IDENTITY_STATUS_DEACTIVATED,
}
SUBDOMAIN_STATUS = {
    SubdomainStatus.PENDING: pb.SUBDOMAIN_STATUS_PENDING,
    SubdomainStatus.DNS_RECORD_CREATED: pb.SUBDOMAIN_STATUS_DNS_RECORD_CREATED,
    SubdomainStatus.VERIFYING: pb.SUBDOMAIN_STATUS_VERIFYING,
    SubdomainStatus.ACTIVE: pb.SUBDOMAIN_STATUS_ACTIVE,
    SubdomainStatus.FAILED: pb.SUBDOMAIN_STATUS_FAILED,
    SubdomainStatus.REMOVED: pb.SUBDOMAIN_STATUS_REMOVED,
    SubdomainStatus.DRIFTED: pb.SUBDOMAIN_STATUS_DRIFTED,
}
LIFECYCLE_STATUS = {
    LifecycleStatus.ACTIVE: pb.LIFECYCLE_STATUS_ACTIVE,
    LifecycleStatus.OFFBOARDING: pb.LIFECYCLE_STATUS_OFFBOARDING,
    LifecycleStatus.OFFBOARDED: pb.LIFECYCLE_STATUS_OFFBOARDED,
}
LIFECYCLE_FILTER = {value: key for key, value in LIFECYCLE_STATUS.items()}
BOOTSTRAP_FILTER = {value: key for key, value in BOOTSTRAP_STATUS.items()}
SUBDOMAIN_FILTER = {value: key for key, value in SUBDOMAIN_STATUS.items()}
STEP_STATE = {
    StepState.PENDING: pb.STEP_STATE_PENDING,
    StepState.RUNNING: pb.STEP_STATE_RUNNING,
    StepState.COMPLETED: pb.STEP_STATE_COMPLETED,
    StepState.FAILED: pb.STEP_STATE_FAILED,
    StepState.COMPENSATED: pb.STEP_STATE_COMPENSATED,
}


def timestamp(value: datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def struct(value: Mapping[str, Any]) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(dict(value))
    return message


def organization(org: Organization) -> pb.Organization:
    return pb.Organization(
        id=str(org.id),
        name=org.name or "",
        slug=org.slug or "",
        subdomain_fqdn=org.subdomain_fqdn or "",
        subdomain_status=SUBDOMAIN_STATUS[org.subdomain_status],
        dns_record_id=org.dns_record_id or "",
        identity_organization_id=org.identity_org_id or "",
        admin_user_id=org.admin_user_id or "",
        bootstrap_status=BOOTSTRAP_STATUS[org.bootstrap_status],
        current_step=org.current_step_name,
        last_error=org.last_error or "",
        created_at=timestamp(org.created_at),
        updated_at=timestamp(org.updated_at),
        subdomain_verified_at=timestamp(org.subdomain_verified_at),
        lifecycle_status=LIFECYCLE_STATUS[org.lifecycle_status],
        offboarding_reason=org.offboarding_reason or "",
        offboarding_started_at=timestamp(org.offboarding_started_at),
        offboarded_at=timestamp(org.offboarded_at),
        identity_status=IDENTITY_STATUS[org.identity_status],
    )


def drift_preview(tally: ReconcileTally) -> pb.PreviewDriftResponse:
    return pb.PreviewDriftResponse(
        findings=[
            pb.DriftFinding(
                organization_id=f.organization_id,
                slug=f.slug,
                kind=f.kind,
                action=f.action,
                subject=f.subject,
            )
            for f in tally.findings
        ],
        truncated=tally.truncated,
        organizations_checked=tally.checked,
        dns_calls=tally.dns_calls,
        identity_calls=tally.identity_calls,
    )


def event(stored: StoredEvent) -> pb.Event:
    return pb.Event(
        id=str(stored.id),
        sequence=stored.sequence,
        stream_id=str(stored.stream_id),
        stream_version=stored.stream_version,
        event_type=stored.event_type,
        data=struct(stored.data),
        metadata=struct(stored.metadata),
        created_at=timestamp(stored.created_at),
    )


def step(view: BootstrapStepRecord) -> pb.Step:
    return pb.Step(
        name=view.name,
        state=STEP_STATE.get(view.state, pb.STEP_STATE_UNSPECIFIED),
        started_at=timestamp(view.started_at),
        finished_at=timestamp(view.finished_at),
        error=view.error,
    )


def bootstrap(view: BootstrapView) -> pb.Bootstrap:
    org = view.organization
    return pb.Bootstrap(
        organization_id=str(org.id),
        name=org.name or "",
        slug=org.slug or "",
        workflow_id=view.workflow_id,
        status=BOOTSTRAP_STATUS[view.status],
        current_step=view.steps.current_step or org.current_step_name,
        steps=[step(s) for s in view.steps.steps],
        subdomain_status=SUBDOMAIN_STATUS[org.subdomain_status],
        subdomain_fqdn=org.subdomain_fqdn or "",
        error=org.last_error or "",
        created_at=timestamp(org.created_at),
        updated_at=timestamp(org.updated_at),
    )


def watch_response(item: WatchItem) -> pb.WatchBootstrapResponse:
    return pb.WatchBootstrapResponse(
        event=event(item.event),
        bootstrap_status=BOOTSTRAP_STATUS[item.bootstrap],
        subdomain_status=SUBDOMAIN_STATUS[item.subdomain],
    )
