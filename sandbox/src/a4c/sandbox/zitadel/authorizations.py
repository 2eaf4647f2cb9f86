"""User grants (v1 management, in the org of ``x-zitadel-orgid``) and authorizations (v2 Connect).

Rules kept from Zitadel: a user grant lives in an org; when that org does not own the project, the
roles come from its project grant (given by id, or found by the granted org) and must be among the
grant's role keys; a second grant for the same user, project and project grant is 409; a missing
user is a failed precondition (400), never NotFound (commands read the event store, not a lagging
projection); searches go through the lagging projection.
"""

from __future__ import annotations

from typing import Any

from a4c.sandbox.zitadel.api import Call, Handler, Rest, connect_path
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import UserGrant
from a4c.sandbox.zitadel.projects import check_roles, find_project, find_project_grant
from a4c.sandbox.zitadel.store import State, Store
from a4c.sandbox.zitadel.users import login_name
from a4c.sandbox.zitadel.wire import change_details, details, list_details, obj, text, texts, ts

AUTHORIZATION_SERVICE = "zitadel.authorization.v2.AuthorizationService"


def add_user_grant(
    store: Store, org_id: str, user_id: str, project_id: str, grant_id: str, keys: list[str]
) -> UserGrant:
    with store.write() as state:
        if user_id not in state.users:  # the command's precondition, read from the event store
            raise ApiError("failed_precondition", "User could not be found", "COMMAND-4f8sg")
        project = state.projects.get(project_id)
        if project is None:
            raise ApiError("failed_precondition", "Project not found", "COMMAND-3n77S")
        if project.org_id == org_id and not grant_id:
            check_roles(keys, project.role_keys)
        else:
            try:
                grant = find_project_grant(state, project_id, grant_id=grant_id, granted=org_id)
            except ApiError:
                raise ApiError("failed_precondition", "Project grant not found", "COMMAND-4m9ff") from None
            if grant.granted_org_id != org_id:
                raise ApiError(
                    "failed_precondition", "Project grant not for this organization", "COMMAND-Fhfd2"
                )
            check_roles(keys, grant.role_keys)
            grant_id = grant.id
        for g in state.user_grants.values():
            if (g.user_id, g.project_id, g.project_grant_id) == (user_id, project_id, grant_id):
                raise ApiError("already_exists", "User grant already exists", "COMMAND-2b8fs")
        now, sequence = store.now(), store.next_sequence()
        user_grant = UserGrant(
            store.new_id(), user_id, org_id, project_id, grant_id, keys, now, now, sequence
        )
        state.user_grants[user_grant.id] = user_grant
        return user_grant


def v1_add_user_grant(call: Call) -> dict[str, Any]:
    body = call.body
    grant = add_user_grant(
        call.store,
        call.org_id,
        text(body, "userId"),
        text(body, "projectId"),
        text(body, "projectGrantId"),
        texts(body, "roleKeys"),
    )
    return {"userGrantId": grant.id, "details": change_details(grant.sequence, grant.created, call.org_id)}


def v1_update_user_grant(call: Call) -> dict[str, Any]:
    store = call.store
    with store.write() as state:
        grant = state.user_grants.get(text(call.body, "grantId"))
        if grant is None or grant.org_id != call.org_id or grant.user_id != text(call.body, "userId"):
            raise ApiError("not_found", "User grant not found", "COMMAND-5M0sd")
        keys = texts(call.body, "roleKeys")
        project_grant = state.project_grants.get(grant.project_grant_id)
        allowed = (
            project_grant.role_keys if project_grant else find_project(state, grant.project_id).role_keys
        )
        check_roles(keys, allowed)
        grant.role_keys, grant.changed, grant.sequence = keys, store.now(), store.next_sequence()
    return {"details": change_details(grant.sequence, grant.changed, call.org_id)}


def _user_grant_v1(state: State, g: UserGrant) -> dict[str, Any]:
    user = state.users.get(g.user_id)
    return {
        "id": g.id,
        "details": details(g.sequence, g.created, g.changed, g.org_id),
        "roleKeys": g.role_keys,
        "state": "USER_GRANT_STATE_ACTIVE",
        "userId": g.user_id,
        "projectId": g.project_id,
        "projectGrantId": g.project_grant_id,
        "orgId": g.org_id,
        "userName": user.username if user else "",
        "email": user.email if user else "",
        "displayName": user.display_name if user else "",
    }


