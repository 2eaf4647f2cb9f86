"""The identity service's idempotent operations, built from single Zitadel calls.

Every operation may be repeated by a retrying caller (the worker's activities) and must never create
anything twice, so each one detects what already exists and reads it back:

- create_organization: the caller's id is the Zitadel org id and the admin's user id is derived
  from it, so a repeat finds both by id (fresh reads). After a create, the org is read back: Zitadel
  has answered success without creating anything (zitadel/zitadel#10330) and 409 for a replay of
  our own create.
- grant_role: project grant to the tenant org first (when it does not own the project), then the
  user grant; a 409 on either finds the existing grant and widens its roles when needed.
- only organizations A4C created (marked in their metadata, a4c.identity.ownership) are read,
  deleted or granted roles in; any other answers exactly as an unknown id does (NOT_FOUND);
- deactivate/reactivate_organization read the org's state first and change it only when needed; a
  FailedPrecondition from Zitadel (already in that state, after a lost answer) is success too;
- only searches are waited for (a4c.identity.consistency): commands and reads by id see a user
  or org the moment it is created.
- send_invitation mails at most once per request id (a4c.identity.invitations records the id in
  the user's Zitadel metadata after the send); a second email for one id remains possible only
  when CreateInviteCode was applied but its answer was lost (see the README).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from a4c.common.deadline import Deadline
from a4c.identity import ownership
from a4c.identity.consistency import Consistency
from a4c.identity.invitations import Invitation, send_once
from a4c.identity.zitadel import ZitadelClient
from a4c.identity.zitadel_errors import AlreadyExists, FailedPrecondition, NotFound, ZitadelError
from a4c.identity.zitadel_types import Grant, NewAdmin, Organization, User

_ADMIN_ID_NAMESPACE = uuid.UUID("0b6c3f4e-5a1d-4c8e-9f1a-6a4c0d1e2f3a")


class OperationError(Exception):
    """A result Zitadel's own errors do not express; ``cause`` is the Zitadel error behind it."""

    def __init__(self, message: str, cause: ZitadelError | None = None) -> None:
        super().__init__(message)
        self.cause = cause


class OrganizationConflict(OperationError):
    """Another organization holds the name."""


class AdminUsernameTaken(OrganizationConflict):
    """Another user (of any organization) already has the admin's username: usernames are unique
    in the instance, so one person cannot be the first admin of two tenants under one login."""


class OrganizationIdTaken(OrganizationConflict):
    """The id belongs to an organization A4C did not create: it is neither adopted nor marked."""


class NotReadable(OperationError):
    """Zitadel reported a change that cannot be read back within the consistency window."""


class ObjectNotFound(OperationError):
    """The organization or user named in the request does not exist."""


class WrongOrganization(OperationError):
    """The user exists but belongs to another organization than the request says."""


@dataclass(frozen=True)
class Admin:
    email: str
    given_name: str
    family_name: str
    username: str = ""

    @property
    def login(self) -> str:
        return self.username or self.email  # Zitadel's default username is the email


@dataclass(frozen=True)
class OrganizationResult:
    organization: Organization
    admin_user_id: str
    created: bool


@dataclass(frozen=True)
class RoleGrant:
    """What GrantRole did: the user grant's id, whether this call created it, and the roles it holds."""

    grant_id: str
    created: bool
    role_keys: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """The service's own policy, from its settings: callers cannot override any of it."""

    project_id: str
    admin_role_keys: tuple[str, ...]
    invite_url_template: str
    application_name: str
    # How long a just-created object may stay unreadable before that is an error.
    consistency_wait: float = 5.0


def admin_user_id(org_id: str) -> str:
    """The first admin's Zitadel user id, derived from the org id so a repeat finds it by id."""
    return str(uuid.uuid5(_ADMIN_ID_NAMESPACE, org_id))


def _same_name(org: Organization, name: str) -> bool:
    return org.name.casefold() == name.casefold()


def _widened(grant: Grant, keys: list[str]) -> list[str]:
    """The grant's roles plus ``keys`` when some are missing; empty when it already has them all."""
    return [] if set(keys) <= set(grant.role_keys) else sorted(set(grant.role_keys) | set(keys))


