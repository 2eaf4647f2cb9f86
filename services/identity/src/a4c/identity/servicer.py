"""a4c.api.identity.v1.IdentityService: requests in, operations called, responses out.

Only translation lives here: proto ↔ domain, the caller's gRPC deadline → one :class:`Deadline`
(passed unchanged to the operations and on to every Zitadel call), failures → status
(errors.grpc_errors). The rules are in operations.py; the checks in validation.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import grpc
from google.protobuf import timestamp_pb2

from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.common.auth import MethodScopes
from a4c.common.deadline import Deadline
from a4c.common.errors import InvalidFields
from a4c.common.paging import PageTokens
from a4c.identity.errors import grpc_errors
from a4c.identity.operations import Admin, IdentityOperations
from a4c.identity.validation import Checker
from a4c.identity.zitadel_types import Organization

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
# Zitadel's default list limit; one search per page.
MAX_ORG_PAGE = 1000


def _organization(org: Organization) -> identity_pb2.Organization:
    message = identity_pb2.Organization(id=org.id, name=org.name, state=org.state)
    if org.created_at is not None:
        created = timestamp_pb2.Timestamp()
        created.FromDatetime(org.created_at)
        message.created_at.CopyFrom(created)
    return message


def _offset(position: Mapping[str, Any]) -> int:
    offset = position["offset"]
    if not isinstance(offset, int) or offset < 0:
        raise ValueError("offset")
    return offset


def _outcome(event: str, request: Any) -> None:
    """One INFO line per change, with the ids a caller can search for (never names or emails)."""
    fields = ("organization_id", "user_id", "request_id")
    log.info(event, extra={f: getattr(request, f) for f in fields if getattr(request, f, "")})


# Only the worker's principal holds `write`; an operator may hold `read` (the README's trust model).
SCOPES = MethodScopes(
    {
        "CreateOrganization": "write",
        "GetOrganization": "read",
        "DeleteOrganization": "write",
        "GrantRole": "write",
        "SendInvitation": "write",
        "DeactivateOrganization": "write",
        "ReactivateOrganization": "write",
        "ListOrganizations": "read",
    }
)


class IdentityServicer(identity_pb2_grpc.IdentityServiceServicer):
    def __init__(
        self, operations: IdentityOperations, *, default_timeout: float, page_tokens: PageTokens
    ) -> None:
        self._ops = operations
        self._default_timeout = default_timeout
        self._page_tokens = page_tokens

    def _deadline(self, context: Context) -> Deadline:
        return Deadline.from_context(context, default=self._default_timeout)

    @grpc_errors
    async def CreateOrganization(
        self, request: identity_pb2.CreateOrganizationRequest, context: Context
    ) -> identity_pb2.CreateOrganizationResponse:
        a = request.admin
        checker = Checker().id("organization_id", request.organization_id).text("name", request.name)
        if request.HasField("admin"):
            checker.email("admin.email", a.email).text("admin.given_name", a.given_name)
            checker.text("admin.family_name", a.family_name).username("admin.username", a.username)
        else:
            checker.add("admin", "is required")
        checker.done()
        admin = Admin(a.email.strip(), a.given_name.strip(), a.family_name.strip(), a.username.strip())
        result = await self._ops.create_organization(
            request.organization_id, request.name.strip(), admin, deadline=self._deadline(context)
        )
        _outcome("organization created" if result.created else "organization already existed", request)
        return identity_pb2.CreateOrganizationResponse(
            organization=_organization(result.organization),
            admin_user_id=result.admin_user_id,
            created=result.created,
        )

    @grpc_errors
    async def GetOrganization(
        self, request: identity_pb2.GetOrganizationRequest, context: Context
    ) -> identity_pb2.GetOrganizationResponse:
        Checker().id("organization_id", request.organization_id).done()
        org = await self._ops.get_organization(request.organization_id, deadline=self._deadline(context))
        return identity_pb2.GetOrganizationResponse(organization=_organization(org))

    @grpc_errors
    async def ListOrganizations(
        self, request: identity_pb2.ListOrganizationsRequest, context: Context
    ) -> identity_pb2.ListOrganizationsResponse:
        checker = Checker()
        size = request.page_size or MAX_ORG_PAGE
        if not 1 <= size <= MAX_ORG_PAGE:
            checker.add("page_size", f"must be between 1 and {MAX_ORG_PAGE} (0 means {MAX_ORG_PAGE})")
        query = ("organizations", size)
        offset = 0
        if request.page_token:
            try:
                offset = self._page_tokens.decode(request.page_token, query, _offset)
            except InvalidFields as exc:
                checker.violations.extend(exc.violations)
        checker.done()
        orgs, following = await self._ops.list_organizations(offset, size, deadline=self._deadline(context))
        token = "" if following is None else self._page_tokens.encode({"offset": following}, query)
        return identity_pb2.ListOrganizationsResponse(
            organizations=[_organization(o) for o in orgs], next_page_token=token
        )

    @grpc_errors
    async def DeleteOrganization(
        self, request: identity_pb2.DeleteOrganizationRequest, context: Context
    ) -> identity_pb2.DeleteOrganizationResponse:
        Checker().id("organization_id", request.organization_id).done()
        deleted = await self._ops.delete_organization(
            request.organization_id, deadline=self._deadline(context)
        )
        _outcome("organization deleted" if deleted else "organization was already gone", request)
        return identity_pb2.DeleteOrganizationResponse(deleted=deleted)

    @grpc_errors
    async def DeactivateOrganization(
        self, request: identity_pb2.DeactivateOrganizationRequest, context: Context
    ) -> identity_pb2.DeactivateOrganizationResponse:
        Checker().id("organization_id", request.organization_id).done()
        changed = await self._ops.deactivate_organization(
            request.organization_id, deadline=self._deadline(context)
        )
        _outcome("organization deactivated" if changed else "organization was already inactive", request)
        return identity_pb2.DeactivateOrganizationResponse(changed=changed)

    @grpc_errors
    async def ReactivateOrganization(
        self, request: identity_pb2.ReactivateOrganizationRequest, context: Context
    ) -> identity_pb2.ReactivateOrganizationResponse:
        Checker().id("organization_id", request.organization_id).done()
        changed = await self._ops.reactivate_organization(
            request.organization_id, deadline=self._deadline(context)
        )
        _outcome("organization reactivated" if changed else "organization was already active", request)
        return identity_pb2.ReactivateOrganizationResponse(changed=changed)

    @grpc_errors
    async def GrantRole(
        self, request: identity_pb2.GrantRoleRequest, context: Context
    ) -> identity_pb2.GrantRoleResponse:
        checker = Checker().id("organization_id", request.organization_id).id("user_id", request.user_id)
        checker.project("project_id", request.project_id, self._ops.policy.project_id).done()
        grant = await self._ops.grant_role(
            request.organization_id, request.user_id, deadline=self._deadline(context)
        )
        _outcome("role grant created" if grant.created else "role grant already existed", request)
        return identity_pb2.GrantRoleResponse(
            grant_id=grant.grant_id, created=grant.created, role_keys=grant.role_keys
        )

    @grpc_errors
    async def SendInvitation(
        self, request: identity_pb2.SendInvitationRequest, context: Context
    ) -> identity_pb2.SendInvitationResponse:
        checker = Checker().id("organization_id", request.organization_id).id("user_id", request.user_id)
        checker.request_id("request_id", request.request_id).done()
        invitation = await self._ops.send_invitation(
            request.organization_id,
            request.user_id,
            request.request_id,
            deadline=self._deadline(context),
        )
        _outcome("invitation already sent" if invitation.already_sent else "invitation sent", request)
        return identity_pb2.SendInvitationResponse(
            sent=True, email=invitation.email, already_sent=invitation.already_sent
        )