_V1_QUERIES = {
    "userIdQuery": "userId",
    "projectIdQuery": "projectId",
    "projectGrantIdQuery": "projectGrantId",
}


def v1_search_user_grants(call: Call) -> dict[str, Any]:
    """POST /management/v1/users/grants/_search: grants in the context org, all queries ANDed."""
    queries = [q for q in call.body.get("queries") or [] if isinstance(q, dict)]
    with call.store.read() as state:
        visible = call.store.searchable(list(state.user_grants.values()), UserGrant)
        views = [_user_grant_v1(state, g) for g in visible if g.org_id == call.org_id]
        for query in queries:
            known = [k for k in query if k in _V1_QUERIES]
            if len(known) != 1:
                unknown = ", ".join(sorted(query)) or "empty query"
                raise ApiError(
                    "unimplemented", f"user grant query {unknown} is not emulated", "SANDBOX-ug501"
                )
            field = _V1_QUERIES[known[0]]
            views = [v for v in views if v[field] == text(obj(query, known[0]), field)]
        return {"details": list_details(len(views), state.sequence, call.store.now()), "result": views}


def v2_create_authorization(call: Call) -> dict[str, Any]:
    body = call.body
    user_id = text(body, "userId")
    with call.store.read() as state:
        user = state.users.get(user_id)
        if user is None:
            raise ApiError("failed_precondition", "User could not be found", "COMMAND-4f8sg")
        org_id = text(body, "organizationId") or user.org_id
    grant = add_user_grant(call.store, org_id, user_id, text(body, "projectId"), "", texts(body, "roleKeys"))
    return {"id": grant.id, "creationDate": ts(grant.created)}


def _authorization_v2(state: State, g: UserGrant) -> dict[str, Any]:
    project, org, user = (
        state.projects.get(g.project_id),
        state.orgs.get(g.org_id),
        state.users.get(g.user_id),
    )
    return {
        "id": g.id,
        "creationDate": ts(g.created),
        "changeDate": ts(g.changed),
        "state": "STATE_ACTIVE",
        "project": {
            "id": g.project_id,
            "name": project.name if project else "",
            "organizationId": project.org_id if project else "",
        },
        "organization": {"id": g.org_id, "name": org.name if org else ""},
        "user": {
            "id": g.user_id,
            "preferredLoginName": login_name(user, state) if user else "",
            "displayName": user.display_name if user else "",
            "organizationId": user.org_id if user else "",
        },
        "roles": [{"key": k, "displayName": k} for k in g.role_keys],
    }


def v2_list_authorizations(call: Call) -> dict[str, Any]:
    filters = [f for f in call.body.get("filters") or [] if isinstance(f, dict)]
    with call.store.read() as state:
        visible = call.store.searchable(list(state.user_grants.values()), UserGrant)
        chosen = [g for g in visible if all(_authorization_filter(g, f) for f in filters)]
        return {
            "pagination": {"totalResult": str(len(chosen)), "appliedLimit": "100"},
            "authorizations": [_authorization_v2(state, g) for g in chosen],
        }


def _authorization_filter(grant: UserGrant, f: dict[str, Any]) -> bool:
    if "inUserIds" in f:
        return grant.user_id in texts(obj(f, "inUserIds"), "ids")
    if "authorizationIds" in f:
        return grant.id in texts(obj(f, "authorizationIds"), "ids")
    if "projectId" in f:
        return grant.project_id == text(obj(f, "projectId"), "id")
    if "organizationId" in f:
        return grant.org_id == text(obj(f, "organizationId"), "id")
    unknown = ", ".join(sorted(f)) or "empty filter"
    raise ApiError("unimplemented", f"authorization filter {unknown} is not emulated", "SANDBOX-az501")


REST = [
    Rest("POST", "/management/v1/users/{userId}/grants", v1_add_user_grant),
    Rest("PUT", "/management/v1/users/{userId}/grants/{grantId}", v1_update_user_grant),
    Rest("POST", "/management/v1/users/grants/_search", v1_search_user_grants),
]
CONNECT: dict[str, Handler] = {
    connect_path(AUTHORIZATION_SERVICE, "CreateAuthorization"): v2_create_authorization,
    connect_path(AUTHORIZATION_SERVICE, "ListAuthorizations"): v2_list_authorizations,
}
