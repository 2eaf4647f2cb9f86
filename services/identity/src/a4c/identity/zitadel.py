"""Zitadel API client for tenant onboarding (httpx, async, one pooled client passed in).

Each method is one Zitadel call, in the API style that expresses it best: v2 REST for
organizations, users and invite codes; v1 admin for the fresh read of an organization by id; v1
management for grants and user and organization metadata, acting inside an org through
``x-zitadel-orgid``; the v2 Connect project service to learn which org owns the project. Every call
takes the caller's :class:`Deadline`
(retries included; normally the servicer's), passed on unchanged; without one a call gets
``default_time_limit`` from now. The idempotent flows built on these calls live in
:mod:`a4c.identity.operations`. Failures are the hierarchy in :mod:`a4c.identity.zitadel_errors`.
"""

from __future__ import annotations

import base64
from typing import Any

from a4c.common.deadline import Deadline
from a4c.identity.zitadel_errors import NotFound
from a4c.identity.zitadel_http import ZitadelTransport
from a4c.identity.zitadel_types import CreatedOrganization, Grant, NewAdmin, Organization, User

__all__ = ["CreatedOrganization", "Grant", "NewAdmin", "Organization", "User", "ZitadelClient"]

DEFAULT_TIME_LIMIT = 30.0
GET_PROJECT = "/zitadel.project.v2.ProjectService/GetProject"


