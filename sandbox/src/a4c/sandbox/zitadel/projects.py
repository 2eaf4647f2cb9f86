"""Projects and project grants (v1 management and v2 Connect).

Rules kept from Zitadel: the project and its role keys are configured; a tenant org that does not
own the project needs a project grant, made in the owner's context, before its users can be granted
roles; only the project's role keys can be granted (others are 400); a second grant of the same
project to the same org is 409; searches go through the lagging projection.
"""

from __future__ import annotations

from typing import Any

from a4c.sandbox.zitadel.api import Call, Handler, Rest, connect_path
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import Project, ProjectGrant
from a4c.sandbox.zitadel.store import State, Store
from a4c.sandbox.zitadel.wire import change_details, details, list_details, obj, text, texts, ts

PROJECT_SERVICE = "zitadel.project.v2.ProjectService"


def find_project(state: State, project_id: str) -> Project:
    project = state.projects.get(project_id)
    if project is None:
        raise ApiError("not_found", "Project not found", "PROJECT-3M9sd")
    return project


def check_roles(keys: list[str], allowed: list[str]) -> None:
    unknown = [k for k in keys if k not in allowed]
    if unknown:
        raise ApiError("failed_precondition", f"Project role {unknown[0]} not found", "COMMAND-mm9F4")


def find_project_grant(
    state: State, project_id: str, *, grant_id: str = "", granted: str = ""
) -> ProjectGrant:
    """The grant of ``project_id`` with this id, or else the one to the ``granted`` org."""
    for grant in state.project_grants.values():
        if grant.project_id != project_id:
            continue
        if (grant_id and grant.id == grant_id) or (not grant_id and grant.granted_org_id == granted):
            return grant
    raise ApiError("not_found", "Project grant not found", "PROJECT-D8JxR")


def get_project(call: Call) -> dict[str, Any]:
    with call.store.read() as state:
        p = find_project(state, text(call.body, "projectId"))
        return {
            "project": {
                "projectId": p.id,
                "organizationId": p.org_id,
                "name": p.name,
                "state": "PROJECT_STATE_ACTIVE",
                "creationDate": ts(p.created),
                "changeDate": ts(p.changed),
            }
        }


def _add_grant(store: Store, owner_org: str, project_id: str, granted: str, keys: list[str]) -> ProjectGrant:
    with store.write() as state:
        project = find_project(state, project_id)
        if project.org_id != owner_org:  # another org's project is not visible in this context
            raise ApiError("not_found", "Project not found", "PROJECT-3M9sd")
        if granted not in state.orgs:
            raise ApiError("not_found", "Organisation not found", "PROJECT-3M9sf")
        if granted == owner_org:
            raise ApiError("invalid_argument", "A project cannot be granted to its owner", "PROJECT-3M9sg")
        check_roles(keys, project.role_keys)
        if any(
            g.project_id == project_id and g.granted_org_id == granted for g in state.project_grants.values()
        ):
            raise ApiError("already_exists", "Project grant already exists", "PROJECT-3b8fs")
        now = store.now()
        grant = ProjectGrant(store.new_id(), project_id, granted, keys, now, now, store.next_sequence())
        state.project_grants[grant.id] = grant
        return grant


def _update_grant(store: Store, state: State, owner_org: str, grant: ProjectGrant, keys: list[str]) -> None:
    project = find_project(state, grant.project_id)
    if project.org_id != owner_org:
        raise ApiError("not_found", "Project not found", "PROJECT-3M9sd")
    check_roles(keys, project.role_keys)
    grant.role_keys, grant.changed, grant.sequence = keys, store.now(), store.next_sequence()


def v1_add_project_grant(call: Call) -> dict[str, Any]:
    """POST /management/v1/projects/{projectId}/grants, in the project owner's context."""
    body = call.body
    project_id, granted = text(body, "projectId"), text(body, "grantedOrgId")
    grant = _add_grant(call.store, call.org_id, project_id, granted, texts(body, "roleKeys"))
    return {"grantId": grant.id, "details": change_details(grant.sequence, grant.created, call.org_id)}


def v1_update_project_grant(call: Call) -> dict[str, Any]:
    with call.store.write() as state:
        grant = find_project_grant(state, text(call.body, "projectId"), grant_id=text(call.body, "grantId"))
        _update_grant(call.store, state, call.org_id, grant, texts(call.body, "roleKeys"))
    return {"details": change_details(grant.sequence, grant.changed, call.org_id)}


