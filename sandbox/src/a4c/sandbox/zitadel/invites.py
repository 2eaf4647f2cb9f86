"""Invite codes: "sending" one stores the email where tests and operators can read it.

Rules kept from Zitadel: ``sendCode`` mails the link built from the URL template (Go template fields
``{{.UserID}}``, ``{{.Code}}``, ``{{.OrgID}}``, ``{{.LoginName}}``...) and the application name,
``returnCode`` hands the code back and sends nothing; a new code replaces the previous one; users
that already have a login method cannot be invited (400 FailedPrecondition); a code that was
returned cannot be re-sent; a missing user is a FailedPrecondition too (commands read the event
store, so a user just created is always found). Every code added mails again: nothing in the API
tells a caller whether a code exists already, which is why a lost answer can mean a second email.
The emails are served at ``GET /_sandbox/emails`` (``?to=`` filters) and cleared by
``DELETE /_sandbox/emails``.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import asdict
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import BaseRoute, Route

from a4c.sandbox.zitadel.api import Call, Handler, Rest, connect_path
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import Email, Invite, User
from a4c.sandbox.zitadel.store import State, Store
from a4c.sandbox.zitadel.users import USER_SERVICE, login_name
from a4c.sandbox.zitadel.wire import change_details, obj, text, ts

_FIELD = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
DEFAULT_APPLICATION = "ZITADEL"


# Zitadel's error ids per command: (user missing, user already has a login method).
_CREATE = ("COMMAND-Wgvn4", "COMMAND-EF34g")
_RESEND = ("COMMAND-H3b2a", "COMMAND-Gg42s")
_VERIFY = ("COMMAND-F5g2h", "")


def _ready_user(call: Call, state: State, ids: tuple[str, str]) -> User:
    """The user to invite. Commands read the event store, never a lagging projection: a user that
    does not exist (yet or any more) is a failed precondition (400), not NotFound."""
    user = state.users.get(text(call.body, "userId"))
    if user is None:
        raise ApiError("failed_precondition", "User could not be found", ids[0])
    if ids[1] and (user.machine or user.initialized):
        raise ApiError("failed_precondition", "User is already initialized", ids[1])
    return user


def render_link(template: str, values: dict[str, str]) -> str:
    """Fill a Go-template URL; an unknown field fails like Go's template execution does."""

    def field(match: re.Match[str]) -> str:
        if match.group(1) not in values:
            raise ApiError(
                "invalid_argument", f"URL template has unknown field {match.group(1)}", "DOMAIN-oGh5e"
            )
        return values[match.group(1)]

    return _FIELD.sub(field, template)


def create_invite_code(call: Call) -> dict[str, Any]:
    store = call.store
    send = obj(call.body, "sendCode") if "sendCode" in call.body else None
    returned = "returnCode" in call.body
    with store.write() as state:
        user = _ready_user(call, state, _CREATE)
        code = _new_code()
        if not returned:
            _send(store, state, user, code, send or {}, call.base_url)
        user.invite = Invite(code, store.now(), returned=returned)
        user.sequence, user.changed = store.next_sequence(), store.now()
    answer: dict[str, Any] = {"details": change_details(user.sequence, user.changed, user.org_id)}
    if returned:
        answer["inviteCode"] = code
    return answer


def resend_invite_code(call: Call) -> dict[str, Any]:
    store = call.store
    with store.write() as state:
        user = _ready_user(call, state, _RESEND)
        if user.invite is None or user.invite.returned:  # Zitadel: one error for both
            raise ApiError("failed_precondition", "Code not found", "COMMAND-Wr3gq")
        code = _new_code()
        _send(store, state, user, code, {}, call.base_url)
        user.invite = Invite(code, store.now())
        user.sequence, user.changed = store.next_sequence(), store.now()
    return {"details": change_details(user.sequence, user.changed, user.org_id)}


def verify_invite_code(call: Call) -> dict[str, Any]:
    store = call.store
    with store.write() as state:
        user = _ready_user(call, state, _VERIFY)
        given = text(call.body, "verificationCode")
        if user.invite is None or not secrets.compare_digest(user.invite.code, given):
            raise ApiError("invalid_argument", "Code is invalid", "COMMAND-Wgn4q")
        user.invite, user.email_verified = None, True
        user.sequence, user.changed = store.next_sequence(), store.now()
    return {"details": change_details(user.sequence, user.changed, user.org_id)}


def _send(store: Store, state: State, user: User, code: str, send: dict[str, Any], base_url: str) -> None:
    org = state.orgs.get(user.org_id)
    values = {
        "UserID": user.id,
        "Code": code,
        "OrgID": user.org_id,
        "LoginName": login_name(user, state),
        "DisplayName": user.display_name,
        "Domain": org.primary_domain if org else "",
        "AuthRequestID": "",
    }
    default = f"{base_url}/ui/login/user/invite?userID={{{{.UserID}}}}&loginname={{{{.LoginName}}}}&code={{{{.Code}}}}&orgID={{{{.OrgID}}}}"  # noqa: E501
    link = render_link(text(send, "urlTemplate") or default, values)
    application = text(send, "applicationName") or DEFAULT_APPLICATION
    email = Email(
        id=store.new_id(),
        kind="invite_code",
        to=user.email,
        user_id=user.id,
        org_id=user.org_id,
        subject=f"Invitation to {application}",
        code=code,
        link=link,
        application_name=application,
        sent=store.now(),
    )
    state.emails.append(email)


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(6))


def email_view(email: Email) -> dict[str, Any]:
    view = asdict(email)
    view["sent"] = ts(email.sent)
    return {_camel(k): v for k, v in view.items()}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _emails_endpoint(store: Store) -> Any:
    async def emails(request: Request) -> JSONResponse:
        if request.method == "DELETE":
            with store.write() as state:
                count = len(state.emails)
                state.emails.clear()
            return JSONResponse({"deleted": count})
        recipient = request.query_params.get("to", "").casefold()
        with store.read() as state:
            chosen = [e for e in state.emails if not recipient or e.to.casefold() == recipient]
            return JSONResponse({"emails": [email_view(e) for e in chosen]})

    return emails


def control_routes(store: Store) -> list[BaseRoute]:
    return [Route("/_sandbox/emails", _emails_endpoint(store), methods=["GET", "DELETE"])]


REST = [
    Rest("POST", "/v2/users/{userId}/invite_code", create_invite_code),
    Rest("POST", "/v2/users/{userId}/invite_code/resend", resend_invite_code),
    Rest("POST", "/v2/users/{userId}/invite_code/verify", verify_invite_code),
]
CONNECT: dict[str, Handler] = {
    connect_path(USER_SERVICE, "CreateInviteCode"): create_invite_code,
    connect_path(USER_SERVICE, "ResendInviteCode"): resend_invite_code,
    connect_path(USER_SERVICE, "VerifyInviteCode"): verify_invite_code,
}
