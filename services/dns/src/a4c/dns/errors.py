"""The one translation from the DNS service's failures to gRPC status (with google.rpc details).

Invalid input → INVALID_ARGUMENT with field violations; a record that is not ours → FAILED_PRECONDITION
naming it; Cloudflare's answers by kind, with the Cloudflare error code and HTTP status in the
ErrorInfo metadata; throttling → RESOURCE_EXHAUSTED with RetryInfo; 5xx, timeouts and nameserver
trouble → UNAVAILABLE (retryable). Messages never contain credentials (the client never puts them in).
"""

from __future__ import annotations

import logging

import grpc

from a4c.common.errors import ErrorStatus, ErrorTranslation
from a4c.dns import cloudflare_errors as cf
from a4c.dns.propagation import NameserverLookupError
from a4c.dns.records import NotOwned
from a4c.dns.validation import InvalidInput

logger = logging.getLogger(__name__)

DOMAIN = "dns.a4c"

# Cloudflare failure kind -> (gRPC code, ErrorInfo reason)
_CLOUDFLARE: list[tuple[type[cf.CloudflareError], grpc.StatusCode, str]] = [
    (cf.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED, "CLOUDFLARE_RATE_LIMITED"),
    (cf.Unavailable, grpc.StatusCode.UNAVAILABLE, "CLOUDFLARE_UNAVAILABLE"),
    (cf.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, "CLOUDFLARE_TOKEN_REJECTED"),
    (cf.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, "CLOUDFLARE_PERMISSION_DENIED"),
    (cf.NotFound, grpc.StatusCode.NOT_FOUND, "CLOUDFLARE_NOT_FOUND"),
    (cf.Conflict, grpc.StatusCode.FAILED_PRECONDITION, "CLOUDFLARE_RECORD_CONFLICT"),
    (cf.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT, "CLOUDFLARE_REJECTED_INPUT"),
]


def status_of(exc: Exception) -> ErrorStatus | None:
    """The status a failure of this service stands for; None for one it does not know (a bug)."""
    if isinstance(exc, InvalidInput):
        return ErrorStatus(grpc.StatusCode.INVALID_ARGUMENT, "invalid request", tuple(exc.violations))
    if isinstance(exc, NotOwned):
        record = {"record_id": exc.record.id, "record_type": exc.record.type, "record_name": exc.record.name}
        code = grpc.StatusCode.FAILED_PRECONDITION
        return ErrorStatus(code, str(exc), reason=f"RECORD_{exc.reason}", metadata=record)
    if isinstance(exc, NameserverLookupError):
        return ErrorStatus(grpc.StatusCode.UNAVAILABLE, str(exc), reason="NAMESERVERS_UNKNOWN")
    if isinstance(exc, cf.CloudflareError):
        return _cloudflare_status(exc)
    return None


def _cloudflare_status(exc: cf.CloudflareError) -> ErrorStatus:
    code, reason = next(
        ((c, r) for kind, c, r in _CLOUDFLARE if isinstance(exc, kind)),
        (grpc.StatusCode.INTERNAL, "CLOUDFLARE_UNEXPECTED"),
    )
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
        logger.warning("cloudflare call failed: %s", exc)
    metadata = {"http_status": str(exc.status or 0)}
    if exc.code is not None:
        metadata["cloudflare_code"] = str(exc.code)
    retry_delay = exc.retry_after if isinstance(exc, cf.RateLimited) else None
    return ErrorStatus(code, str(exc), reason=reason, metadata=metadata, retry_delay=retry_delay)


# The decorator every DnsService method wears.
grpc_errors = ErrorTranslation(status_of, domain=DOMAIN).unary
