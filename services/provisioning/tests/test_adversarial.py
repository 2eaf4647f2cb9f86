"""The provisioning service against an attacker holding a valid token (issue 14): one table.

Each case is something a caller could send to take a name it must not have, to smuggle text into an
invitation email, or to make the service fail internally. The service answers INVALID_ARGUMENT
(never INTERNAL, never success) and nothing exists afterwards: no workflow, no event, no slug claim,
no organization row. The field-by-field validation table is test_bootstrap_validation.py; this one
is the attacks, including the names the reserved list gained for issue 14.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from a4c.api.provisioning.v1 import provisioning_pb2 as pb

from .helpers import COMPLETED_BOOTSTRAP, Running, rpc_error, seed
from .test_bootstrap_validation import assert_nothing_written, build

INVALID = grpc.StatusCode.INVALID_ARGUMENT


@dataclass(frozen=True)
class Bootstrap:
    """A BootstrapOrganization request: `changes` as in test_bootstrap_validation's `build`."""

    id: str
    changes: dict[str, Any]
    fields: set[str]


def reserved(slug: str) -> Bootstrap:
    return Bootstrap(f"reserved-{slug}", {"slug": slug}, {"slug"})


BOOTSTRAPS = [
    # Mail and its discovery: a tenant holding one would receive the platform's mail or configure
    # its users' mail clients.
    *(reserved(s) for s in ("smtp", "imap", "webmail", "autodiscover", "autoconfig", "mta-sts")),
    # Name servers and login pages: delegation and the phishing target.
    *(reserved(s) for s in ("ns1", "ns2", "login", "sso", "auth")),
    # The platform's own hosts: every tenant's CNAME target among them.
    *(reserved(s) for s in ("www", "app", "api", "admin", "mail")),
    Bootstrap("punycode-cyrillic-apple", {"slug": "xn--80ak6aa92e"}, {"slug"}),
    Bootstrap("punycode-any-ace-prefix", {"slug": "xn--acme-health"}, {"slug"}),
    Bootstrap("homoglyph-slug", {"slug": "\u0430pp"}, {"slug"}),
    Bootstrap("overlong-slug", {"slug": "a" * 64}, {"slug"}),
    Bootstrap("overlong-name", {"name": "A" * 201}, {"name"}),
    Bootstrap("crlf-header-in-name", {"name": "Acme\r\nBcc: attacker@evil.example"}, {"name"}),
    Bootstrap("nul-in-name", {"name": "Acme\x00Admin"}, {"name"}),
    Bootstrap("bidi-override-in-name", {"name": "Acme \u202egnp.exe"}, {"name"}),
    Bootstrap("zero-width-in-given-name", {"admin_given_name": "Ad\u200ba"}, {"admin.given_name"}),
    Bootstrap("crlf-in-family-name", {"admin_family_name": "Lovelace\nX-Evil: 1"}, {"admin.family_name"}),
    Bootstrap(
        "crlf-header-in-email", {"admin_email": "ada@acme.example\r\nBcc: x@evil.example"}, {"admin.email"}
    ),
    Bootstrap("quoted-local-part", {"admin_email": '"ada lovelace"@acme.example'}, {"admin.email"}),
    Bootstrap("ip-literal-domain", {"admin_email": "ada@[127.0.0.1]"}, {"admin.email"}),
    Bootstrap("two-addresses", {"admin_email": "ada@acme.example,eve@evil.example"}, {"admin.email"}),
    Bootstrap("unicode-domain", {"admin_email": "ada@\u0430cme.example"}, {"admin.email"}),
    Bootstrap("overlong-email", {"admin_email": "ada@" + "a" * 250 + ".example"}, {"admin.email"}),
]


@pytest.mark.parametrize("case", BOOTSTRAPS, ids=lambda c: c.id)
async def test_a_hostile_bootstrap_is_invalid_argument_and_creates_nothing(
    service: Running, case: Bootstrap
) -> None:
    request = build(case, f"adversarial-{case.id}-{uuid.uuid4().hex[:8]}")  # type: ignore[arg-type]

    details = await rpc_error(service.stub.BootstrapOrganization(request))

    assert details.code == INVALID, details.message
    assert details.fields == case.fields
    await assert_nothing_written(service, request)


# -- crafted page tokens ----------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _rewritten(token: str, change: Callable[[dict[str, Any]], None]) -> str:
    """`token` with its JSON body changed and its signature (if any) kept: a forged position."""
    body, dot, mac = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    change(payload)
    return _b64(json.dumps(payload).encode()) + dot + mac