class ZitadelClient:
    def __init__(
        self, transport: ZitadelTransport, *, default_time_limit: float = DEFAULT_TIME_LIMIT
    ) -> None:
        self._t = transport
        self._default = default_time_limit

    def __repr__(self) -> str:
        return f"ZitadelClient({self._t!r})"

    def _within(self, deadline: Deadline | None) -> Deadline:
        return deadline or Deadline.after(self._default, clock=self._t.clock)

    # -- organizations -----------------------------------------------------------------------
    async def get_organization(self, org_id: str, *, deadline: Deadline | None = None) -> Organization | None:
        """Read by id (v1 admin GetOrgByID reads fresh, unlike searches); None when unknown."""
        try:
            body = await self._t.call("GET", f"/admin/v1/orgs/{org_id}", deadline=self._within(deadline))
        except NotFound:
            return None
        return Organization.from_v1(body.get("org") or {})

    async def list_organizations(
        self, *, offset: int, limit: int, deadline: Deadline | None = None
    ) -> tuple[list[Organization], int]:
        """One page of the instance's organizations, oldest first (a search: it may lag), and the
        total Zitadel reports."""
        payload = {"query": {"offset": str(offset), "limit": limit, "asc": True}}
        body = await self._t.call(
            "POST", "/v2/organizations/_search", json=payload, deadline=self._within(deadline)
        )
        found = [Organization.from_v2(o) for o in body.get("result") or [] if isinstance(o, dict)]
        total = int((body.get("details") or {}).get("totalResult") or 0)
        return found, total

    async def add_organization(
        self, org_id: str, name: str, admin: NewAdmin, *, deadline: Deadline | None = None
    ) -> CreatedOrganization:
        """AddOrganization: the org with our id, its admin (ORG_OWNER) and domain, in one write.
        Repeatable: a replay answers 409, which the caller reads back."""
        payload = {"name": name, "organizationId": org_id, "admins": [admin.to_api()]}
        body = await self._t.call("POST", "/v2/organizations", json=payload, deadline=self._within(deadline))
        admins = tuple(
            str(a.get("userId", "")) for a in body.get("createdAdmins") or [] if isinstance(a, dict)
        )
        return CreatedOrganization(str(body.get("organizationId") or org_id), admins)

    async def delete_organization(self, org_id: str, *, deadline: Deadline | None = None) -> None:
        await self._t.call("DELETE", f"/v2/organizations/{org_id}", deadline=self._within(deadline))

    async def deactivate_organization(self, org_id: str, *, deadline: Deadline | None = None) -> None:
        """v2 DeactivateOrganization: its users can no longer log in; an inactive one is 400
        FailedPrecondition, an unknown one 404."""
        path = f"/v2/organizations/{org_id}/deactivate"
        await self._t.call("POST", path, json={}, deadline=self._within(deadline))

    async def activate_organization(self, org_id: str, *, deadline: Deadline | None = None) -> None:
        """v2 ActivateOrganization: the reverse; an active one is 400 FailedPrecondition."""
        path = f"/v2/organizations/{org_id}/activate"
        await self._t.call("POST", path, json={}, deadline=self._within(deadline))

    # -- users -------------------------------------------------------------------------------
    async def get_user(self, user_id: str, *, deadline: Deadline | None = None) -> User | None:
        try:
            body = await self._t.call("GET", f"/v2/users/{user_id}", deadline=self._within(deadline))
        except NotFound:
            return None
        return User.from_v2(body.get("user") or {})

    async def find_users(
        self, username: str, *, org_id: str | None = None, deadline: Deadline | None = None
    ) -> list[User]:
        """Users with this username (any case), in ``org_id`` or the whole instance. A search: it may
        lag behind, and it ignores x-zitadel-orgid (hence the explicit org query)."""
        queries: list[dict[str, Any]] = [
            {"userNameQuery": {"userName": username, "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}}
        ]
        if org_id:
            queries.append({"organizationIdQuery": {"organizationId": org_id}})
        body = await self._t.call(
            "POST", "/v2/users", json={"queries": queries}, deadline=self._within(deadline)
        )
        return [User.from_v2(u) for u in body.get("result") or [] if isinstance(u, dict)]

    async def send_invite_code(
        self, user_id: str, url_template: str, application_name: str, *, deadline: Deadline | None = None
    ) -> None:
        """Zitadel mails the user an invitation. Not repeated after a lost answer: that would mail twice."""
        send: dict[str, str] = {"applicationName": application_name}
        if url_template:
            send["urlTemplate"] = url_template
        await self._t.call(
            "POST",
            f"/v2/users/{user_id}/invite_code",
            json={"sendCode": send},
            deadline=self._within(deadline),
            repeatable=False,
        )

    # -- user metadata (v1 management, in the user's org) ----------------------------------------
    async def get_user_metadata(
        self, org_id: str, user_id: str, key: str, *, deadline: Deadline | None = None
    ) -> bytes | None:
        """The value under ``key`` on the user, None when there is none (404 QUERY-Rgh32). Zitadel
        brings the metadata projection up to date before this read, so a value just set is seen."""
        try:
            body = await self._t.call(
                "GET",
                f"/management/v1/users/{user_id}/metadata/{key}",
                org_id=org_id,
                deadline=self._within(deadline),
            )
        except NotFound:
            return None
        value = (body.get("metadata") or {}).get("value")
        return base64.b64decode(value) if isinstance(value, str) else b""

    async def set_user_metadata(
        self, org_id: str, user_id: str, key: str, value: bytes, *, deadline: Deadline | None = None
    ) -> None:
        """Add or replace ``key`` on the user. Repeatable: setting the value it holds is a no-op."""
        await self._t.call(
            "POST",
            f"/management/v1/users/{user_id}/metadata/{key}",
            json={"value": base64.b64encode(value).decode()},
            org_id=org_id,
            deadline=self._within(deadline),
        )

    # -- organization metadata (v1 management, in the org itself) -----------------------------
    async def get_org_metadata(
        self, org_id: str, key: str, *, deadline: Deadline | None = None
    ) -> bytes | None:
        """The value under ``key`` on the org, None when there is none (404 QUERY-Rph32). A fresh
        read: Zitadel triggers the org metadata projection before it (GetOrgMetadataByKey)."""
        try:
            body = await self._t.call(
                "GET", f"/management/v1/metadata/{key}", org_id=org_id, deadline=self._within(deadline)
            )
        except NotFound:
            return None
        value = (body.get("metadata") or {}).get("value")
        return base64.b64decode(value) if isinstance(value, str) else b""

    async def set_org_metadata(
        self, org_id: str, key: str, value: bytes, *, deadline: Deadline | None = None
    ) -> None:
        """Add or replace ``key`` on the org (SetOrgMetadata). Repeatable: the same value is a no-op."""
        await self._t.call(
            "POST",
            f"/management/v1/metadata/{key}",
            json={"value": base64.b64encode(value).decode()},
            org_id=org_id,
            deadline=self._within(deadline),
        )

    # -- projects and grants -----------------------------------------------------------------
    async def project_owner(self, project_id: str, *, deadline: Deadline | None = None) -> str:
        """The id of the organization that owns the project."""
        payload = {"projectId": project_id}
        body = await self._t.call("POST", GET_PROJECT, json=payload, deadline=self._within(deadline))
        return str((body.get("project") or {}).get("organizationId", ""))

    async def add_project_grant(
        self,
        owner_org: str,
        project_id: str,
        org_id: str,
        role_keys: list[str],
        *,
        deadline: Deadline | None = None,
    ) -> str:
        """Grant the project's ``role_keys`` to ``org_id`` (acting in the owner org); the grant id."""
        body = await self._t.call(
            "POST",
            f"/management/v1/projects/{project_id}/grants",
            json={"grantedOrgId": org_id, "roleKeys": role_keys},
            org_id=owner_org,
            deadline=self._within(deadline),
        )
        return str(body.get("grantId", ""))

    async def find_project_grant(
        self, org_id: str, project_id: str, *, deadline: Deadline | None = None
    ) -> Grant | None:
        """The grant of ``project_id`` to ``org_id``, from the projects granted to it (a search)."""
        body = await self._t.call(
            "POST",
            "/management/v1/granted_projects/_search",
            json={},
            org_id=org_id,
            deadline=self._within(deadline),
        )
        for project in body.get("result") or []:
            if isinstance(project, dict) and project.get("projectId") == project_id:
                return Grant.granted_project(project)
        return None

    async def update_project_grant(
        self,
        owner_org: str,
        project_id: str,
        grant_id: str,
        keys: list[str],
        *,
        deadline: Deadline | None = None,
    ) -> None:
        path = f"/management/v1/projects/{project_id}/grants/{grant_id}"
        await self._set_roles(path, owner_org, keys, deadline)

    async def add_user_grant(
        self,
        org_id: str,
        user_id: str,
        project_id: str,
        project_grant_id: str,
        role_keys: list[str],
        *,
        deadline: Deadline | None = None,
    ) -> str:
        """Grant ``role_keys`` of the project to the user, inside ``org_id``; the user grant id."""
        payload: dict[str, Any] = {"projectId": project_id, "roleKeys": role_keys}
        if project_grant_id:
            payload["projectGrantId"] = project_grant_id
        body = await self._t.call(
            "POST",
            f"/management/v1/users/{user_id}/grants",
            json=payload,
            org_id=org_id,
            deadline=self._within(deadline),
        )
        return str(body.get("userGrantId", ""))

    async def find_user_grant(
        self, org_id: str, user_id: str, project_id: str, *, deadline: Deadline | None = None
    ) -> Grant | None:
        """The user's grant on the project inside ``org_id`` (a search: it may lag behind)."""
        queries = [{"userIdQuery": {"userId": user_id}}, {"projectIdQuery": {"projectId": project_id}}]
        body = await self._t.call(
            "POST",
            "/management/v1/users/grants/_search",
            json={"queries": queries},
            org_id=org_id,
            deadline=self._within(deadline),
        )
        grants = [Grant.user_grant(g) for g in body.get("result") or [] if isinstance(g, dict)]
        return grants[0] if grants else None

    async def update_user_grant(
        self, org_id: str, user_id: str, grant_id: str, keys: list[str], *, deadline: Deadline | None = None
    ) -> None:
        await self._set_roles(f"/management/v1/users/{user_id}/grants/{grant_id}", org_id, keys, deadline)

    async def _set_roles(self, path: str, org_id: str, keys: list[str], deadline: Deadline | None) -> None:
        """PUT a grant's complete role list (v1 management, inside ``org_id``): idempotent."""
        await self._t.call(
            "PUT", path, json={"roleKeys": keys}, org_id=org_id, deadline=self._within(deadline)
        )
