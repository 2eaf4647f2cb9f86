"""Actions with a confirmation step: a GET shows what will happen, the POST (CSRF, operate) does it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from a4c.console import access
from a4c.console.provisioning import NotFound
from a4c.console.web import console_of, redirect, render

REASON_MAX = 200


@dataclass(frozen=True)
class Action:
    name: str  # the URL segment
    title: str
    explanation: str
    button: str
    asks_reason: bool = False


ACTIONS = {
    "cancel": Action(
        "cancel",
        "Cancel the bootstrap",
        "The workflow stops and undoes what it did: the DNS record and the identity organization are "
        "deleted. The slug stays with this organization.",
        "Yes, cancel the bootstrap",
        asks_reason=True,
    ),
    "offboard": Action(
        "offboard",
        "Offboard the organization",
        "The tenant's DNS record is removed and its identity organization deactivated now; the identity "
        "organization is deleted after the grace period, until which the offboarding can be cancelled. "
        "The slug is free again after its quarantine.",
        "Yes, offboard it",
        asks_reason=True,
    ),
    "cancel-offboarding": Action(
        "cancel-offboarding",
        "Cancel the offboarding",
        "The tenant is restored while the grace period runs: its DNS record comes back and its identity "
        "organization is reactivated.",
        "Yes, cancel the offboarding",
        asks_reason=True,
    ),
    "retry-subdomain": Action(
        "retry-subdomain",
        "Retry the subdomain",
        "The subdomain workflow starts again: it creates the DNS record if it is missing and verifies "
        "it until it resolves or the verification deadline passes.",
        "Yes, retry the subdomain",
    ),
}


def _organization_id(request: Request) -> str:
    organization_id = str(request.path_params["organization_id"])
    try:
        uuid.UUID(organization_id)
    except ValueError:
        raise NotFound("no such organization") from None
    return organization_id


def _action(request: Request) -> Action:
    action = ACTIONS.get(request.path_params["action"])
    if action is None:
        raise NotFound("no such action")
    return action


async def confirm(request: Request) -> Response:
    session = access.reader(request)
    if not session.role.may_act:
        raise access.Refused("your role is read-only: ask for the operate role to do this")
    organization_id = _organization_id(request)
    action = _action(request)
    organization = await console_of(request).provisioning.organization(session.login or "", organization_id)
    return render(request, "confirm.html", {"action": action, "organization": organization, "error": None})


async def perform(request: Request) -> Response:
    session, form = await access.actor(request)
    organization_id = _organization_id(request)
    action = _action(request)
    provisioning = console_of(request).provisioning
    operator = session.login or ""
    reason = form.get("reason", "").strip()[:REASON_MAX]
    if action.name == "cancel":
        # CancelBootstrap records no actor (only its reason): the operator goes into the reason.
        reason = reason or "cancelled from the console"
        await provisioning.cancel(operator, organization_id, f"{reason} (by {operator})")
    elif action.name == "offboard":
        await provisioning.offboard(operator, organization_id, reason or "offboarded from the console")
    elif action.name == "cancel-offboarding":
        await provisioning.cancel_offboarding(operator, organization_id, reason)
    else:
        await provisioning.retry_subdomain(operator, organization_id)
    return redirect(request, f"/organizations/{organization_id}")
