"""What a token says about the user: standard claims by scope and Zitadel's project-role claims.

Role claims follow Zitadel's ``prepareRoles`` / ``assertRoles`` (internal/api/oidc/userinfo.go):

- ``urn:zitadel:iam:org:project:role:{key}`` scopes request single roles of the client's project;
- ``urn:zitadel:iam:org:projects:roles`` requests the roles of every project named by an
  ``urn:zitadel:iam:org:project:id:{projectId}:aud`` scope;
- the project's ``projectRoleAssertion`` asserts its roles unasked;
- the result is ``urn:zitadel:iam:org:project:roles`` (the client's project) and
  ``urn:zitadel:iam:org:project:{projectId}:roles`` (each project), shaped
  ``{roleKey: {orgId: orgPrimaryDomain}}``; a user without grants gets neither claim.
"""

from __future__ import annotations

from typing import Any

from a4c.sandbox.zitadel.model import User
from a4c.sandbox.zitadel.store import State
from a4c.sandbox.zitadel.users import login_name

ROLE_SCOPE_PREFIX = "urn:zitadel:iam:org:project:role:"
PROJECTS_ROLES_SCOPE = "urn:zitadel:iam:org:projects:roles"
AUD_SCOPE_PREFIX = "urn:zitadel:iam:org:project:id:"
AUD_SCOPE_SUFFIX = ":aud"
ROLES_CLAIM = "urn:zitadel:iam:org:project:roles"
PROJECT_ROLES_CLAIM = "urn:zitadel:iam:org:project:{}:roles"


def audience_projects(scopes: list[str]) -> list[str]:
    """Project ids of the ``…:project:id:{id}:aud`` scopes (``zitadel``, the API's own, left out)."""
    ids = []
    for scope in scopes:
        if scope.startswith(AUD_SCOPE_PREFIX) and scope.endswith(AUD_SCOPE_SUFFIX):
            project_id = scope[len(AUD_SCOPE_PREFIX) : -len(AUD_SCOPE_SUFFIX)]
            if project_id and project_id != "zitadel" and project_id not in ids:
                ids.append(project_id)
    return ids


def role_claims(
    state: State, user_id: str, project_id: str, scopes: list[str], project_role_assertion: bool
) -> dict[str, Any]:
    requested = [s[len(ROLE_SCOPE_PREFIX) :] for s in scopes if s.startswith(ROLE_SCOPE_PREFIX)]
    audience: list[str] = []
    if requested or PROJECTS_ROLES_SCOPE in scopes:
        audience = audience_projects(scopes)
    if (project_role_assertion or audience or requested) and project_id and project_id not in audience:
        audience.append(project_id)
    if not ((project_id and requested) or audience):
        return {}
    projects: dict[str, dict[str, dict[str, str]]] = {}
    for grant in state.user_grants.values():
        if grant.user_id != user_id or grant.project_id not in audience:
            continue
        org = state.orgs.get(grant.org_id)
        for key in grant.role_keys:
            if requested and key not in requested:
                continue
            roles = projects.setdefault(grant.project_id, {})
            roles.setdefault(key, {})[grant.org_id] = org.primary_domain if org else ""
    claims: dict[str, Any] = {}
    if project_id in projects:
        claims[ROLES_CLAIM] = projects[project_id]
    for pid, roles in projects.items():
        claims[PROJECT_ROLES_CLAIM.format(pid)] = roles
    return claims


def profile_claims(state: State, user: User, scopes: list[str]) -> dict[str, Any]:
    """The ``profile`` and ``email`` scopes' claims (empty values left out, as Zitadel does)."""
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims.update({
            "name": user.display_name,
            "given_name": user.given_name,
            "family_name": user.family_name,
            "preferred_username": login_name(user, state),
            "updated_at": int(user.changed),
        })  # fmt: skip
    if "email" in scopes and user.email:
        claims.update({"email": user.email, "email_verified": user.email_verified})
    return {k: v for k, v in claims.items() if v != ""}
