"""BootstrapOrganization refuses bad requests with the right field and writes nothing at all.

Every case carries its own request id, so the organization id it would have had is known
(uuid5 of the request id): the checks then look for exactly what a leak would have created — a
workflow with that id (strongly consistent describe), any workflow for the slug (visibility), an
event on that stream, a projection row, a slug claim.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from a4c.eventstore import NotFound
from a4c.provisioning.bootstrap import organization_id_for

from .helpers import (
    COMPLETED_BOOTSTRAP,
    Running,
    bootstrap_id,
    bootstrap_request,
    org_events,
    rpc_error,
    workflow_exists,
    workflow_ids_for_slug,
)

INVALID = grpc.StatusCode.INVALID_ARGUMENT
TAKEN_BY_BOOTSTRAP = "taken-by-bootstrap"
TAKEN_BY_PROJECTION = "taken-by-projection"


@dataclass(frozen=True)
class Case:
    id: str
    changes: dict[str, Any]
    fields: set[str]
    code: grpc.StatusCode = INVALID


def slug(value: str, id: str) -> Case:
    return Case(id, {"slug": value}, {"slug"})


CASES = [
    slug("", "slug-empty"),
    slug("ab", "slug-too-short"),
    slug("a" * 64, "slug-too-long"),
    slug("Acme", "slug-capital"),
    slug("ACME", "slug-upper"),
    slug("1acme", "slug-digit-first"),
    slug("-acme", "slug-hyphen-first"),
    slug("acme-", "slug-hyphen-last"),
    slug("xn--acme", "slug-punycode"),
    slug("ab--cd", "slug-double-hyphen-3-4"),
    slug("acme_co", "slug-underscore"),
    slug("acme.co", "slug-dot"),
    slug("acme co", "slug-space"),
    slug(" acme", "slug-leading-space"),
    slug("acme\n", "slug-newline"),
    slug("\u0430cme", "slug-cyrillic-homoglyph"),
    slug("acm\u00e9", "slug-accented"),
    slug("\uff41cme", "slug-fullwidth"),
    slug("acme\u200b", "slug-zero-width"),
    slug("acme!", "slug-punctuation"),
    slug("\U0001f680rocket", "slug-emoji"),
    slug("www", "slug-reserved-www"),
    slug("app", "slug-reserved-app"),
    slug("api-a4c", "slug-reserved-api-a4c"),
    slug("admin", "slug-reserved-admin"),
    slug("status", "slug-reserved-status"),
    Case(  # another organization: the same values would be the same request, returned as already started
        "slug-taken-by-bootstrap",
        {"slug": TAKEN_BY_BOOTSTRAP, "name": "Someone Else"},
        {"slug"},
        grpc.StatusCode.ALREADY_EXISTS,
    ),
    Case("slug-taken-by-projection", {"slug": TAKEN_BY_PROJECTION}, {"slug"}, grpc.StatusCode.ALREADY_EXISTS),
    Case("name-empty", {"name": ""}, {"name"}),
    Case("name-blank", {"name": "   \t "}, {"name"}),
    Case("name-too-long", {"name": "x" * 201}, {"name"}),
    Case("name-nul", {"name": "Acme\x00Health"}, {"name"}),
    Case("name-newline", {"name": "Acme\nHealth"}, {"name"}),
    Case("name-bidi-override", {"name": "Acme \u202eHealth"}, {"name"}),
    Case("name-oversized-1mb", {"name": "x" * 1_000_000}, {"name"}),
    Case("email-empty", {"admin_email": ""}, {"admin.email"}),
    Case("email-no-at", {"admin_email": "not-an-email"}, {"admin.email"}),
    Case("email-no-tld", {"admin_email": "ada@acme"}, {"admin.email"}),
    Case("email-no-local", {"admin_email": "@acme.example"}, {"admin.email"}),
    Case("email-no-domain", {"admin_email": "ada@"}, {"admin.email"}),
    Case("email-two-ats", {"admin_email": "ada@@acme.example"}, {"admin.email"}),
    Case("email-space", {"admin_email": "ada lovelace@acme.example"}, {"admin.email"}),
    Case("email-double-dot", {"admin_email": "ada@acme..example"}, {"admin.email"}),
    Case("email-non-ascii", {"admin_email": "\u00e4d\u00e4@acme.example"}, {"admin.email"}),
    Case("email-local-too-long", {"admin_email": "x" * 65 + "@acme.example"}, {"admin.email"}),
    Case("email-domain-hyphen", {"admin_email": "ada@-acme.example"}, {"admin.email"}),
    Case("email-oversized", {"admin_email": "ada@" + "a" * 300 + ".example"}, {"admin.email"}),
    Case("admin-missing", {"admin": None}, {"admin"}),
    Case("given-name-empty", {"admin_given_name": ""}, {"admin.given_name"}),
    Case("family-name-blank", {"admin_family_name": "  "}, {"admin.family_name"}),
    Case("given-name-control", {"admin_given_name": "Ada\x07"}, {"admin.given_name"}),
    Case("family-name-too-long", {"admin_family_name": "L" * 201}, {"admin.family_name"}),
    Case("request-id-space", {"request_id": "has space"}, {"request_id"}),
    Case("request-id-too-long", {"request_id": "r" * 129}, {"request_id"}),
    Case(
        "everything-bad",
        {
            "name": "",
            "slug": "Bad Slug",
            "admin_email": "nope",
            "admin_given_name": "",
            "admin_family_name": "",
        },
        {"name", "slug", "admin.email", "admin.given_name", "admin.family_name"},
    ),
]


@pytest.fixture(scope="module")
async def taken(service: Running) -> None:
    """One slug held through the API (a claim and a workflow), one only by a recorded organization."""
    reply = await service.stub.BootstrapOrganization(bootstrap_request(TAKEN_BY_BOOTSTRAP))
    assert reply.organization_id
    await service.store.append_many(org_events(uuid.uuid4(), TAKEN_BY_PROJECTION, COMPLETED_BOOTSTRAP))


def build(case: Case, request_id: str) -> Any:
    changes = dict(case.changes)
    changes.setdefault("request_id", request_id)
    drop_admin = "admin" in changes and changes.pop("admin") is None
    request = bootstrap_request(changes.pop("slug", "valid-slug"), **changes)
    if drop_admin:
        request.ClearField("admin")
    return request


def test_the_table_has_at_least_forty_cases() -> None:
    assert len(CASES) >= 40
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_bad_request_is_refused_naming_the_field_and_writes_nothing(
    service: Running, taken: None, case: Case
) -> None:
    request_id = f"validation-{case.id}-{uuid.uuid4().hex[:8]}"
    request = build(case, request_id)

    details = await rpc_error(service.stub.BootstrapOrganization(request))

    assert details.code == case.code, details.message
    assert details.fields == case.fields
    assert all(v.description for v in details.field_violations)
    await assert_nothing_written(service, request)


async def assert_nothing_written(service: Running, request: Any) -> None:
    request_id = request.request_id
    if " " not in request_id and len(request_id) <= 128:
        organization_id = organization_id_for(request_id)
        assert not await workflow_exists(service.temporal, bootstrap_id(organization_id))
        assert await service.store.read_stream(organization_id) == []
        with pytest.raises(NotFound):
            await service.store.get_organization(organization_id)
        claims = await service.store.pool.fetchval(
            "SELECT count(*) FROM slug_claims WHERE organization_id = $1", organization_id
        )
        assert claims == 0
    if request.slug not in (TAKEN_BY_BOOTSTRAP, TAKEN_BY_PROJECTION):
        assert await workflow_ids_for_slug(service.temporal, request.slug.replace("'", "")) == []
        assert (
            await service.store.pool.fetchval(
                "SELECT count(*) FROM slug_claims WHERE slug = $1", request.slug
            )
            == 0
        )
        with pytest.raises(NotFound):
            await service.store.get_organization_by_slug(request.slug)
