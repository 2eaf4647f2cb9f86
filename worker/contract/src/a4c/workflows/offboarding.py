"""The offboarding workflow's contract: name, id, input, the cancel update and the progress query.

Shared by the worker (OffboardOrganizationWorkflow) and the provisioning service (OffboardOrganization,
CancelOffboarding). The workflow id is derived from the organization id, so a second start while one
runs is a no-op (USE_EXISTING) and an operator's cancel finds it without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from a4c.workflows.models import StepTimeouts, SubdomainInput

OFFBOARD_WORKFLOW = "OffboardOrganizationWorkflow"
# The update an operator's CancelOffboarding sends, and the query that reports where it stands.
CANCEL_UPDATE = "cancel_offboarding"
STATE_QUERY = "offboarding"
# The type of the error the cancel update is refused with once deletion has started.
TOO_LATE = "OffboardingPastPointOfNoReturn"


def offboard_workflow_id(organization_id: str) -> str:
    return f"org-offboard-{organization_id}"


class OffboardStep(StrEnum):
    """Offboarding steps in workflow order (the `step` of their events); then, on a cancel, the restore."""

    STARTED = "offboarding_started"
    STOP_SUBDOMAIN = "stop_subdomain_workflow"
    REMOVE_DNS_RECORDS = "remove_dns_records"
    DEACTIVATE_IDENTITY = "deactivate_identity_organization"
    GRACE_PERIOD = "grace_period"
    DELETION_STARTED = "deletion_started"
    DELETE_IDENTITY = "delete_identity_organization"
    OFFBOARDED = "offboarded"
    CANCELLED = "offboarding_cancelled"
    REACTIVATE_IDENTITY = "reactivate_identity_organization"
    RESTORE_SUBDOMAIN = "restore_subdomain"


class OffboardOutcome(StrEnum):
    OFFBOARDED = "offboarded"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class OffboardInput:
    organization_id: str
    slug: str
    # Why (required): recorded in organization.offboarding.started.
    reason: str
    # Durable timer between deactivating and deleting the identity organization (the cancel window).
    grace_seconds: float
    # The organization's subdomain (the records to remove, and to restore on a cancel); the worker
    # replaces its policy fields with its own, as for a bootstrap.
    subdomain: SubdomainInput
    timeouts: StepTimeouts = field(default_factory=StepTimeouts)
    actor: str = ""  # the principal that asked, `actor` in the events' metadata


@dataclass(frozen=True)
class OffboardResult:
    organization_id: str
    outcome: str  # OffboardOutcome


@dataclass(frozen=True)
class CancelOffboardingInput:
    reason: str = ""
    actor: str = ""


@dataclass(frozen=True)
class CancelOffboardingResult:
    # False when an earlier cancel had already been accepted (the same outcome: restored).
    cancelled: bool


@dataclass(frozen=True)
class OffboardingState:
    """Answer of the `offboarding` query: the step in progress and whether a cancel can still work."""

    step: str
    delete_after: str  # ISO 8601, workflow time
    irrevocable: bool
    cancelled: bool


# --- activity inputs -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OffboardTarget:
    """What one offboarding step acts on; `actor` for its event's metadata."""

    organization_id: str
    zone: str = ""
    fqdn: str = ""
    record_type: str = "CNAME"
    actor: str = ""
