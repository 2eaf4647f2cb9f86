"""What can go wrong talking to Cloudflare, as a small hierarchy the servicer maps to gRPC once
(a4c.dns.errors). Messages carry Cloudflare's codes and messages, never request headers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from a4c.common.retry import parse_retry_after
from a4c.common.upstream import UpstreamError

# "An identical record already exists" (81057 is the older code).
IDENTICAL_RECORD_CODES = frozenset({81057, 81058})
CONFLICT_CODES = IDENTICAL_RECORD_CODES | {81053, 81054}
# Missing, malformed, unknown or unusable credentials, whatever the HTTP status says: 9109 is
# "Invalid access token" (or a token used from an address it is not allowed from) with 403,
# 10001 "Unable to authenticate request" with 400.
AUTH_CODES = frozenset({9103, 9106, 9109, 6003, 6111, 1000, 10001})
NOT_FOUND_CODES = frozenset({81044, 7003, 7000})
QUOTA_CODES = frozenset({81045})  # "Record quota exceeded." (the zone's plan allows no more)


@dataclass(frozen=True)
class ApiMessage:
    code: int
    message: str


class CloudflareError(UpstreamError):
    """Base of every client error. ``status`` is the HTTP status (None: no answer at all),
    ``errors`` Cloudflare's (code, message) list."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        errors: tuple[ApiMessage, ...] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.errors = errors

    @property
    def code(self) -> int | None:
        return self.errors[0].code if self.errors else None


class InvalidRequest(CloudflareError):
    """Cloudflare refused the input (400): bad name, content, TTL, comment..."""


class Unauthenticated(CloudflareError):
    """The token is missing, malformed, unknown or expired."""


class PermissionDenied(CloudflareError):
    """The token is valid but may not do this (403: e.g. no DNS:Edit on the zone)."""


class NotFound(CloudflareError):
    """No such zone or record."""


class Conflict(CloudflareError):
    """A record on that name conflicts (identical record, CNAME next to A/AAAA/CNAME)."""


class QuotaExceeded(CloudflareError):
    """The zone holds as many records as its plan allows (81045): no retry makes room."""


class RateLimited(CloudflareError):
    """429 from Cloudflare, or the client-side budget has no slot before the deadline."""

    retryable = True


class Unavailable(CloudflareError):
    """5xx, a transport error or a timeout: worth retrying later."""

    retryable = True


def parse_response(method: str, path: str, response: httpx.Response) -> dict[str, Any] | CloudflareError:
    """The envelope of a successful answer, or the error it stands for."""
    body = _json(response)
    errors = tuple(
        ApiMessage(int(e.get("code", 0)), str(e.get("message", "")))
        for e in (body or {}).get("errors") or []
        if isinstance(e, dict)
    )
    status = response.status_code
    if 200 <= status < 300 and body is not None and body.get("success") is not False:
        return body
    detail = "; ".join(f"{e.code} {e.message}" for e in errors) or response.reason_phrase or "no detail"
    text = f"cloudflare {method} {path}: HTTP {status}: {detail}"
    codes = {e.code for e in errors}
    if 200 <= status < 300:
        return Unavailable(f"cloudflare {method} {path}: answer is not a Cloudflare envelope", status=status)
    if status == 429:
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return RateLimited(text, retry_after=retry_after, status=status, errors=errors)
    if status >= 500:
        return Unavailable(text, status=status, errors=errors)
    if status == 401 or codes & AUTH_CODES:
        return Unauthenticated(text, status=status, errors=errors)
    if status == 403:  # 10000 "Authentication error": a valid token without this permission or zone
        return PermissionDenied(text, status=status, errors=errors)
    if codes & QUOTA_CODES:
        return QuotaExceeded(text, status=status, errors=errors)
    if codes & CONFLICT_CODES:
        return Conflict(text, status=status, errors=errors)
    if status == 404 or codes & NOT_FOUND_CODES:
        return NotFound(text, status=status, errors=errors)
    return InvalidRequest(text, status=status, errors=errors)


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:  # e.g. an HTML error page from the edge
        return None
    return body if isinstance(body, dict) else None
