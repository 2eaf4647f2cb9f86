"""How a subdomain workflow is started: the one set of options the worker (as the bootstrap's child)
and the provisioning service (RetrySubdomain) both use, so a retried run looks like the first one.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypedDict

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from a4c.eventstore.models import SubdomainStatus
from a4c.workflows import search
from a4c.workflows.models import SubdomainInput, subdomain_workflow_id

# The run may outlive its verification deadline by this much (worker restarts, a slow first check).
_EXECUTION_MARGIN_SECONDS = 3600


class SubdomainStartOptions(TypedDict):
    """Keyword arguments of both `workflow.start_child_workflow` and `Client.start_workflow`."""

    id: str
    search_attributes: TypedSearchAttributes
    execution_timeout: timedelta


def subdomain_start(request: SubdomainInput, slug: str) -> SubdomainStartOptions:
    """Id from the organization, its search attributes (subdomain pending), a bounded run time."""
    return SubdomainStartOptions(
        id=subdomain_workflow_id(request.organization_id),
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(search.ORGANIZATION_ID, request.organization_id),
                SearchAttributePair(search.ORG_SLUG, slug),
                SearchAttributePair(search.SUBDOMAIN_STATUS, SubdomainStatus.PENDING),
            ]
        ),
        execution_timeout=timedelta(
            seconds=request.verification.deadline_seconds + _EXECUTION_MARGIN_SECONDS
        ),
    )
