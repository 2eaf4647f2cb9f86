"""Request checks: every bad field is reported at once, before anything reaches Zitadel.

Ids end up in Zitadel URL paths, so they are held to a safe alphabet (Zitadel's generated ids are
digits; A4C's are UUIDs). Invitation links must be http(s) and carry the code.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from a4c.common.errors import Violations

ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,199}$")
# Request ids become part of a Zitadel metadata key (at most 200 characters) in a URL path.
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$")
ROLE_KEY_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEMPLATE_FIELD = re.compile(r"\{\{\s*\.(\w+)\s*\}\}")
MAX_TEXT = 200


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

    def text(self, field: str, value: str, *, required: bool = True) -> Checker:
        if not value.strip():
            if required:
                self.add(field, "is required")
        elif len(value) > MAX_TEXT:
            self.add(field, f"must be at most {MAX_TEXT} characters")
        return self

    def email(self, field: str, value: str) -> Checker:
        if not value:
            self.add(field, "is required")
        elif len(value) > MAX_TEXT or not _EMAIL.match(value):
            self.add(field, "is not an email address")
        return self

    def username(self, field: str, value: str) -> Checker:
        if value and (len(value) > MAX_TEXT or any(c.isspace() for c in value)):
            self.add(field, "must be at most 200 characters without spaces")
        return self


def check_url_template(template: str) -> str | None:
    """Why ``template`` cannot be an invitation link, or None when it can."""
    if "{{.Code}}" not in template.replace(" ", ""):
        return "must contain {{.Code}}"
    parts = urlsplit(_TEMPLATE_FIELD.sub("x", template))
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http(s) URL"
    return None
