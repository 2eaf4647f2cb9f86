"""Event type names and deterministic event ids: the contract the worker and services write to.

The payload keys of each type are listed in sql/README.md; the projection handlers in
migrations/0003 check the required ones and record a missing key as the event's processing_error.
"""

from __future__ import annotations

import uuid
from enum import StrEnum

# Fixed forever: uuid5(NAMESPACE_URL, "urn:a4c:provisioning:domain-events"). Changing it would give
# replayed steps new ids, i.e. duplicate events.
EVENT_ID_NAMESPACE = uuid.UUID("4fa621cd-2784-5fef-a6dc-61adf8ee514b")

# Channel of the NOTIFY sent on every append (payload: {"sequence", "stream_id", "event_type"}).
NOTIFY_CHANNEL = "a4c_domain_events"

ORGANIZATION_STREAM = "organization"


class EventType(StrEnum):
    """Every event type the organizations projection handles (all on the organization's stream)."""

    TEMPORAL_INITIATED = "organization.bootstrap.temporal_initiated"
    ZITADEL_CREATED = "organization.zitadel.created"
    CREATED = "organization.created"
    SUBDOMAIN_DNS_RECORD_CREATED = "organization.subdomain.dns_record_created"
    SUBDOMAIN_VERIFICATION_STARTED = "organization.subdomain.verification_started"
    SUBDOMAIN_VERIFIED = "organization.subdomain.verified"
    SUBDOMAIN_VERIFICATION_FAILED = "organization.subdomain.verification_failed"
    SUBDOMAIN_DNS_RECORD_DELETED = "organization.subdomain.dns_record_deleted"
    USER_ROLE_ASSIGNED = "user.role.assigned"
    USER_INVITATION_SENT = "user.invitation.sent"
    BOOTSTRAP_COMPLETED = "organization.bootstrap.completed"
    BOOTSTRAP_FAILED = "organization.bootstrap.failed"
    BOOTSTRAP_CANCELLED = "organization.bootstrap.cancelled"
    BOOTSTRAP_COMPENSATED = "organization.bootstrap.compensated"
    # Offboarding (OffboardOrganizationWorkflow), in workflow order; migration 0007.
    OFFBOARDING_STARTED = "organization.offboarding.started"
    OFFBOARDING_SUBDOMAIN_STOPPED = "organization.offboarding.subdomain_stopped"
    OFFBOARDING_DNS_RECORDS_REMOVED = "organization.offboarding.dns_records_removed"
    OFFBOARDING_IDENTITY_DEACTIVATED = "organization.offboarding.identity_deactivated"
    OFFBOARDING_DELETION_STARTED = "organization.offboarding.deletion_started"
    OFFBOARDING_IDENTITY_DELETED = "organization.offboarding.identity_deleted"
    OFFBOARDED = "organization.offboarded"
    # An operator's cancel during the grace period, then the tenant's restoration.
    OFFBOARDING_CANCELLED = "organization.offboarding.cancelled"
    OFFBOARDING_IDENTITY_REACTIVATED = "organization.offboarding.identity_reactivated"
    # The drift reconciler's findings (migration 0009; payloads in sql/README.md).
    SUBDOMAIN_DRIFT_DETECTED = "organization.subdomain.drift_detected"
    SUBDOMAIN_DRIFT_REPAIRED = "organization.subdomain.drift_repaired"
    IDENTITY_DRIFT_DETECTED = "organization.identity.drift_detected"
    SUBDOMAIN_ORPHAN_DETECTED = "organization.subdomain.orphan_detected"
    IDENTITY_ORPHAN_DETECTED = "organization.identity.orphan_detected"


def event_id(workflow_id: str, step: str) -> uuid.UUID:
    """The id of the event a workflow step emits: the same on every retry and replay of that step.

    Use a step name that is unique within the workflow (e.g. "create_dns_record", or
    "verify_subdomain:2" for the 2nd retry round that is meant to produce a new event).
    """
    if not workflow_id or not step:
        raise ValueError("workflow_id and step must be non-empty")
    return uuid.uuid5(EVENT_ID_NAMESPACE, f"{workflow_id}\x00{step}")
