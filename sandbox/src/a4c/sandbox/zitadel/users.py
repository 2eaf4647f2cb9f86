"""Users: human creation (shared with AddOrganization), reads, searches and deletion.

Rules kept from Zitadel: usernames are unique in the instance regardless of case (the email is used
when none is given), emails are not unique, custom user ids are allowed, a user created without a
verified email is sent a verification mail (not an invitation), and GET by id is fresh while
searches go through the lagging projection.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from a4c.sandbox.zitadel.api import Call, Handler, Rest, connect_path
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import Email, User
from a4c.sandbox.zitadel.passwords import check_complexity, hash_password, raw_password
from a4c.sandbox.zitadel.store import State, Store
from a4c.sandbox.zitadel.wire import (
    change_details,
    details,
    flag,
    list_details,
    number,
    obj,
    text,
    text_matches,
    texts,
    ts,
)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
USER_SERVICE = "zitadel.user.v2.UserService"


@dataclass(frozen=True)
class HumanSpec:
    user_id: str
    username: str
    given_name: str
    family_name: str
    display_name: str
    email: str
    email_verified: bool
    return_code: bool
    has_password: bool
    password: str = field(default="", repr=False)


def parse_human(body: dict[str, Any]) -> HumanSpec:
    """Validate an AddHumanUser-shaped object; raises InvalidArgument naming what is wrong."""
    profile, email = obj(body, "profile"), obj(body, "email")
    address = text(email, "email")
    if not _EMAIL.match(address):
        raise ApiError("invalid_argument", "Email is invalid", "EMAIL-599BI")
    given, family = text(profile, "givenName"), text(profile, "familyName")
    if not given or not family:
        raise ApiError(
            "invalid_argument", "Profile is invalid: given and family name are required", "USER-4GB4w"
        )
    password = obj(body, "password")
    plain = raw_password(password)
    if plain:
        check_complexity(plain)
    return HumanSpec(
        user_id=text(body, "userId"),
        username=text(body, "username") or address,
        given_name=given,
        family_name=family,
        display_name=text(profile, "displayName") or f"{given} {family}",
        email=address,
        email_verified=flag(email, "isVerified"),
        return_code="returnCode" in email,
        has_password=bool(plain or obj(body, "hashedPassword")),
        password=plain,
    )


def create_human(store: Store, state: State, org_id: str, spec: HumanSpec) -> tuple[User, str]:
    """Add the user to ``state`` (caller holds the write lock); returns it and any returned email code."""
    if spec.user_id and spec.user_id in state.users:
        # Zitadel's AddUserHuman: an existing user id is a failed precondition (400), not a 409.
        raise ApiError("failed_precondition", "User already exists", "COMMAND-7yiox1isql")
    taken = spec.username.casefold()
    if any(u.username.casefold() == taken for u in state.users.values()):
        raise ApiError("already_exists", "User already exists", "V3-DKcYh")
    now, sequence = store.now(), store.next_sequence()
    user = User(
        id=spec.user_id or store.new_id(),
        org_id=org_id,
        username=spec.username,
        created=now,
        changed=now,
        sequence=sequence,
        given_name=spec.given_name,
        family_name=spec.family_name,
        display_name=spec.display_name,
        email=spec.email,
        email_verified=spec.email_verified,
        initialized=spec.has_password,
        password_hash=hash_password(spec.password) if spec.password else "",
    )
    state.users[user.id] = user
    code = ""
    if not spec.email_verified:
        code = secrets.token_hex(3).upper()
        if not spec.return_code:
            state.emails.append(_verification_mail(store, user, code))
    return user, code if spec.return_code else ""


def _verification_mail(store: Store, user: User, code: str) -> Email:
    link = f"https://{store.config.instance_domain}/ui/login/mail/verification?userID={user.id}&code={code}"
    return Email(
        id=store.new_id(),
        kind="email_verification",
        to=user.email,
        user_id=user.id,
        org_id=user.org_id,
        subject="Verify email",
        code=code,
        link=link,
        application_name="ZITADEL",
        sent=store.now(),
    )


def login_name(user: User, state: State) -> str:
    org = state.orgs.get(user.org_id)
    return f"{user.username}@{org.primary_domain}" if org else user.username


def user_view(user: User, state: State) -> dict[str, Any]:
    """zitadel.user.v2.User."""
    view: dict[str, Any] = {
        "userId": user.id,
        "details": details(user.sequence, user.created, user.changed, user.org_id),
        "state": "USER_STATE_ACTIVE",
        "username": user.username,
        "loginNames": [login_name(user, state)],
        "preferredLoginName": login_name(user, state),
    }
    if user.machine:
        view["machine"] = {"name": user.display_name}
    else:
        view["human"] = {
            "profile": {
                "givenName": user.given_name,
                "familyName": user.family_name,
                "displayName": user.display_name,
            },
            "email": {"email": user.email, "isVerified": user.email_verified},
        }
    return view


def find_user(state: State, user_id: str) -> User:
    user = state.users.get(user_id)
    if user is None:
        raise ApiError("not_found", "User could not be found", "QUERY-Dfbg2")
    return user


def _target_org(call: Call, state: State) -> str:
    organization = obj(call.body, "organization")
    org_id = text(call.body, "organizationId") or text(organization, "orgId")
    domain = text(organization, "orgDomain")
    if domain:
        match = [o.id for o in state.orgs.values() if o.primary_domain == domain.lower()]
        org_id = match[0] if match else ""
        if not org_id:
            raise ApiError("not_found", "Organisation not found", "QUERY-n0wng")
    org_id = org_id or call.caller.org_id
    if org_id not in state.orgs:
        # Commands check the org in the event store: a missing one is a failed precondition.
        raise ApiError("failed_precondition", "Organisation not found", "COMMAND-QXPGs")
    return org_id


def add_human_user(call: Call) -> dict[str, Any]:
    spec = parse_human(call.body)
    with call.store.write() as state:
        user, code = create_human(call.store, state, _target_org(call, state), spec)
    change = change_details(user.sequence, user.changed, user.org_id)
    return {"userId": user.id, "details": change, "emailCode": code}


def create_user(call: Call) -> dict[str, Any]:
    """CreateUser (POST /v2/users/new): the newer shape, {organizationId, userId?, username?, human}."""
    human = {
        **obj(call.body, "human"),
        "userId": text(call.body, "userId"),
        "username": text(call.body, "username"),
    }
    spec = parse_human(human)
    with call.store.write() as state:
        user, code = create_human(call.store, state, _target_org(call, state), spec)
    return {"id": user.id, "creationDate": ts(user.created), "emailCode": code}


def get_user(call: Call) -> dict[str, Any]:
    with call.store.read() as state:
        user = find_user(state, text(call.body, "userId"))
        view = user_view(user, state)
        return {"details": view["details"], "user": view}


def list_users(call: Call) -> dict[str, Any]:
    queries = call.body.get("queries") or []
    query = obj(call.body, "query")
    offset, limit = number(query, "offset", 0), number(query, "limit", 100) or 100
    with call.store.read() as state:
        users = call.store.searchable(list(state.users.values()), User)
        matching = [u for u in users if all(_user_matches(u, q) for q in queries if isinstance(q, dict))]
        matching.sort(key=lambda u: u.created, reverse=query.get("asc") is False)
        page = matching[offset : offset + limit]
        return {
            "details": list_details(len(matching), state.sequence, call.store.now()),
            "result": [user_view(u, state) for u in page],
        }


def _user_matches(user: User, query: dict[str, Any]) -> bool:
    if "organizationIdQuery" in query:
        return user.org_id == text(obj(query, "organizationIdQuery"), "organizationId")
    if "inUserIdsQuery" in query:
        return user.id in texts(obj(query, "inUserIdsQuery"), "userIds")
    if "userNameQuery" in query:
        q = obj(query, "userNameQuery")
        return text_matches(user.username, text(q, "userName"), text(q, "method"))
    if "emailQuery" in query:
        q = obj(query, "emailQuery")
        return text_matches(user.email, text(q, "emailAddress"), text(q, "method"))
    unknown = ", ".join(sorted(query)) or "empty query"
    raise ApiError("unimplemented", f"user query {unknown} is not emulated by the sandbox", "SANDBOX-uq501")


def delete_user(call: Call) -> dict[str, Any]:
    with call.store.write() as state:
        user = find_user(state, text(call.body, "userId"))
        remove_user(call.store, state, user)
        sequence = call.store.next_sequence()
    return {"details": change_details(sequence, call.store.now(), user.org_id)}


def remove_user(store: Store, state: State, user: User) -> None:
    """Delete a user with its memberships and grants (caller holds the write lock)."""
    del state.users[user.id]
    state.members = [m for m in state.members if m.user_id != user.id]
    state.user_grants = {k: g for k, g in state.user_grants.items() if g.user_id != user.id}
    state.user_metadata = [m for m in state.user_metadata if m.user_id != user.id]
    store.removed(user)


REST = [
    Rest("POST", "/v2/users/human", add_human_user, status=201),
    Rest("POST", "/v2/users/new", create_user, status=201),
    Rest("GET", "/v2/users/{userId}", get_user),
    Rest("POST", "/v2/users", list_users),
    Rest("DELETE", "/v2/users/{userId}", delete_user),
]
CONNECT: dict[str, Handler] = {
    connect_path(USER_SERVICE, "AddHumanUser"): add_human_user,
    connect_path(USER_SERVICE, "CreateUser"): create_user,
    connect_path(USER_SERVICE, "GetUserByID"): get_user,
    connect_path(USER_SERVICE, "ListUsers"): list_users,
    connect_path(USER_SERVICE, "DeleteUser"): delete_user,
}
