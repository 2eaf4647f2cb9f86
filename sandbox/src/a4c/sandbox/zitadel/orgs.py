"""Organizations: AddOrganization with its admins, search, read by id (v1), deactivation,
activation and deletion.

Rules kept from Zitadel: names are unique in the instance regardless of case (checked before the
id); a caller-chosen organization id is allowed and a duplicate answers 409 — or, with the
zitadel/zitadel#10330 quirk switched on, "succeeds" and creates nothing; org, domain, admins and
memberships are written atomically; deleting removes the org's users, memberships and grants
and frees the name; the instance's default organization cannot be deleted; deactivating an
inactive org, or activating an active one, is 400 FailedPrecondition (the state does not change).
"""

from __future__ import annotations

from typing import Any

from a4c.sandbox.zitadel.api import Call, Handler, Rest, connect_path
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import Member, Org
from a4c.sandbox.zitadel.store import State, Store, org_domain
from a4c.sandbox.zitadel.users import HumanSpec, create_human, parse_human, remove_user
from a4c.sandbox.zitadel.wire import (
    change_details,
    details,
    list_details,
    number,
    obj,
    text,
    text_matches,
    texts,
    ts,
)

ORG_SERVICE = "zitadel.org.v2.OrganizationService"
# Organization member roles Zitadel defines by default.
ORG_ROLES = (
    "ORG_OWNER",
    "ORG_OWNER_VIEWER",
    "ORG_USER_MANAGER",
    "ORG_USER_PERMISSION_EDITOR",
    "ORG_PROJECT_PERMISSION_EDITOR",
    "ORG_PROJECT_CREATOR",
    "ORG_USER_SELF_MANAGER",
    "ORG_ADMIN_IMPERSONATOR",
    "ORG_END_USER_IMPERSONATOR",
)


def _parse_admins(body: dict[str, Any]) -> list[tuple[str, HumanSpec | None, list[str]]]:
    """[(existing user id, new human, roles)]; roles default to ORG_OWNER."""
    admins = []
    for raw in body.get("admins") or []:
        if not isinstance(raw, dict):
            raise ApiError("invalid_argument", "admin must be an object", "ORG-adm1n")
        roles = texts(raw, "roles") or ["ORG_OWNER"]
        unknown = [r for r in roles if r not in ORG_ROLES]
        if unknown:
            raise ApiError("invalid_argument", f"Unknown organization role {unknown[0]}", "ORG-r0les")
        human = parse_human(obj(raw, "human")) if "human" in raw else None
        user_id = text(raw, "userId")
        if human is None and not user_id:
            raise ApiError("invalid_argument", "admin needs userId or human", "ORG-adm2n")
        admins.append((user_id, human, roles))
    return admins


def add_organization(call: Call) -> dict[str, Any]:
    store = call.store
    name = text(call.body, "name")
    if not name or len(name) > 200:
        raise ApiError("invalid_argument", "Organization name is empty or too long", "ORG-mruNY")
    org_id = text(call.body, "organizationId") or text(call.body, "orgId")
    admins = _parse_admins(call.body)
    with store.write() as state:
        if any(o.name.casefold() == name.casefold() for o in state.orgs.values()):
            raise ApiError("already_exists", "Organisation name already taken", "ORG-lapo2m")
        if org_id in state.orgs:
            if store.behaviour.duplicate_org_id_quirk:
                return _quirk_answer(store, org_id, admins)
            raise ApiError("already_exists", "Organisation already exists", "ORG-0yuMv")
        now, sequence = store.now(), store.next_sequence()
        org = Org(
            org_id or store.new_id(), name, org_domain(name, store.config.instance_domain), now, now, sequence
        )
        # One atomic write in Zitadel: a failing admin leaves no org, user, membership or mail behind.
        users, members, emails = dict(state.users), list(state.members), list(state.emails)
        state.orgs[org.id] = org
        try:
            created = _add_admins(store, state, org, admins)
        except ApiError:
            del state.orgs[org.id]
            state.users, state.members, state.emails = users, members, emails
            raise
    return {
        "details": change_details(org.sequence, org.created, org.id),
        "organizationId": org.id,
        "createdAdmins": created,
    }


