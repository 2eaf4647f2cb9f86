"""The shared naming rules: what a slug, a display name and an email may be."""

from __future__ import annotations

import pytest

from a4c.common.names import RESERVED_SLUGS, email_problem, slug_problem, text_problem


@pytest.mark.parametrize(
    "slug",
    ["smtp", "imap", "pop3", "webmail", "autodiscover", "autoconfig", "mta-sts", "ns1", "ns2", "login",
     "sso", "auth", "oauth", "id", "accounts", "cdn", "static", "assets", "dev", "staging", "test",
     "internal", "www", "app", "mail"],
)  # fmt: skip
def test_the_mail_auth_and_infrastructure_names_of_issue_14_are_reserved(slug: str) -> None:
    assert slug in RESERVED_SLUGS
    # Two-letter ones ("id", "mx") already fail the length rule; the list names them all the same,
    # so loosening that rule cannot free them.
    assert slug_problem(slug) in ("is reserved", "must be 3-63 characters long, not 2")


@pytest.mark.parametrize(
    ("slug", "problem"),
    [
        ("", "is required"),
        ("acmé", "must contain only a-z, 0-9 and '-' (no accented, look-alike or other non-ASCII letters)"),
        ("Acme", "must be lowercase"),
        ("ac_me", "must contain only a-z, 0-9 and '-'"),
        ("*", "must contain only a-z, 0-9 and '-'"),
        ("ab", "must be 3-63 characters long, not 2"),
        ("1acme", "must start with a letter"),
        ("acme-", "must not end with '-'"),
        ("xn--80ak6aa92e", "must not have '--' at positions 3-4 (reserved for punycode names like xn--)"),
    ],
)
def test_slug_shapes_are_refused_with_the_reason(slug: str, problem: str) -> None:
    assert slug_problem(slug) == problem


def test_an_empty_reserved_set_checks_the_shape_only() -> None:
    assert slug_problem("smtp", frozenset()) is None
    assert slug_problem("acme-corp") is None


@pytest.mark.parametrize("name", ["Acme\r\nBcc: x@evil.example", "Acme\u202e", "Ac\u200bme", "\x00"])
def test_names_with_control_or_invisible_characters_are_refused(name: str) -> None:
    assert text_problem(name) == "must not contain control or invisible characters"


@pytest.mark.parametrize(
    ("email", "ok"),
    [("ada@example.com", True), ("ada@exämple.com", False), ("ada@@example.com", False),
     ("ada\r\n@example.com", False), ("ada@example", False), ("a" * 65 + "@example.com", False)],
)  # fmt: skip
def test_emails_follow_the_ascii_local_at_domain_rule(email: str, ok: bool) -> None:
    assert (email_problem(email) is None) is ok
