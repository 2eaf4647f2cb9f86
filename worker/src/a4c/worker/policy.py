"""The worker's own policy: what a workflow may provision, whatever its input says.

Temporal is a trust boundary: anyone who can reach it can start a workflow with any input, bypassing
the provisioning service's checks. So the first step of each workflow asks the worker to check the
input against the worker's configuration and to hand back the policy the workflow then uses:

- what is provisioned (zone, name, record type, CNAME target, proxying) must match the worker's
  settings: a mismatch is an attack or a misconfiguration, and either must stop before anything exists;
- how it is paced (verification policy, step timeouts) is simply the worker's own; the input's are ignored;
- the slug passes the shared slug rules and the reserved list, the names and the email the shared
  name rules (a4c.common.names), the workflow id is the one derived from the organization id;
- a subdomain workflow is for an organization the event store recorded, under the name recorded for
  it (the bootstrap starts it after `organization.created`, RetrySubdomain only for a recorded one):
  a hand-started one cannot take a free name for an organization that does not exist, nor for one
  that is offboarding, offboarded or gave its slug up (its name may be another organization's now);
- a bootstrap's slug is not held by another organization: the event store's `slug_holder` (migration
  0007) is the rule the provisioning service's slug claims follow too, so both agree on who may
  bootstrap a slug that was released and is being reused.

The check is a local activity because settings are not workflow state: its answer is recorded in the
history, so a replay (or a worker with other settings) follows the same path. A refusal is a
non-retryable `ApplicationError` of type `PolicyRejected`; its message names fields and rules, never
values (failure messages are stored unencrypted in the history, and these may be personal data).
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio import activity
from temporalio.exceptions import ApplicationError

from a4c.common.names import (
    NAME_MAX,
    PERSON_NAME_MAX,
    RESERVED_SLUGS,
    email_problem,
    slug_problem,
    text_problem,
)
from a4c.eventstore import EventStore, LifecycleStatus, NotFound, SlugClaims
from a4c.workflows.models import (
    BootstrapInput,
    StepTimeouts,
    SubdomainInput,
    VerificationPolicy,
    bootstrap_workflow_id,
    subdomain_workflow_id,
)
from a4c.workflows.offboarding import OffboardInput, offboard_workflow_id

REJECTED = "PolicyRejected"
REASON_MAX = 500
GRACE_MAX_SECONDS = 365 * 86400.0
RECORD_TYPE = "CNAME"
# `workflow.patched` id of the first-step check: histories recorded before it replay without it.
POLICY_PATCH = "worker-policy-check"


@dataclass(frozen=True)
class WorkerPolicy:
    """The worker's settings that decide what a workflow may do (built by `Settings.policy`)."""

    zone: str
    target: str
    proxied: bool = True
    reserved: frozenset[str] = RESERVED_SLUGS
    verification: VerificationPolicy = field(default_factory=VerificationPolicy)
    timeouts: StepTimeouts = field(default_factory=StepTimeouts)


@dataclass(frozen=True)
class CheckedBootstrap:
    """What a bootstrap runs with once checked: the worker's subdomain input and step timeouts."""

    subdomain: SubdomainInput
    timeouts: StepTimeouts


def _uuid_problem(value: str) -> str | None:
    try:
        canonical = str(uuid.UUID(value))
    except ValueError:
        return "must be a UUID"
    return None if canonical == value else "must be a UUID in canonical form"


def _workflow_id_problem(expected: str) -> dict[str, str]:
    if activity.info().workflow_id != expected:
        return {"workflow_id": "must be the one derived from organization_id"}
    return {}


def subdomain_problems(
    request: SubdomainInput, policy: WorkerPolicy, slug: str | None = None
) -> dict[str, str]:
    """Field -> broken rule of a subdomain input; `slug` (a bootstrap's) must then be its label."""
    problems: dict[str, str | None] = {"organization_id": _uuid_problem(request.organization_id)}
    if request.zone != policy.zone:
        problems["zone"] = "is not the zone this worker manages"
    label, dot, zone = request.fqdn.partition(".")
    if not dot or zone != policy.zone:
        problems["fqdn"] = "must be <slug>.<the worker's zone>"
    elif slug is not None and label != slug:
        problems["fqdn"] = "must be the bootstrap's slug in the worker's zone"
    else:
        problems["fqdn"] = slug_problem(label, policy.reserved)
    if request.record_type != RECORD_TYPE:
        problems["record_type"] = f"must be {RECORD_TYPE}"
    # Empty: the input leaves the target to the worker (an input that names one must name ours).
    if request.target not in ("", policy.target):
        problems["target"] = "is not the CNAME target this worker is configured with"
    if request.proxied != policy.proxied:
        problems["proxied"] = "differs from this worker's setting"
    return {name: problem for name, problem in problems.items() if problem}


def bootstrap_problems(request: BootstrapInput, policy: WorkerPolicy) -> dict[str, str]:
    """Field -> broken rule of a bootstrap input, its subdomain included (prefixed `subdomain.`)."""
    problems: dict[str, str | None] = {
        "organization_id": _uuid_problem(request.organization_id),
        "name": text_problem(request.name, NAME_MAX),
        "slug": slug_problem(request.slug, policy.reserved),
        "admin_email": email_problem(request.admin_email),
        "admin_given_name": text_problem(request.admin_given_name, PERSON_NAME_MAX),
        "admin_family_name": text_problem(request.admin_family_name, PERSON_NAME_MAX),
    }
    if request.subdomain.organization_id != request.organization_id:
        problems["subdomain.organization_id"] = "must be the bootstrap's organization_id"
    for name, problem in subdomain_problems(request.subdomain, policy, request.slug).items():
        problems.setdefault(f"subdomain.{name}", problem)
    return {name: problem for name, problem in problems.items() if problem}