def _add_admins(
    store: Store, state: State, org: Org, admins: list[tuple[str, HumanSpec | None, list[str]]]
) -> list[dict[str, Any]]:
    created = []
    for user_id, human, roles in admins:
        if human is not None:
            user, code = create_human(store, state, org.id, human)
            created.append({"userId": user.id, "emailCode": code})
            user_id = user.id
        elif user_id not in state.users:
            raise ApiError("not_found", "User could not be found", "ORG-UFvfc")
        state.members.append(Member(org.id, user_id, roles))
    return created


def _quirk_answer(
    store: Store, org_id: str, admins: list[tuple[str, HumanSpec | None, list[str]]]
) -> dict[str, Any]:
    """zitadel/zitadel#10330: the event is pushed, fails in the projection, and the caller sees success."""
    store.quirk_hits += 1
    admin_ids = [{"userId": (human.user_id if human else uid) or store.new_id()} for uid, human, _ in admins]
    sequence = store.next_sequence()
    return {
        "details": change_details(sequence, store.now(), org_id),
        "organizationId": org_id,
        "createdAdmins": admin_ids,
    }


def org_view(org: Org, v1: bool = False) -> dict[str, Any]:
    """zitadel.org.v2.Organization, or the v1 Org when ``v1``."""
    prefix = "ORG_STATE_" if v1 else "ORGANIZATION_STATE_"
    return {
        "id": org.id,
        "details": details(org.sequence, org.created, org.changed, org.id),
        "state": prefix + org.state,
        "name": org.name,
        "primaryDomain": org.primary_domain,
    }


def list_organizations(call: Call) -> dict[str, Any]:
    queries = [q for q in call.body.get("queries") or [] if isinstance(q, dict)]
    query = obj(call.body, "query")
    offset, limit = number(query, "offset", 0), number(query, "limit", 100) or 100
    by_name = text(call.body, "sortingColumn") == "ORGANIZATION_FIELD_NAME_NAME"
    with call.store.read() as state:
        orgs = call.store.searchable(list(state.orgs.values()), Org)
        default_org = call.store.config.platform_org_id
        matching = [o for o in orgs if all(_org_matches(o, q, default_org) for q in queries)]
        matching.sort(
            key=lambda o: o.name.casefold() if by_name else o.created, reverse=query.get("asc") is False
        )
        return {
            "details": list_details(len(matching), state.sequence, call.store.now()),
            "sortingColumn": text(call.body, "sortingColumn"),
            "result": [org_view(o) for o in matching[offset : offset + limit]],
        }


def _org_matches(org: Org, query: dict[str, Any], default_org: str) -> bool:
    if "idQuery" in query:
        return org.id == text(obj(query, "idQuery"), "id")
    if "nameQuery" in query:
        q = obj(query, "nameQuery")
        return text_matches(org.name, text(q, "name"), text(q, "method"))
    if "domainQuery" in query:
        q = obj(query, "domainQuery")
        return text_matches(org.primary_domain, text(q, "domain"), text(q, "method"))
    if "stateQuery" in query:
        return "ORGANIZATION_STATE_" + org.state == text(obj(query, "stateQuery"), "state")
    if "defaultQuery" in query:
        return org.id == default_org
    unknown = ", ".join(sorted(query)) or "empty query"
    raise ApiError(
        "unimplemented", f"organization query {unknown} is not emulated by the sandbox", "SANDBOX-oq501"
    )