def _granted_project_v1(state: State, g: ProjectGrant) -> dict[str, Any]:
    project, granted = state.projects.get(g.project_id), state.orgs.get(g.granted_org_id)
    owner = state.orgs.get(project.org_id) if project else None
    return {
        "grantId": g.id,
        "grantedOrgId": g.granted_org_id,
        "grantedOrgName": granted.name if granted else "",
        "grantedRoleKeys": g.role_keys,
        "state": "PROJECT_GRANT_STATE_ACTIVE",
        "projectId": g.project_id,
        "projectName": project.name if project else "",
        "projectOwnerId": owner.id if owner else "",
        "projectOwnerName": owner.name if owner else "",
        "details": details(g.sequence, g.created, g.changed, g.granted_org_id),
    }


def v1_list_granted_projects(call: Call) -> dict[str, Any]:
    """POST /management/v1/granted_projects/_search: projects granted to the context org."""
    with call.store.read() as state:
        visible = call.store.searchable(list(state.project_grants.values()), ProjectGrant)
        result = [_granted_project_v1(state, g) for g in visible if g.granted_org_id == call.org_id]
        return {"details": list_details(len(result), state.sequence, call.store.now()), "result": result}


def v2_create_project_grant(call: Call) -> dict[str, Any]:
    body = call.body
    project_id = text(body, "projectId")
    with call.store.read() as state:
        owner = find_project(state, project_id).org_id
    granted = text(body, "grantedOrganizationId")
    grant = _add_grant(call.store, owner, project_id, granted, texts(body, "roleKeys"))
    return {"creationDate": ts(grant.created)}


def v2_update_project_grant(call: Call) -> dict[str, Any]:
    project_id = text(call.body, "projectId")
    with call.store.write() as state:
        grant = find_project_grant(state, project_id, granted=text(call.body, "grantedOrganizationId"))
        owner = find_project(state, project_id).org_id
        _update_grant(call.store, state, owner, grant, texts(call.body, "roleKeys"))
    return {"changeDate": ts(grant.changed)}


def _project_grant_v2(state: State, g: ProjectGrant) -> dict[str, Any]:
    project, org = state.projects.get(g.project_id), state.orgs.get(g.granted_org_id)
    return {
        "organizationId": project.org_id if project else "",
        "creationDate": ts(g.created),
        "changeDate": ts(g.changed),
        "grantedOrganizationId": g.granted_org_id,
        "grantedOrganizationName": org.name if org else "",
        "grantedRoleKeys": g.role_keys,
        "projectId": g.project_id,
        "projectName": project.name if project else "",
        "state": "PROJECT_GRANT_STATE_ACTIVE",
    }


def v2_list_project_grants(call: Call) -> dict[str, Any]:
    filters = [f for f in call.body.get("filters") or [] if isinstance(f, dict)]
    with call.store.read() as state:
        visible = call.store.searchable(list(state.project_grants.values()), ProjectGrant)
        chosen = [g for g in visible if all(_grant_filter(state, g, f) for f in filters)]
        views = [_project_grant_v2(state, g) for g in chosen]
        return {"pagination": {"totalResult": str(len(views)), "appliedLimit": "100"}, "projectGrants": views}


def _grant_filter(state: State, grant: ProjectGrant, f: dict[str, Any]) -> bool:
    if "grantedOrganizationIdFilter" in f:
        return grant.granted_org_id == text(obj(f, "grantedOrganizationIdFilter"), "id")
    if "inProjectIdsFilter" in f:
        return grant.project_id in texts(obj(f, "inProjectIdsFilter"), "projectIds")
    if "organizationIdFilter" in f:
        project = state.projects.get(grant.project_id)
        return project is not None and project.org_id == text(obj(f, "organizationIdFilter"), "id")
    unknown = ", ".join(sorted(f)) or "empty filter"
    raise ApiError("unimplemented", f"project grant filter {unknown} is not emulated", "SANDBOX-pg501")


REST = [
    Rest("POST", "/management/v1/projects/{projectId}/grants", v1_add_project_grant),
    Rest("PUT", "/management/v1/projects/{projectId}/grants/{grantId}", v1_update_project_grant),
    Rest("POST", "/management/v1/granted_projects/_search", v1_list_granted_projects),
]
CONNECT: dict[str, Handler] = {
    connect_path(PROJECT_SERVICE, "GetProject"): get_project,
    connect_path(PROJECT_SERVICE, "CreateProjectGrant"): v2_create_project_grant,
    connect_path(PROJECT_SERVICE, "UpdateProjectGrant"): v2_update_project_grant,
    connect_path(PROJECT_SERVICE, "ListProjectGrants"): v2_list_project_grants,
}
