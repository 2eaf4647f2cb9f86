"""Request checks: every bad field is reported at once, before anything reaches Zitadel.

Ids end up in Zitadel URL paths, so they are held to a safe alphabet (Zitadel's generated ids are
digits; A4C's are UUIDs). Names and addresses follow the rules provisioning applies
(a4c.common.names: no control or invisible characters, ASCII local@domain.tld), so a caller that
skips provisioning gets no further. Invitation links must be http(s) and carry the code.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from a4c.common.errors import Violations
from a4c.common.names import NAME_MAX, email_problem, has_invisible, text_problem

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$")
# Request ids become part of a Zitadel metadata key (at most 200 characters) in a URL path.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
ROLE_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
_TEMPLATE_FIELD = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
MAX_TEXT = NAME_MAX


class Checker(Violations):
    """The identity service's field checks; ``done()`` raises every violation found as InvalidFields."""

    def id(self, field: str, value: str, *, required: bool = True) -> Checker:
        if not value:
            if required:
                self.add(field, "is required")
        elif not ID_PATTERN.match(value):
            self.add(field, "must be 1-200 letters, digits, '-' or '_'")
        return self

    def request_id(self, field: str, value: str) -> Checker:
        if not value:
            self.add(field, "is required")
        elif not REQUEST_ID_PATTERN.match(value):
            self.add(
                field, "must be 1-128 letters, digits, '-', '_', '.' or ':', starting with a letter or digit"
            )
        return self

    def text(self, field: str, value: str) -> Checker:
        """A display name, judged trimmed (as it is stored)."""
        problem = text_problem(value.strip(), MAX_TEXT)
        if problem:
            self.add(field, problem)
        return self

    def email(self, field: str, value: str) -> Checker:
        problem = email_problem(value.strip())
        if problem:
            self.add(field, problem)
        return self

    def username(self, field: str, value: str) -> Checker:
        if value and (len(value) > MAX_TEXT or any(c.isspace() for c in value) or has_invisible(value)):
            self.add(field, "must be at most 200 characters without spaces or control characters")
        return self

    def project(self, field: str, value: str, configured: str) -> Checker:
        """The project is the service's own: empty (meaning it) or exactly it."""
        if value and value != configured:
            self.add(field, "must be empty: roles are granted on the service's configured project only")
        return self


def check_url_template(template: str) -> str | None:
    """Why ``template`` cannot be an invitation link, or None when it can."""
    if "{{.Code}}" not in template.replace(" ", ""):
        return "must contain {{.Code}}"
    parts = urlsplit(_TEMPLATE_FIELD.sub("x", template))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    return None