def delete_organization(call: Call) -> dict[str, Any]:
    store = call.store
    org_id = text(call.body, "organizationId") or text(call.body, "id")
    with store.write() as state:
        org = state.orgs.get(org_id)
        if org is None:
            raise ApiError("not_found", "Organisation not found", "COMMAND-ZLB2T")
        if org_id == store.config.platform_org_id:
            raise ApiError("failed_precondition", "Default organisation must not be deleted", "COMMAND-ho3Ne")
        del state.orgs[org_id]
        for user in [u for u in state.users.values() if u.org_id == org_id]:
            remove_user(store, state, user)
        state.members = [m for m in state.members if m.org_id != org_id]
        state.org_metadata = [m for m in state.org_metadata if m.org_id != org_id]
        state.user_grants = {k: g for k, g in state.user_grants.items() if g.org_id != org_id}
        state.project_grants = {k: g for k, g in state.project_grants.items() if g.granted_org_id != org_id}
        store.removed(org)
        store.next_sequence()
    return {"deletionDate": ts(store.now())}


def _set_state(call: Call, state_name: str) -> dict[str, Any]:
    """v2 DeactivateOrganization / ActivateOrganization (POST /v2/organizations/{id}/deactivate|activate)."""
    store = call.store
    org_id = text(call.body, "organizationId") or text(call.body, "id")
    with store.write() as state:
        org = state.orgs.get(org_id)
        if org is None:
            raise ApiError("not_found", "Organisation not found", "COMMAND-oL9nT")
        if org.state == state_name:
            if state_name == "INACTIVE":
                raise ApiError("failed_precondition", "Organisation is already deactivated", "COMMAND-Dbs2g")
            raise ApiError("failed_precondition", "Organisation is already active", "COMMAND-bfnrh")
        if org_id == store.config.platform_org_id:
            raise ApiError(
                "failed_precondition", "Default organisation must not be deactivated", "COMMAND-ho3Ne"
            )
        org.state, org.changed, org.sequence = state_name, store.now(), store.next_sequence()
    return {"changeDate": ts(org.changed)}


def deactivate_organization(call: Call) -> dict[str, Any]:
    return _set_state(call, "INACTIVE")


def activate_organization(call: Call) -> dict[str, Any]:
    return _set_state(call, "ACTIVE")


def get_org_by_id(call: Call) -> dict[str, Any]:
    """v1 admin GetOrgByID (GET /admin/v1/orgs/{id}): a fresh read by id, 404 when unknown."""
    with call.store.read() as state:
        org = state.orgs.get(text(call.body, "id"))
        if org is None:
            raise ApiError("not_found", "Organisation not found", "QUERY-iTTGJ")
        return {"org": org_view(org, v1=True)}


def get_my_org(call: Call) -> dict[str, Any]:
    """v1 management GetMyOrganization: the org of the call's context (x-zitadel-orgid)."""
    with call.store.read() as state:
        return {"org": org_view(state.orgs[call.org_id], v1=True)}


REST = [
    Rest("POST", "/v2/organizations", add_organization, status=201),
    Rest("POST", "/v2/organizations/_search", list_organizations),
    Rest("DELETE", "/v2/organizations/{organizationId}", delete_organization),
    Rest("POST", "/v2/organizations/{organizationId}/deactivate", deactivate_organization),
    Rest("POST", "/v2/organizations/{organizationId}/activate", activate_organization),
    Rest("GET", "/admin/v1/orgs/{id}", get_org_by_id),
    Rest("GET", "/management/v1/orgs/me", get_my_org),
]
CONNECT: dict[str, Handler] = {
    connect_path(ORG_SERVICE, "AddOrganization"): add_organization,
    connect_path(ORG_SERVICE, "ListOrganizations"): list_organizations,
    connect_path(ORG_SERVICE, "DeleteOrganization"): delete_organization,
    connect_path(ORG_SERVICE, "DeactivateOrganization"): deactivate_organization,
    connect_path(ORG_SERVICE, "ActivateOrganization"): activate_organization,
}
