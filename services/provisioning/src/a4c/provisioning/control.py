"""GetBootstrap, CancelBootstrap and RetrySubdomain: the read model plus Temporal."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from uuid import UUID

from a4c.common.deadline import Deadline
from a4c.eventstore import BootstrapState, LifecycleStatus, Organization, SubdomainStatus
from a4c.provisioning import organizations, retry
from a4c.provisioning.deps import Dependencies
from a4c.provisioning.errors import FailedPrecondition
from a4c.provisioning.steps import StepsView, from_progress, from_records
from a4c.provisioning.temporal import Execution, Started
from a4c.workflows.models import SubdomainInput, bootstrap_workflow_id, subdomain_workflow_id

log = logging.getLogger(__name__)

_RANK = {BootstrapState.INITIATED: 0, BootstrapState.RUNNING: 1}  # every final state ranks 2
_RETRYABLE_SUBDOMAIN = (SubdomainStatus.FAILED, SubdomainStatus.REMOVED)


@dataclass(frozen=True)
class BootstrapView:
    organization: Organization
    workflow_id: str
    status: BootstrapState
    steps: StepsView


@dataclass(frozen=True)
class Cancelled:
    cancel_requested: bool
    status: BootstrapState


def workflow_id_of(organization: Organization) -> str:
    return organization.workflow_id or bootstrap_workflow_id(str(organization.id))


class Control:
    def __init__(self, deps: Dependencies) -> None:
        self._deps = deps

    async def get_bootstrap(self, ref: UUID | str, deadline: Deadline) -> BootstrapView:
        """The status, from the running workflow's live progress when it answers before ``deadline``,
        else from the recorded events."""
        deps = self._deps
        organization = await organizations.find(deps.store, ref)
        workflow_id = workflow_id_of(organization)
        status = organization.bootstrap_status
        if not status.is_final and await self._is_running(workflow_id):
            progress = await deps.workflows.progress(workflow_id, deadline)
            if progress is not None:
                live = _state(progress.status)
                if live is not None and _RANK.get(live, 2) > _RANK.get(status, 2):
                    status = live  # the workflow is ahead of its events
                return BootstrapView(organization, workflow_id, status, from_progress(progress))
        steps = await retry.idempotent(lambda: deps.store.get_bootstrap_steps(organization.id))
        return BootstrapView(organization, workflow_id, status, from_records(steps))

    async def cancel(self, ref: UUID | str, reason: str) -> Cancelled:
        deps = self._deps
        organization = await organizations.find(deps.store, ref)
        if organization.bootstrap_status.is_final:
            return Cancelled(False, organization.bootstrap_status)
        requested = await deps.workflows.cancel(
            workflow_id_of(organization), reason or "cancelled by an operator"
        )
        latest = await organizations.find(deps.store, organization.id)
        return Cancelled(requested, latest.bootstrap_status)

    async def retry_subdomain(self, ref: UUID | str, *, actor: str) -> Started:
        deps = self._deps
        organization = await organizations.find(deps.store, ref)
        org_id = str(organization.id)
        if organization.lifecycle_status is not LifecycleStatus.ACTIVE:
            # Offboarding removed the record on purpose (a cancel restores it).
            raise FailedPrecondition(
                f"the organization is {organization.lifecycle_status.value}", "ORGANIZATION_NOT_ACTIVE"
            )
        if await deps.workflows.execution(subdomain_workflow_id(org_id)) == Execution.RUNNING:
            # Already being provisioned (e.g. this retry sent twice): the running one is the answer.
            return await deps.workflows.start_subdomain(
                self._subdomain_input(organization, actor), organization.slug or ""
            )
        if organization.bootstrap_status != BootstrapState.COMPLETED:
            raise FailedPrecondition(
                f"the bootstrap is {organization.bootstrap_status.value}; only a completed bootstrap's "
                "subdomain can be retried",
                "BOOTSTRAP_NOT_COMPLETED",
            )
        if organization.subdomain_status not in _RETRYABLE_SUBDOMAIN:
            raise FailedPrecondition(
                f"the subdomain is {organization.subdomain_status.value}; only a failed or removed "
                "subdomain can be retried",
                "SUBDOMAIN_NOT_RETRYABLE",
            )
        return await deps.workflows.start_subdomain(
            self._subdomain_input(organization, actor), organization.slug or ""
        )

    def _subdomain_input(self, organization: Organization, actor: str) -> SubdomainInput:
        deps = self._deps
        fqdn = organization.subdomain_fqdn or deps.subdomain_fqdn(organization.slug or "")
        request = deps.subdomain_input(str(organization.id), fqdn, actor=actor)
        label = f"{organization.slug}."
        if organization.slug and fqdn.startswith(label) and fqdn[len(label) :] != request.zone:
            # Recorded under another base domain (configuration changed since): keep its own zone.
            request = replace(request, zone=fqdn[len(label) :])
        return request

    async def _is_running(self, workflow_id: str) -> bool:
        try:
            return await self._deps.workflows.execution(workflow_id) == Execution.RUNNING
        except Exception as error:
            log.warning("cannot describe %s: %s", workflow_id, error)
            return False


def _state(value: str) -> BootstrapState | None:
    try:
        return BootstrapState(value)
    except ValueError:
        return None
