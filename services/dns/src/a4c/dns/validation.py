"""Request validation and normalization, done before anything reaches Cloudflare.

Every problem becomes a field violation and all of them are reported at once; nothing is written
when there is one. Names are compared and stored as Cloudflare returns them: lowercase Punycode
FQDN without trailing dot. A name outside the zone is refused here, because Cloudflare would
silently append the zone to it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from a4c.common.errors import InvalidFields, Violations
from a4c.common.paging import PageTokens

RECORD_TYPES = ("A", "AAAA", "CNAME", "TXT")
PROXIABLE_TYPES = ("A", "AAAA", "CNAME")
MAX_NAME = 253
MAX_TXT = 2048
MAX_PAGE_SIZE = 500
# ListOwnedRecords: Cloudflare's list takes per_page far above 100 (its spec allows up to 5,000,000;
# the reference treats more than 5,000 as suspect), and a sweep pays one request per page.
MAX_OWNED_PAGE_SIZE = 5000
_LABEL = re.compile(r"^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$")
_OWNER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
_RECORD_ID = re.compile(r"^[0-9a-f]{32}$")


class Checker(Violations):
    """The DNS service's field checks; ``done()`` raises every violation found as InvalidFields."""

    def zone(self, raw: str, default: str | None) -> str:
        if not raw.strip():
            if default is None:
                self.add("zone", "is required: this service has no default zone (CLOUDFLARE_ZONE_NAME)")
                return ""
            return default
        zone = _fqdn(raw)
        if zone is None or "." not in zone or "*" in zone:
            self.add("zone", f"is not a DNS zone name: {raw!r}")
            return ""
        return zone

    def name(self, raw: str, zone: str, field_name: str = "name", *, required: bool = True) -> str:
        if not raw.strip():
            if required:
                self.add(field_name, "is required: a fully qualified name inside the zone")
            return ""
        name = _fqdn(raw)
        if name is None:
            self.add(field_name, f"is not a valid DNS name (labels of 1-63 letters, digits, '-'): {raw!r}")
            return ""
        if zone and name != zone and not name.endswith("." + zone):
            self.add(field_name, f"{name} is not inside the zone {zone}")
        return name

    def type(self, raw: str) -> str:
        if raw not in RECORD_TYPES:
            self.add("type", f"must be one of {', '.join(RECORD_TYPES)} (RECORD_TYPE_*)")
        return raw

    def content(self, type_: str, raw: str, name: str, field_name: str = "content") -> str:
        value = raw.strip()
        if not value:
            self.add(field_name, "is required")
            return ""
        if type_ in ("A", "AAAA"):
            try:
                address = ipaddress.ip_address(value)
            except ValueError:
                address = None
            if address is None or address.version != (4 if type_ == "A" else 6):
                self.add(field_name, f"is not an IPv{4 if type_ == 'A' else 6} address: {raw!r}")
                return ""
            return str(address)
        if type_ == "CNAME":
            target = _fqdn(value)
            if target is None or "." not in target or "*" in target:
                self.add(field_name, f"is not a host name: {raw!r}")
                return ""
            if target == name:
                self.add(field_name, "a CNAME cannot point at its own name")
            return target
        if len(raw) > MAX_TXT:
            self.add(field_name, f"is longer than {MAX_TXT} characters")
        return raw

    def ttl(self, raw: int, proxied: bool) -> int:
        if raw in (0, 1):
            return 1
        if proxied:
            self.add("ttl", "must be 0 or 1 (automatic) for a proxied record")
        elif not 60 <= raw <= 86400:
            self.add("ttl", f"must be 0 or 1 (automatic) or 60-86400 seconds, not {raw}")
        return raw

    def proxied(self, type_: str, proxied: bool) -> bool:
        if proxied and type_ and type_ not in PROXIABLE_TYPES:
            self.add("proxied", f"only {', '.join(PROXIABLE_TYPES)} records can be proxied")
        return proxied

    def owner(self, raw: str, *, required: bool) -> str:
        if not raw:
            if required:
                self.add("owner", "is required: the organization id that owns the record")
            return ""
        if not _OWNER.match(raw):
            self.add("owner", "must be 1-64 letters, digits or . _ : - (an organization id)")
        return raw

    def record_id(self, raw: str) -> str:
        if not _RECORD_ID.match(raw):
            self.add("id", "must be a Cloudflare record id (32 lowercase hex characters)")
        return raw

    def page_size(self, raw: int) -> int:
        if raw == 0:
            return 100
        if not 1 <= raw <= MAX_PAGE_SIZE:
            self.add("page_size", f"must be between 1 and {MAX_PAGE_SIZE} (0 means 100)")
        return raw

    def owned_page_size(self, raw: int) -> int:
        """ListOwnedRecords pages are large: a sweep pays one Cloudflare request per page."""
        if raw == 0:
            return MAX_OWNED_PAGE_SIZE
        if not 1 <= raw <= MAX_OWNED_PAGE_SIZE:
            self.add(
                "page_size", f"must be between 1 and {MAX_OWNED_PAGE_SIZE} (0 means {MAX_OWNED_PAGE_SIZE})"
            )
        return raw

    def page_token(self, raw: str, query: tuple[object, ...], tokens: PageTokens) -> int:
        """Page number from a token made by :func:`next_page_token` for the same query (else page 1)."""
        if not raw:
            return 1
        try:
            return tokens.decode(raw, query, _page)
        except InvalidFields as exc:
            self.violations.extend(exc.violations)
            return 1


def next_page_token(page: int, query: tuple[object, ...], tokens: PageTokens) -> str:
    """The token for `page` of `query` (zone, name, type, page size)."""
    return tokens.encode({"page": page}, query)


def _page(position: Mapping[str, Any]) -> int:
    page = position["page"]
    if not isinstance(page, int) or page < 1:
        raise ValueError("page")
    return page


def _fqdn(raw: str) -> str | None:
    name = raw.strip().rstrip(".").lower()
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = name.split(".")
    if not name or len(name) > MAX_NAME or not all(_LABEL.match(label) for label in labels):
        return None
    if "*" in labels[1:]:
        return None
    return name