def _flipped(token: str) -> str:
    """One character of the body changed: what tampering by hand looks like."""
    middle = len(token.partition(".")[0]) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def _huge_position(payload: dict[str, Any]) -> None:
    payload["p"] = {key: 10**30 for key in payload["p"]}


def _deep_position(token: str) -> str:
    """A position nested 5,000 arrays deep (written as text: the encoder would recurse as deep)."""
    body, dot, mac = token.partition(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload["p"] = dict.fromkeys(payload["p"], "DEEP")
    text = json.dumps(payload).replace('"DEEP"', "[" * 5000 + "]" * 5000)
    return _b64(text.encode()) + dot + mac


@dataclass(frozen=True)
class Token:
    id: str
    craft: Callable[[str], str]  # from a token the service issued
    listing: str = "events"  # or "organizations"


TOKENS = [
    Token("garbage", lambda _: "not a token"),
    Token("deep-json", lambda _: _b64(b"[" * 100_000 + b"]" * 100_000)),
    Token("deep-json-position", _deep_position),
    Token("huge-integer-digits", lambda _: _b64(b'{"v":1,"q":"x","p":{"a":' + b"9" * 10_000 + b"}}")),
    Token("huge-integer-position", lambda t: _rewritten(t, _huge_position)),
    Token("huge-integer-version", lambda t: _rewritten(t, lambda p: p.update(v=10**40))),
    Token("negative-position", lambda t: _rewritten(t, lambda p: p.update(p={"a": -1}))),
    Token("tampered", _flipped),
    Token("oversized", lambda t: t + "A" * 1_000_000),
    Token("non-ascii", lambda t: t + "\u00e9"),
    Token("tampered-organizations", _flipped, "organizations"),
    Token(
        "forged-cursor",
        lambda t: _rewritten(t, lambda p: p.update(p={"c": "yesterday", "i": 7})),
        "organizations",
    ),
    Token("huge-integer-cursor", lambda t: _rewritten(t, _huge_position), "organizations"),
]


@dataclass
class Listings:
    organization_id: uuid.UUID
    events: str  # a genuine next_page_token of ListOrganizationEvents
    organizations: str  # and of ListOrganizations


@pytest.fixture(scope="module")
async def listings(service: Running) -> Listings:
    organization_id, _ = await seed(service, COMPLETED_BOOTSTRAP, prefix="paged")
    await seed(service, COMPLETED_BOOTSTRAP, prefix="paged")
    events = await service.stub.ListOrganizationEvents(
        pb.ListOrganizationEventsRequest(organization_id=str(organization_id), page_size=1)
    )
    organizations = await service.stub.ListOrganizations(pb.ListOrganizationsRequest(page_size=1))
    assert events.next_page_token
    assert organizations.next_page_token
    return Listings(organization_id, events.next_page_token, organizations.next_page_token)


async def _list(service: Running, listings: Listings, case: Token) -> Any:
    if case.listing == "organizations":
        token = case.craft(listings.organizations)
        return await service.stub.ListOrganizations(
            pb.ListOrganizationsRequest(page_size=1, page_token=token)
        )
    token = case.craft(listings.events)
    return await service.stub.ListOrganizationEvents(
        pb.ListOrganizationEventsRequest(
            organization_id=str(listings.organization_id), page_size=1, page_token=token
        )
    )


@pytest.mark.parametrize("case", TOKENS, ids=lambda c: c.id)
async def test_a_crafted_page_token_is_invalid_argument_never_internal(
    service: Running, listings: Listings, case: Token
) -> None:
    details = await rpc_error(_list(service, listings, case))

    assert details.code == INVALID, details.message
    assert details.fields == {"page_token"}
    assert "Traceback" not in details.message
    # A read changes nothing: the organization's stream is as seeded.
    assert len(await service.store.read_stream(listings.organization_id)) == len(COMPLETED_BOOTSTRAP)


async def test_a_genuine_page_token_still_works(service: Running, listings: Listings) -> None:
    # The control for the table above: the tokens it starts from are good ones.
    reply = await service.stub.ListOrganizationEvents(
        pb.ListOrganizationEventsRequest(
            organization_id=str(listings.organization_id), page_size=1, page_token=listings.events
        )
    )
    assert len(reply.events) == 1


def test_the_table_has_the_cases_issue_14_asks_for() -> None:
    assert len(BOOTSTRAPS) + len(TOKENS) >= 15
    slugs = {c.changes.get("slug") for c in BOOTSTRAPS}
    assert {"smtp", "imap", "webmail", "autodiscover", "autoconfig", "mta-sts", "ns1", "ns2"} <= slugs
    assert {"login", "sso", "auth"} <= slugs
