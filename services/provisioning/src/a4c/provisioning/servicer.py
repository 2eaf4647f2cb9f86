"""ProvisioningService over gRPC: requests → domain calls → responses, nothing else.

Validation lives in validation.py, behaviour in bootstrap.py / control.py / organizations.py /
watch.py, and every error leaves through errors.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, TypeVar

import grpc

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.auth import MethodScopes, current_actor
from a4c.common.deadline import Deadline
from a4c.common.errors import InvalidFields
from a4c.common.paging import PageTokens
from a4c.provisioning import convert, organizations
from a4c.provisioning.bootstrap import Bootstrapper
from a4c.provisioning.control import Control
from a4c.provisioning.deps import Dependencies
from a4c.provisioning.errors import grpc_errors, grpc_stream_errors
from a4c.provisioning.hub import EventHub
from a4c.provisioning.offboarding import Offboarding
from a4c.provisioning.temporal import QUERY_TIMEOUT
from a4c.provisioning.validation import organization_ref, validate_bootstrap
from a4c.provisioning.watch import Watcher

Context = grpc.aio.ServicerContext[Any, Any]
E = TypeVar("E")
REASON_MAX = 500
# A preview without a caller deadline: long enough for thousands of tenants (a few calls per batch).
PREVIEW_TIMEOUT = 300.0

# The scope each method needs (the README's trust model): the console reads, an operator also
# bootstraps and operates; the kit refuses to start when a method is missing here.
SCOPES = MethodScopes(
    {
        "BootstrapOrganization": "bootstrap",
        "GetBootstrap": "read",
        "WatchBootstrap": "read",
        "CancelBootstrap": "operate",
        "RetrySubdomain": "operate",
        "GetOrganization": "read",
        "ListOrganizations": "read",
        "ListOrganizationEvents": "read",
        "OffboardOrganization": "operate",
        "CancelOffboarding": "operate",
        # A preview changes nothing but spends upstream budget, so it is an operator's.
        "PreviewDrift": "operate",
    }
)


def _filter(value: int, mapping: dict[Any, E], field: str) -> E | None:
    if value == 0:
        return None
    if value not in mapping:
        raise InvalidFields.one(field, f"unknown value {value}")
    return mapping[value]


class ProvisioningServicer(provisioning_pb2_grpc.ProvisioningServiceServicer):
    def __init__(self, deps: Dependencies, hub: EventHub) -> None:
        self._deps = deps
        self._bootstrapper = Bootstrapper(deps)
        self._control = Control(deps)
        self._offboarding = Offboarding(deps)
        self._watcher = Watcher(deps.store, hub, deps.workflows)
        self._page_tokens = PageTokens(deps.settings.server.page_token_key)

    @grpc_errors
    async def BootstrapOrganization(
        self, request: pb.BootstrapOrganizationRequest, context: Context
    ) -> pb.BootstrapOrganizationResponse:
        org = validate_bootstrap(
            name=request.name,
            slug=request.slug,
            has_admin=request.HasField("admin"),
            admin_email=request.admin.email,
            admin_given_name=request.admin.given_name,
            admin_family_name=request.admin.family_name,
            request_id=request.request_id,
            reserved=self._deps.settings.reserved_slugs,
        )
        done = await self._bootstrapper.bootstrap(org, actor=current_actor())
        return pb.BootstrapOrganizationResponse(
            organization_id=done.organization_id,
            workflow_id=done.workflow_id,
            subdomain_fqdn=done.subdomain_fqdn,
            already_existed=done.already_existed,
        )

    @grpc_errors
    async def GetBootstrap(
        self, request: pb.GetBootstrapRequest, context: Context
    ) -> pb.GetBootstrapResponse:
        ref = organization_ref(request.organization_id, request.slug)
        deadline = Deadline.from_context(context, default=QUERY_TIMEOUT, margin=0.5)
        view = await self._control.get_bootstrap(ref, deadline)
        return pb.GetBootstrapResponse(bootstrap=convert.bootstrap(view))

    @grpc_stream_errors
    async def WatchBootstrap(
        self, request: pb.WatchBootstrapRequest, context: Context
    ) -> AsyncIterator[pb.WatchBootstrapResponse]:
        ref = organization_ref(request.organization_id, request.slug)
        if request.after_sequence < 0:
            raise InvalidFields.one("after_sequence", "must not be negative")
        organization = await organizations.find(self._deps.store, ref)
        async for item in self._watcher.watch(organization.id, request.after_sequence):
            yield convert.watch_response(item)

    @grpc_errors
    async def CancelBootstrap(
        self, request: pb.CancelBootstrapRequest, context: Context
    ) -> pb.CancelBootstrapResponse:
        ref = organization_ref(request.organization_id, request.slug)
        reason = _reason(request.reason, required=False)
        outcome = await self._control.cancel(ref, reason)
        return pb.CancelBootstrapResponse(
            cancel_requested=outcome.cancel_requested, status=convert.BOOTSTRAP_STATUS[outcome.status]
        )

    @grpc_errors
    async def RetrySubdomain(
        self, request: pb.RetrySubdomainRequest, context: Context
    ) -> pb.RetrySubdomainResponse:
        ref = organization_ref(request.organization_id, request.slug)
        started = await self._control.retry_subdomain(ref, actor=current_actor())
        return pb.RetrySubdomainResponse(workflow_id=started.workflow_id, run_id=started.run_id)

    @grpc_errors
    async def GetOrganization(
        self, request: pb.GetOrganizationRequest, context: Context
    ) -> pb.GetOrganizationResponse:
        ref = organization_ref(request.organization_id, request.slug)
        found = await organizations.find(self._deps.store, ref)
        return pb.GetOrganizationResponse(organization=convert.organization(found))

    @grpc_errors
    async def ListOrganizations(
        self, request: pb.ListOrganizationsRequest, context: Context
    ) -> pb.ListOrganizationsResponse:
        page = await organizations.list_organizations(
            self._deps.store,
            subdomain_status=_filter(request.subdomain_status, convert.SUBDOMAIN_FILTER, "subdomain_status"),
            bootstrap_status=_filter(request.bootstrap_status, convert.BOOTSTRAP_FILTER, "bootstrap_status"),
            size=request.page_size,
            token=request.page_token,
            tokens=self._page_tokens,
            query=request.query,
            lifecycle_status=_filter(request.lifecycle_status, convert.LIFECYCLE_FILTER, "lifecycle_status"),
        )
        return pb.ListOrganizationsResponse(
            organizations=[convert.organization(o) for o in page.items],
            next_page_token=page.next_page_token or "",
        )

    @grpc_errors
    async def ListOrganizationEvents(
        self, request: pb.ListOrganizationEventsRequest, context: Context
    ) -> pb.ListOrganizationEventsResponse:
        ref = organization_ref(request.organization_id, request.slug)
        organizations.page_size(request.page_size, organizations.EVENTS_PAGE)  # bad input before any read
        found = await organizations.find(self._deps.store, ref)
        page = await organizations.list_events(
            self._deps.store,
            found.id,
            size=request.page_size,
            token=request.page_token,
            tokens=self._page_tokens,
        )
        return pb.ListOrganizationEventsResponse(
            events=[convert.event(e) for e in page.events], next_page_token=page.next_page_token
        )

    @grpc_errors
    async def OffboardOrganization(
        self, request: pb.OffboardOrganizationRequest, context: Context
    ) -> pb.OffboardOrganizationResponse:
        ref = organization_ref(request.organization_id, request.slug)
        reason = _reason(request.reason, required=True)
        done = await self._offboarding.offboard(ref, reason, actor=current_actor())
        return pb.OffboardOrganizationResponse(
            organization_id=done.organization_id,
            workflow_id=done.workflow_id,
            already_existed=done.already_existed,
            lifecycle_status=convert.LIFECYCLE_STATUS[done.lifecycle_status],
            delete_after=convert.timestamp(done.delete_after),
        )

    @grpc_errors
    async def CancelOffboarding(
        self, request: pb.CancelOffboardingRequest, context: Context
    ) -> pb.CancelOffboardingResponse:
        ref = organization_ref(request.organization_id, request.slug)
        reason = _reason(request.reason, required=False)
        done = await self._offboarding.cancel(ref, reason, actor=current_actor())
        return pb.CancelOffboardingResponse(
            cancelled=done.cancelled, lifecycle_status=convert.LIFECYCLE_STATUS[done.lifecycle_status]
        )

    @grpc_errors
    async def PreviewDrift(
        self, request: pb.PreviewDriftRequest, context: Context
    ) -> pb.PreviewDriftResponse:
        deadline = Deadline.from_context(context, default=PREVIEW_TIMEOUT, margin=0.5)
        tally = await self._deps.workflows.preview_drift(deadline)
        return convert.drift_preview(tally)


def _reason(value: str, *, required: bool) -> str:
    """An operator's reason: recorded in an event, so bounded and printable (required for offboarding)."""
    reason = value.strip()
    if required and not reason:
        raise InvalidFields.one("reason", "is required")
    if len(reason) > REASON_MAX or not reason.isprintable():
        raise InvalidFields.one("reason", f"must be at most {REASON_MAX} printable characters")
    return reason
