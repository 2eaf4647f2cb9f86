"""Cloudflare's record rules and error codes, as the real API applies them (see the reference facts).

Everything a request can get wrong raises :class:`ApiError` carrying the HTTP status and the
Cloudflare error code a client written against the real API expects.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

# The record types the sandbox serves; A4C manages A, AAAA, CNAME and TXT.
SUPPORTED_TYPES = ("A", "AAAA", "CNAME", "TXT")
PROXIABLE_TYPES = ("A", "AAAA", "CNAME")
MAX_NAME_LENGTH = 255
MAX_TXT_LENGTH = 2048
_LABEL = re.compile(r"^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$")
_ID = re.compile(r"^[0-9a-f]{32}$")
NO_ROUTE = "Could not route to the zone, perhaps your object identifier is invalid?"
# A request the emulator cannot serve faithfully (an unimplemented filter, a route it lacks): an
# explicit refusal with a code Cloudflare does not use, never a silent "return everything".
NOT_EMULATED = 99999


class ApiError(Exception):
    """An error answer: HTTP status, Cloudflare code and message, optional error chain."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        chain: Sequence[tuple[int, str]] = (),
        *,
        also: Sequence[tuple[int, str]] = (),
        gateway: bool = False,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.chain = tuple(chain)
        # Further top-level errors (7003 comes with 7000 beside it, not in its chain).
        self.also = tuple(also)
        # Answers from Cloudflare's API gateway (auth) carry only success and errors, no
        # messages or result, as published payloads show.
        self.gateway = gateway

    def errors_json(self) -> list[dict[str, Any]]:
        return [self.to_json(), *({"code": c, "message": m} for c, m in self.also)]

    def to_json(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.chain:
            error["error_chain"] = [{"code": c, "message": m} for c, m in self.chain]
        return error


def validation_error(message: str) -> ApiError:
    return ApiError(400, 1004, "DNS Validation Error", [(1004, message)])


def not_emulated(what: str) -> ApiError:
    return ApiError(400, NOT_EMULATED, f"sandbox: {what} is not emulated (see sandbox/FIDELITY.md)")


def no_route(path: str) -> ApiError:
    """A malformed or unknown identifier in the path, in the words of real payloads."""
    message = f"Could not route to {path}, perhaps your object identifier is invalid?"
    return ApiError(400, 7003, message, also=[(7000, "No route for that URI")])


@dataclass(frozen=True)
class RecordSpec:
    """A validated, normalized record as a client asked for it."""

    type: str
    name: str
    content: str
    ttl: int = 1
    proxied: bool = False
    comment: str | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)


def check_id(value: str, path: str) -> str:
    """``value`` when it is a 32-hex identifier; else the routing error for ``path``."""
    if not _ID.match(value):
        raise no_route(path)
    return value


def normalize_name(raw: object, zone: str) -> str:
    """Full lowercase Punycode FQDN without trailing dot; '@' is the apex; names outside the zone
    get the zone appended, exactly as Cloudflare does."""
    if not isinstance(raw, str) or not raw.strip():
        raise ApiError(400, 9000, "DNS name is invalid.")
    name = raw.strip().rstrip(".").lower()
    if name in ("@", ""):
        return zone
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise ApiError(400, 9000, "DNS name is invalid.") from exc
    if name != zone and not name.endswith("." + zone):
        name = f"{name}.{zone}"
    labels = name.split(".")
    if len(name) > MAX_NAME_LENGTH or not all(_LABEL.match(label) for label in labels) or "*" in labels[1:]:
        raise ApiError(400, 9000, "DNS name is invalid.")
    return name


def is_hostname(value: str) -> bool:
    labels = value.split(".")
    return (
        0 < len(value) <= MAX_NAME_LENGTH
        and len(labels) >= 2
        and all(_LABEL.match(label) and label != "*" for label in labels)
    )


def normalize_content(type_: str, raw: object, name: str) -> str:
    if not isinstance(raw, str):
        raw = ""
    if type_ == "A":
        try:
            return str(ipaddress.IPv4Address(raw.strip()))
        except ValueError as exc:
            raise ApiError(400, 9005, "Content for A record must be a valid IPv4 address.") from exc
    if type_ == "AAAA":
        try:
            return str(ipaddress.IPv6Address(raw.strip()))
        except ValueError as exc:
            raise ApiError(400, 9006, "Content for AAAA record must be a valid IPv6 address.") from exc
    if type_ == "CNAME":
        target = raw.strip().rstrip(".").lower()
        if not is_hostname(target) or target == name:
            raise ApiError(400, 9007, "Content for CNAME record is invalid.")
        return target
    if not raw or len(raw) > MAX_TXT_LENGTH:
        raise validation_error(f"TXT content must be 1 to {MAX_TXT_LENGTH} characters.")
    return raw


def normalize_ttl(raw: object, proxied: bool) -> int:
    if raw is None:
        return 1
    if not isinstance(raw, int | float) or isinstance(raw, bool) or int(raw) != raw:
        raise ApiError(400, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
    ttl = int(raw)
    if ttl != 1 and not 60 <= ttl <= 86400:
        raise ApiError(400, 9021, "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.")
    return 1 if proxied else ttl  # proxied records are always automatic


def parse_record(body: Mapping[str, Any], zone: str, comment_max_length: int) -> RecordSpec:
    """Validate a full record body (POST, PUT, batch posts/puts)."""
    type_ = body.get("type")
    if not isinstance(type_, str) or type_.upper() not in SUPPORTED_TYPES:
        raise validation_error(f"Record type must be one of {', '.join(SUPPORTED_TYPES)}.")
    type_ = type_.upper()
    name = normalize_name(body.get("name"), zone)
    proxied = body.get("proxied", False)
    if proxied is None:
        proxied = False
    if not isinstance(proxied, bool):
        raise validation_error("proxied must be a boolean.")
    if proxied and type_ not in PROXIABLE_TYPES:
        raise ApiError(400, 9004, "This record type cannot be proxied.")
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        raise validation_error("comment must be a string.")
    if comment is not None and len(comment) > comment_max_length:
        raise validation_error(f"Comment is too long: at most {comment_max_length} characters on this plan.")
    tags = body.get("tags") or []
    if tags:
        # As a published payload shows it: 1004 with the quota error in its chain.
        count = len(tags) if isinstance(tags, list) else 1
        raise ApiError(
            400,
            1004,
            "DNS Validation Error",
            [(9300, f"DNS record has {count} tags, exceeding the quota of 0.")],
        )
    return RecordSpec(
        type=type_,
        name=name,
        content=normalize_content(type_, body.get("content"), name),
        ttl=normalize_ttl(body.get("ttl"), proxied),
        proxied=proxied,
        comment=comment or None,
    )


def merge_patch(current: Mapping[str, Any], patch: Mapping[str, Any]) -> dict[str, Any]:
    """PATCH keeps every field the body leaves out."""
    merged = dict(current)
    for key in ("type", "name", "content", "ttl", "proxied", "comment", "tags"):
        if key in patch:
            merged[key] = patch[key]
    return merged