def offboard_problems(request: OffboardInput, policy: WorkerPolicy) -> dict[str, str]:
    """Field -> broken rule of an offboarding input, its subdomain included (prefixed `subdomain.`)."""
    problems: dict[str, str | None] = {
        "organization_id": _uuid_problem(request.organization_id),
        "slug": slug_problem(request.slug, policy.reserved),
        "reason": text_problem(request.reason, REASON_MAX),
    }
    if not 0 <= request.grace_seconds <= GRACE_MAX_SECONDS:
        problems["grace_seconds"] = f"must be 0..{GRACE_MAX_SECONDS:.0f}"
    if request.subdomain.organization_id != request.organization_id:
        problems["subdomain.organization_id"] = "must be the offboarding's organization_id"
    for name, problem in subdomain_problems(request.subdomain, policy, request.slug).items():
        problems.setdefault(f"subdomain.{name}", problem)
    return {name: problem for name, problem in problems.items() if problem}


def _rejected(what: str, problems: dict[str, str]) -> ApplicationError:
    listed = "; ".join(f"{name} {problem}" for name, problem in sorted(problems.items()))
    return ApplicationError(
        f"{what} rejected by the worker's policy: {listed}", type=REJECTED, non_retryable=True
    )


# The subdomain name the event store recorded for an organization, None when it recorded none
# (or the organization no longer holds it: not active, or its slug released).
RecordedName = Callable[[uuid.UUID], Awaitable["str | None"]]
# The organization that holds a slug now, None when nobody does.
SlugHolder = Callable[[str], Awaitable["uuid.UUID | None"]]


async def _nobody(slug: str) -> uuid.UUID | None:
    return None


class StoredNames:
    """`RecordedName` from the organizations projection (written with `organization.created`)."""

    def __init__(self, store: EventStore) -> None:
        self._store = store

    async def __call__(self, organization_id: uuid.UUID) -> str | None:
        try:
            organization = await self._store.get_organization(organization_id)
        except NotFound:
            return None
        if (
            organization.lifecycle_status is not LifecycleStatus.ACTIVE
            or organization.slug_released_at is not None
        ):
            return None
        return organization.subdomain_fqdn


class StoredHolders:
    """`SlugHolder` from the event store's slug_holder (slug claims, else the projection)."""

    def __init__(self, store: EventStore) -> None:
        self._claims = SlugClaims(store.pool)

    async def __call__(self, slug: str) -> uuid.UUID | None:
        return await self._claims.holder(slug)


class PolicyActivities:
    """The first step of each workflow (local activities: no upstream call, nothing written)."""

    def __init__(self, policy: WorkerPolicy, recorded: RecordedName, holder: SlugHolder = _nobody) -> None:
        self._policy = policy
        self._recorded = recorded
        self._holder = holder

    @activity.defn(name="check_bootstrap_policy")
    async def check_bootstrap(self, request: BootstrapInput) -> CheckedBootstrap:
        problems = _workflow_id_problem(bootstrap_workflow_id(request.organization_id))
        problems |= bootstrap_problems(request, self._policy)
        if not problems:
            holder = await self._holder(request.slug)
            if holder not in (None, uuid.UUID(request.organization_id)):
                problems["slug"] = "is held by another organization"
        if problems:
            activity.logger.warning("bootstrap input rejected: %s", ", ".join(sorted(problems)))
            raise _rejected("bootstrap", problems)
        return CheckedBootstrap(self._subdomain(request.subdomain), self._policy.timeouts)

    @activity.defn(name="check_subdomain_policy")
    async def check_subdomain(self, request: SubdomainInput) -> SubdomainInput:
        problems = _workflow_id_problem(subdomain_workflow_id(request.organization_id))
        problems |= subdomain_problems(request, self._policy)
        if not problems and await self._recorded(uuid.UUID(request.organization_id)) != request.fqdn:
            problems["fqdn"] = (
                "must be the name recorded for the organization (no recorded organization has it)"
            )
        if problems:
            activity.logger.warning("subdomain input rejected: %s", ", ".join(sorted(problems)))
            raise _rejected("subdomain", problems)
        return self._subdomain(request)

    @activity.defn(name="check_offboarding_policy")
    async def check_offboarding(self, request: OffboardInput) -> OffboardInput:
        """The input with the worker's subdomain policy and timeouts; an organization that does not
        hold the name (unknown, already offboarding or offboarded, slug released) is refused."""
        problems = _workflow_id_problem(offboard_workflow_id(request.organization_id))
        problems |= offboard_problems(request, self._policy)
        fqdn = request.subdomain.fqdn
        if not problems and await self._recorded(uuid.UUID(request.organization_id)) != fqdn:
            problems["subdomain.fqdn"] = "must be the name recorded for an active organization"
        if problems:
            activity.logger.warning("offboarding input rejected: %s", ", ".join(sorted(problems)))
            raise _rejected("offboarding", problems)
        return dataclasses.replace(
            request, subdomain=self._subdomain(request.subdomain), timeouts=self._policy.timeouts
        )

    def _subdomain(self, request: SubdomainInput) -> SubdomainInput:
        """The input with every policy field the worker's (the organization, name and the rest kept)."""
        policy = self._policy
        return dataclasses.replace(
            request,
            zone=policy.zone,
            record_type=RECORD_TYPE,
            target=policy.target,
            proxied=policy.proxied,
            verification=policy.verification,
            timeouts=policy.timeouts,
        )