class IdentityOperations:
    def __init__(
        self,
        client: ZitadelClient,
        policy: Policy,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._policy = policy
        self._wait = Consistency(policy.consistency_wait, sleep=sleep)
        self._owners: dict[str, str] = {}  # project id -> owner org id; ownership never changes

    @property
    def policy(self) -> Policy:
        return self._policy

    # -- organizations -----------------------------------------------------------------------
    async def create_organization(
        self, org_id: str, name: str, admin: Admin, *, deadline: Deadline
    ) -> OrganizationResult:
        c = self._client
        existing = await c.get_organization(org_id, deadline=deadline)
        if existing is not None:
            await self._claim(existing, deadline)
            return OrganizationResult(
                existing, await self._admin_of(existing, admin, deadline), created=False
            )
        new_admin = NewAdmin(
            admin_user_id(org_id), admin.email, admin.given_name, admin.family_name, admin.username
        )
        try:
            await c.add_organization(org_id, name, new_admin, deadline=deadline)
        except AlreadyExists as exc:
            # Reads by id are fresh: no need to wait for the org a 409 may be about.
            found = await c.get_organization(org_id, deadline=deadline)
            if found is None:
                raise await self._conflict(name, admin, exc, deadline) from exc
            # Ours after all: a lost answer to an earlier attempt of this very call created it.
            await self._claim(found, deadline)
            created = exc.after_uncertain_attempt and _same_name(found, name)
            return OrganizationResult(found, await self._admin_of(found, admin, deadline), created)
        found = await c.get_organization(org_id, deadline=deadline)  # fresh by id
        if found is None:
            raise NotReadable(f"Zitadel accepted organization {org_id} but it cannot be read back")
        if not _same_name(found, name):
            # The id was already taken and Zitadel answered success without creating ours
            # (zitadel/zitadel#10330).
            await self._claim(found, deadline)
            return OrganizationResult(found, await self._admin_of(found, admin, deadline), created=False)
        await ownership.mark(c, org_id, deadline)
        return OrganizationResult(found, new_admin.user_id, created=True)

    async def _claim(self, org: Organization, deadline: Deadline) -> None:
        """Accept an existing org with our id only if A4C created it: marked, or (a crash between
        the create and the mark) holding the first admin only our create makes; then mark it."""
        c = self._client
        if await ownership.is_marked(c, org.id, deadline):
            return
        derived = await c.get_user(admin_user_id(org.id), deadline=deadline)
        if derived is None or derived.org_id != org.id:
            raise OrganizationIdTaken(
                f"organization id {org.id} is taken by an organization A4C did not create"
            )
        await ownership.mark(c, org.id, deadline)

    async def _ours(self, org_id: str, deadline: Deadline) -> Organization:
        """The org, if A4C created it; ObjectNotFound alike for a missing and a foreign one."""
        c = self._client
        found = await c.get_organization(org_id, deadline=deadline)
        if found is None or not await ownership.is_marked(c, org_id, deadline):
            raise ObjectNotFound(f"organization {org_id} not found")
        return found

    async def _conflict(
        self, name: str, admin: Admin, exc: AlreadyExists, deadline: Deadline
    ) -> OrganizationConflict:
        """Say which of the org's name and the admin's username is taken (Zitadel's 409 says it in
        words only)."""
        c = self._client
        if await c.find_users(admin.login, deadline=deadline):
            return AdminUsernameTaken(f"the admin username {admin.login!r} is already taken", exc)
        return OrganizationConflict(f"another organization is already named {name!r}", exc)

    async def get_organization(self, org_id: str, *, deadline: Deadline) -> Organization:
        return await self._ours(org_id, deadline)

    async def list_organizations(
        self, offset: int, limit: int, *, deadline: Deadline
    ) -> tuple[list[Organization], int | None]:
        """A page of the organizations whose id has A4C's shape (a UUID), and the next offset (None on
        the last page). Only ids, states and creation times leave: the ownership mark is
        GetOrganization's to check, one request per organization, which a sweep cannot afford."""
        found, total = await self._client.list_organizations(offset=offset, limit=limit, deadline=deadline)
        ours = [Organization(o.id, "", o.state, o.created_at) for o in found if _uuid_shaped(o.id)]
        following = offset + len(found)
        return ours, (following if found and following < total else None)

    async def delete_organization(self, org_id: str, *, deadline: Deadline) -> bool:
        """True when this call deleted it; False when it was already gone. An org A4C did not
        create is ObjectNotFound and stays."""
        if await self._client.get_organization(org_id, deadline=deadline) is None:
            return False
        await self._ours(org_id, deadline)
        try:
            await self._client.delete_organization(org_id, deadline=deadline)
        except NotFound as exc:
            return exc.after_uncertain_attempt  # gone after a lost answer: that attempt deleted it
        return True

    async def deactivate_organization(self, org_id: str, *, deadline: Deadline) -> bool:
        """True when this call deactivated it; False when it was already inactive."""
        return await self._set_state(org_id, active=False, deadline=deadline)

    async def reactivate_organization(self, org_id: str, *, deadline: Deadline) -> bool:
        """True when this call reactivated it; False when it was already active."""
        return await self._set_state(org_id, active=True, deadline=deadline)

    async def _set_state(self, org_id: str, *, active: bool, deadline: Deadline) -> bool:
        org = await self._ours(org_id, deadline)
        if (org.state == "ACTIVE") == active:
            return False
        change = self._client.activate_organization if active else self._client.deactivate_organization
        try:
            await change(org_id, deadline=deadline)
        except FailedPrecondition as exc:
            # Already in that state: a repeat after a lost answer (that attempt changed it).
            return exc.after_uncertain_attempt
        except NotFound as exc:
            raise ObjectNotFound(f"organization {org_id} not found", exc) from exc
        return True

    async def _admin_of(self, org: Organization, admin: Admin, deadline: Deadline) -> str:
        """The admin's user id: ours by derivation, else (org made elsewhere) found by login name."""
        c = self._client
        derived = await c.get_user(admin_user_id(org.id), deadline=deadline)
        if derived is not None and derived.org_id == org.id:
            return derived.id

        async def search() -> list[User] | None:
            return await c.find_users(admin.login, org_id=org.id, deadline=deadline) or None

        users = await self._wait.search(search, deadline)
        if not users:
            raise ObjectNotFound(f"organization {org.id} exists but has no user {admin.login!r}")
        return users[0].id

    # -- roles and invitations ---------------------------------------------------------------
    async def grant_role(
        self,
        org_id: str,
        user_id: str,
        *,
        deadline: Deadline,
    ) -> RoleGrant:
        """Grant the configured admin roles of the configured project, in an org A4C created
        (callers choose neither: the policy is this service's)."""
        c = self._client
        project = self._policy.project_id
        keys = sorted(set(self._policy.admin_role_keys))
        await self._ours(org_id, deadline)
        await self._user_in(org_id, user_id, deadline)
        owner = await self._owner(project, deadline)
        project_grant = (
            await self._ensure_project_grant(owner, project, org_id, keys, deadline)
            if owner != org_id
            else ""
        )
        try:
            grant_id = await c.add_user_grant(
                org_id, user_id, project, project_grant, keys, deadline=deadline
            )
            return RoleGrant(grant_id, True, tuple(keys))
        except AlreadyExists as exc:
            existing_id = await self._adopt(
                exc,
                functools.partial(c.find_user_grant, org_id, user_id, project),
                functools.partial(c.update_user_grant, org_id, user_id),
                keys,
                deadline,
            )
            return RoleGrant(existing_id, exc.after_uncertain_attempt, tuple(keys))

    async def send_invitation(
        self,
        org_id: str,
        user_id: str,
        request_id: str,
        *,
        deadline: Deadline,
    ) -> Invitation:
        """Ask Zitadel to mail the invitation (link and name from this service's policy) unless
        ``request_id`` was served already; the address and which of the two happened."""
        user = await self._user_in(org_id, user_id, deadline)
        return await send_once(
            self._client,
            user,
            request_id,
            url_template=self._policy.invite_url_template,
            application_name=self._policy.application_name,
            deadline=deadline,
        )

    async def _user_in(self, org_id: str, user_id: str, deadline: Deadline) -> User:
        c = self._client
        user = await c.get_user(user_id, deadline=deadline)  # fresh by id
        if user is None:
            raise ObjectNotFound(f"user {user_id} not found")
        if user.org_id != org_id:
            raise WrongOrganization(f"user {user_id} belongs to organization {user.org_id}, not {org_id}")
        return user

    async def _owner(self, project_id: str, deadline: Deadline) -> str:
        if project_id not in self._owners:
            c = self._client
            self._owners[project_id] = await c.project_owner(project_id, deadline=deadline)
        return self._owners[project_id]

    async def _ensure_project_grant(
        self, owner: str, project: str, org_id: str, keys: list[str], deadline: Deadline
    ) -> str:
        c = self._client
        try:
            return await c.add_project_grant(owner, project, org_id, keys, deadline=deadline)
        except AlreadyExists as exc:
            return await self._adopt(
                exc,
                functools.partial(c.find_project_grant, org_id, project),
                functools.partial(c.update_project_grant, owner, project),
                keys,
                deadline,
            )

    async def _adopt(
        self,
        conflict: AlreadyExists,
        find: Callable[..., Awaitable[Grant | None]],
        widen: Callable[..., Awaitable[None]],
        keys: list[str],
        deadline: Deadline,
    ) -> str:
        """After a 409 on a grant: find the grant that exists, add the roles it lacks; its id.
        ``find(deadline=)`` and ``widen(grant_id, role_keys, deadline=)`` are client calls."""
        existing = await self._wait.search(lambda: find(deadline=deadline), deadline)
        if existing is None:
            raise NotReadable(f"{conflict.zitadel_message or 'a grant exists'} but cannot be found", conflict)
        wider = _widened(existing, keys)
        if wider:
            await widen(existing.id, wider, deadline=deadline)
        return existing.id


def _uuid_shaped(org_id: str) -> bool:
    """A4C creates organizations with its own organization UUID as the Zitadel id."""
    try:
        return str(uuid.UUID(org_id)) == org_id
    except ValueError:
        return False
