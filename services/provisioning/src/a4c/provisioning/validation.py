"""Input rules of BootstrapOrganization: every field checked, one violation per bad field.

Everything is checked before anything is written, and the first broken rule of each field is the one
reported, phrased so an operator knows what to change. Slugs are compared as given (no lowercasing or
trimming): a slug becomes a DNS name and a URL, so silently rewriting it would surprise the caller.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from uuid import UUID

from a4c.common.errors import FieldViolation, InvalidFields

SLUG_MIN, SLUG_MAX = 3, 63
NAME_MAX = 200
PERSON_NAME_MAX = 200
EMAIL_MAX, EMAIL_LOCAL_MAX = 254, 64
REQUEST_ID_MAX = 128

_SLUG_CHARS = re.compile(r"^[a-z0-9-]+$")
_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
_EMAIL_DOMAIN = re.compile(r"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_REQUEST_ID = re.compile(r"^[\x21-\x7e]+$")
# Control, format (zero-width, bidi overrides), surrogate, private-use and unassigned code points, and
# line/paragraph separators: invisible or layout-changing characters have no place in a display name.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@dataclass(frozen=True)
class NewOrganization:
    """A validated, normalized BootstrapOrganization request."""

    name: str
    slug: str
    admin_email: str
    admin_given_name: str
    admin_family_name: str
    request_id: str | None


def slug_problem(slug: str, reserved: frozenset[str]) -> str | None:
    """Why `slug` cannot be a tenant's subdomain label, or None when it can."""
    if not slug:
        return "is required"
    if not slug.isascii():
        return "must contain only a-z, 0-9 and '-' (no accented, look-alike or other non-ASCII letters)"
    if slug != slug.lower():
        return "must be lowercase"
    if not _SLUG_CHARS.fullmatch(slug):
        return "must contain only a-z, 0-9 and '-'"
    if len(slug) < SLUG_MIN or len(slug) > SLUG_MAX:
        return f"must be {SLUG_MIN}-{SLUG_MAX} characters long, not {len(slug)}"
    if not slug[0].isalpha():
        return "must start with a letter"
    if slug.endswith("-"):
        return "must not end with '-'"
    if slug[2:4] == "--":
        return "must not have '--' at positions 3-4 (reserved for punycode names like xn--)"
    if slug in reserved:
        return "is reserved"
    return None


def _text_problem(value: str, limit: int) -> str | None:
    if not value:
        return "is required"
    if len(value) > limit:
        return f"must be at most {limit} characters, not {len(value)}"
    if any(unicodedata.category(ch) in _FORBIDDEN_CATEGORIES for ch in value):
        return "must not contain control or invisible characters"
    return None


def email_problem(email: str) -> str | None:
    if not email:
        return "is required"
    if len(email) > EMAIL_MAX:
        return f"must be at most {EMAIL_MAX} characters"
    if not email.isascii():
        return "must be an ASCII address (local@domain.tld)"
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return "must look like local@domain.tld"
    if len(local) > EMAIL_LOCAL_MAX:
        return f"local part must be at most {EMAIL_LOCAL_MAX} characters"
    if not _EMAIL_LOCAL.fullmatch(local):
        return "has an invalid local part (before the @)"
    if not _EMAIL_DOMAIN.fullmatch(domain):
        return "has an invalid domain (after the @)"
    return None


def _request_id_problem(request_id: str) -> str | None:
    if len(request_id) > REQUEST_ID_MAX:
        return f"must be at most {REQUEST_ID_MAX} characters"
    if not _REQUEST_ID.fullmatch(request_id):
        return "must be printable ASCII without spaces"
    return None


def validate_bootstrap(
    *,
    name: str,
    slug: str,
    has_admin: bool,
    admin_email: str,
    admin_given_name: str,
    admin_family_name: str,
    request_id: str,
    reserved: frozenset[str],
) -> NewOrganization:
    """The normalized request, or InvalidFields naming every bad field."""
    name, email = name.strip(), admin_email.strip()
    given, family = admin_given_name.strip(), admin_family_name.strip()
    problems: dict[str, str | None] = {
        "name": _text_problem(name, NAME_MAX),
        "slug": slug_problem(slug, reserved),
        "request_id": _request_id_problem(request_id) if request_id else None,
    }
    if has_admin:
        problems["admin.email"] = email_problem(email)
        problems["admin.given_name"] = _text_problem(given, PERSON_NAME_MAX)
        problems["admin.family_name"] = _text_problem(family, PERSON_NAME_MAX)
    else:
        problems["admin"] = "is required (email, given_name, family_name)"
    violations = [FieldViolation(field, problem) for field, problem in problems.items() if problem]
    if violations:
        raise InvalidFields(violations)
    local, _, domain = email.rpartition("@")
    return NewOrganization(
        name=name,
        slug=slug,
        admin_email=f"{local}@{domain.lower()}",
        admin_given_name=given,
        admin_family_name=family,
        request_id=request_id or None,
    )


def organization_ref(organization_id: str, slug: str) -> UUID | str:
    """The `organization` oneof of a request: the organization's UUID, or its slug."""
    if organization_id:
        try:
            return UUID(organization_id)
        except ValueError:
            raise InvalidFields.one("organization_id", "must be a UUID") from None
    if slug:
        problem = slug_problem(slug, frozenset())
        if problem:
            raise InvalidFields.one("slug", problem)
        return slug
    raise InvalidFields.one("organization_id", "organization_id or slug is required")
