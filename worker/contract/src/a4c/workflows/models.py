"""Workflow and activity inputs/outputs: one dataclass in, one out (Temporal's JSON converter).

Workflow code must be deterministic and cannot read settings itself, so what a workflow needs is in
its input or in the answer of an activity. The policy (zone, record target, proxying, polling, step
timeouts) is the worker's own: its first step checks the input against its settings and hands back its
own values (a4c.worker.policy). The input's policy fields are kept only for histories started before
that check and for the previous release's workers during a rolling upgrade; the provisioning service
still fills them from its configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from a4c.eventstore.events import EventType
from a4c.eventstore.models import StepState

TASK_QUEUE = "a4c-provisioning"

BOOTSTRAP_WORKFLOW = "BootstrapOrganizationWorkflow"
SUBDOMAIN_WORKFLOW = "ProvisionSubdomainWorkflow"


def bootstrap_workflow_id(organization_id: str) -> str:
    return f"org-bootstrap-{organization_id}"


def subdomain_workflow_id(organization_id: str) -> str:
    return f"org-subdomain-{organization_id}"


class BootstrapStep(StrEnum):
    """Bootstrap steps in workflow order; the names appear in the query, the projection and failure events.

    The database's step projection (migration 0006, table bootstrap_steps) lists the same names in the
    same order; a test compares them. Statuses and step states are the event store's enums
    (a4c.eventstore: BootstrapState, SubdomainStatus, StepState), which mirror its SQL enums.
    """

    IDENTITY = "create_identity_organization"
    RECORD = "record_organization"
    SUBDOMAIN = "start_subdomain"
    ROLE = "grant_admin_role"
    INVITE = "send_admin_invitation"
    COMPLETE = "complete"


BOOTSTRAP_STEPS = tuple(BootstrapStep)


class SubdomainStep(StrEnum):
    DNS_RECORD = "create_dns_record"
    VERIFY = "verify_propagation"


SUBDOMAIN_STEPS = tuple(SubdomainStep)


class Compensation(StrEnum):
    """The undo actions a failed or cancelled bootstrap lists in its events' `cleanup`."""

    STOP_SUBDOMAIN = "stop_subdomain_workflow"
    REMOVE_DNS_RECORD = "remove_dns_record"
    DELETE_IDENTITY = "delete_identity_organization"


@dataclass(frozen=True)
class VerificationPolicy:
    """How the subdomain check is spaced and when it gives up (production defaults)."""

    first_check_seconds: float = 10.0
    initial_interval_seconds: float = 10.0
    backoff: float = 1.5
    max_interval_seconds: float = 60.0
    deadline_seconds: float = 600.0


@dataclass(frozen=True)
class StepTimeouts:
    """Bounds for each remote step: one attempt, all attempts together (then compensation), and the
    heartbeat timeout: a worker that dies mid-step is noticed after this long, not after the attempt."""

    attempt_seconds: float = 30.0
    total_seconds: float = 300.0
    heartbeat_seconds: float = 5.0


@dataclass(frozen=True)
class SubdomainInput:
    organization_id: str
    zone: str
    fqdn: str
    record_type: str = "CNAME"
    target: str = ""
    proxied: bool = True
    verification: VerificationPolicy = field(default_factory=VerificationPolicy)
    timeouts: StepTimeouts = field(default_factory=StepTimeouts)
    # The principal that caused this run (a bootstrap's or a retry's caller): `actor` in the
    # metadata of its events. Empty in histories from before it existed.
    actor: str = ""


@dataclass(frozen=True)
class BootstrapInput:
    organization_id: str
    name: str
    slug: str
    admin_email: str
    admin_given_name: str
    admin_family_name: str
    subdomain: SubdomainInput
    # No role or invitation fields: the identity service owns that policy (histories that still carry
    # role_keys, invite_url_template or application_name replay fine: unknown fields are ignored).
    timeouts: StepTimeouts = field(default_factory=StepTimeouts)
    # The principal that asked for the bootstrap (provisioning's caller): recorded as `actor` in
    # the metadata of the events the workflow appends. Empty in histories from before it existed.
    actor: str = ""


@dataclass(frozen=True)
class BootstrapResult:
    organization_id: str
    status: str
    identity_organization_id: str = ""
    admin_user_id: str = ""
    subdomain_workflow_id: str = ""


@dataclass(frozen=True)
class SubdomainResult:
    organization_id: str
    status: str
    dns_record_id: str = ""
    error: str = ""


@dataclass
class StepProgress:
    """One step's state as the `progress` query reports it (times are workflow time, ISO 8601)."""

    name: str
    state: StepState = StepState.PENDING
    started_at: str = ""
    finished_at: str = ""
    error: str = ""


@dataclass
class Progress:
    """Answer of the workflows' `progress` query."""

    status: str
    current_step: str
    steps: list[StepProgress]


# --- activity inputs and outputs ---------------------------------------------------------------


@dataclass(frozen=True)
class EventToRecord:
    """An event a workflow asks to append; `step` makes its id deterministic."""

    organization_id: str
    event_type: EventType
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    # The workflow that owns the event stream position for dedup: defaults to the caller's id.
    dedup_scope: str = ""
    # Who caused the event (BootstrapInput.actor), kept in its metadata; "" when unknown.
    actor: str = ""


@dataclass(frozen=True)
class IdentityCreated:
    identity_organization_id: str
    admin_user_id: str
    created: bool


@dataclass(frozen=True)
class GrantInput:
    organization_id: str
    admin_user_id: str
    actor: str = ""  # BootstrapInput.actor, for the event's metadata


@dataclass(frozen=True)
class InviteInput:
    organization_id: str
    admin_user_id: str
    actor: str = ""  # BootstrapInput.actor, for the event's metadata


@dataclass(frozen=True)
class InvitationSent:
    user_id: str
    email: str


@dataclass(frozen=True)
class RecordCreated:
    dns_record_id: str
    created: bool


@dataclass(frozen=True)
class CleanupInput:
    organization_id: str
    zone: str = ""
    fqdn: str = ""
    record_type: str = "CNAME"
    actor: str = ""  # BootstrapInput.actor, for the event's metadata
