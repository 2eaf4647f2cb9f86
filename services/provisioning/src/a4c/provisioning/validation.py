"""Input rules of BootstrapOrganization: every field checked, one violation per bad field.

Everything is checked before anything is written, and the first broken rule of each field is the one
reported, phrased so an operator knows what to change. Slugs are compared as given (no lowercasing or
trimming): a slug becomes a DNS name and a URL, so silently rewriting it would surprise the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

from a4c.common.errors import FieldViolation, InvalidFields
from a4c.common.names import (
    NAME_MAX,
    PERSON_NAME_MAX,
    RESERVED_SLUGS,
    email_problem,
    slug_problem,
    text_problem,
)

REQUEST_ID_MAX = 128
_REQUEST_ID = re.compile(r"^[\x21-\x7e]+$")
# The slug, name and email rules are the kit's (a4c.common.names): the worker and the DNS and
# identity services apply the same ones.
__all__ = ["NewOrganization", "email_problem", "organization_ref", "slug_problem", "validate_bootstrap"]


@dataclass(frozen=True)
class NewOrganization:
    """A validated, normalized BootstrapOrganization request."""

    name: str
    slug: str
    admin_email: str
    admin_given_name: str
    admin_family_name: str
    request_id: str | None


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
    """The normalized request, or InvalidFields naming every bad field. ``reserved`` is the
    configured list, refused on top of the kit's RESERVED_SLUGS."""
    name, email = name.strip(), admin_email.strip()
    given, family = admin_given_name.strip(), admin_family_name.strip()
    problems: dict[str, str | None] = {
        "name": text_problem(name, NAME_MAX),
        "slug": slug_problem(slug, RESERVED_SLUGS | reserved),  # configuration adds, never removes
        "request_id": _request_id_problem(request_id) if request_id else None,
    }
    if has_admin:
        problems["admin.email"] = email_problem(email)
        problems["admin.given_name"] = text_problem(given, PERSON_NAME_MAX)
        problems["admin.family_name"] = text_problem(family, PERSON_NAME_MAX)
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
