"""The pages: organizations (filters, search, keyset paging), one organization, the new bootstrap form."""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from a4c.console import access, presentation
from a4c.console.provisioning import Conflict, Invalid, NewBootstrap, NotFound, OrganizationFilter
from a4c.console.web import console_of, redirect, render

# The form's fields, and where provisioning's field names land on it.
FORM_FIELDS = ("name", "slug", "admin_email", "admin_given_name", "admin_family_name")
VIOLATION_FIELDS = {
    "name": "name",
    "slug": "slug",
    "admin.email": "admin_email",
    "admin.given_name": "admin_given_name",
    "admin.family_name": "admin_family_name",
}


def _choice(value: str | None, choices: list[tuple[str, str, int]]) -> tuple[str, int]:
    for key, _, number in choices:
        if value == key:
            return key, number
    return "", 0


async def organizations(request: Request) -> Response:
    session = access.reader(request)
    params = request.query_params
    bootstrap_key, bootstrap = _choice(params.get("bootstrap"), presentation.BOOTSTRAP_FILTERS)
    subdomain_key, subdomain = _choice(params.get("subdomain"), presentation.SUBDOMAIN_FILTERS)
    query = (params.get("q") or "").strip()[:100]
    where = OrganizationFilter(
        subdomain_status=subdomain, bootstrap_status=bootstrap, query=query, page_token=params.get("page", "")
    )
    page = await console_of(request).provisioning.list_organizations(session.login or "", where)
    filters = {"bootstrap": bootstrap_key, "subdomain": subdomain_key, "q": query}
    return render(
        request,
        "organizations.html",
        {
            "organizations": list(page.organizations),
            "next_page": page.next_page_token,
            "filters": filters,
            "filtered": any(filters.values()),
            "first_page": not where.page_token,
            "bootstrap_filters": presentation.BOOTSTRAP_FILTERS,
            "subdomain_filters": presentation.SUBDOMAIN_FILTERS,
            "live_ids": [
                o.id
                for o in page.organizations
                if not presentation.is_final(o.bootstrap_status, o.subdomain_status)
            ],
        },
    )


async def _organization_context(request: Request, organization_id: str) -> dict[str, Any]:
    session = access.reader(request)
    console = console_of(request)
    try:
        uuid.UUID(organization_id)
    except ValueError:
        raise NotFound("no such organization") from None
    operator = session.login or ""
    bootstrap = await console.provisioning.bootstrap(operator, organization_id)
    organization = await console.provisioning.organization(operator, organization_id)
    return {
        "bootstrap": bootstrap,
        "organization": organization,
        "may_cancel": bootstrap.status
        in (presentation.pb.BOOTSTRAP_STATUS_INITIATED, presentation.pb.BOOTSTRAP_STATUS_RUNNING),
        "may_retry": bootstrap.status == presentation.pb.BOOTSTRAP_STATUS_COMPLETED
        and bootstrap.subdomain_status
        in (presentation.pb.SUBDOMAIN_STATUS_FAILED, presentation.pb.SUBDOMAIN_STATUS_REMOVED),
        "may_offboard": organization.lifecycle_status == presentation.pb.LIFECYCLE_STATUS_ACTIVE
        and bootstrap.status == presentation.pb.BOOTSTRAP_STATUS_COMPLETED,
        "may_cancel_offboarding": organization.lifecycle_status
        == presentation.pb.LIFECYCLE_STATUS_OFFBOARDING,
        "bootstrap_url": console.workflow_url(bootstrap.workflow_id),
        # The subdomain workflow's id, as the provisioning API documents it.
        "subdomain_url": console.workflow_url(f"org-subdomain-{organization_id}"),
    }


async def organization(request: Request) -> Response:
    organization_id = request.path_params["organization_id"]
    context = await _organization_context(request, organization_id)
    session = access.reader(request)
    token = request.query_params.get("events", "")
    events = await console_of(request).provisioning.events(session.login or "", organization_id, token)
    last_sequence = max((e.sequence for e in events.events), default=0)
    return render(
        request,
        "organization.html",
        {
            **context,
            "events": list(events.events),
            "next_events": events.next_page_token,
            "events_first_page": not token,
            # The live stream continues after what this page shows (appended only on the last page).
            "watch_after": last_sequence,
        },
    )


async def summary(request: Request) -> Response:
    """The live part of the organization page (statuses, steps, actions), re-fetched as events arrive."""
    context = await _organization_context(request, request.path_params["organization_id"])
    return render(request, "_summary.html", context)


async def new_form(request: Request) -> Response:
    session = access.reader(request)
    if not session.role.may_act:
        raise access.Refused("your role is read-only: ask for the operate role to start a bootstrap")
    values = dict.fromkeys(FORM_FIELDS, "")
    return render(request, "new.html", {"values": values, "errors": {}, "request_id": str(uuid.uuid4())})


async def create(request: Request) -> Response:
    session, form = await access.actor(request)
    values = {name: form.get(name, "").strip() for name in FORM_FIELDS}
    request_id = form.get("request_id", "")
    try:
        uuid.UUID(request_id)
    except ValueError:
        request_id = str(uuid.uuid4())
    new = NewBootstrap(**values, request_id=request_id)
    try:
        started = await console_of(request).provisioning.start_bootstrap(session.login or "", new)
    except (Invalid, Conflict) as refused:
        errors = {VIOLATION_FIELDS.get(f, "form"): problem for f, problem in refused.fields.items()}
        if not errors:
            errors["form"] = refused.message
        # A fresh idempotency key: the corrected form is another request (nothing was written).
        context = {"values": values, "errors": errors, "request_id": str(uuid.uuid4())}
        return render(request, "new.html", context, status_code=422)
    return redirect(request, f"/organizations/{started.organization_id}")
