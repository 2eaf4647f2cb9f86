"""The one translation from the DNS service's failures to gRPC status (with google.rpc details).

Invalid input → INVALID_ARGUMENT with field violations; a record that is not ours → FAILED_PRECONDITION
(its id and content only in the log); Cloudflare's answers by kind, with a fixed message and the
Cloudflare error code and HTTP status in the ErrorInfo metadata; throttling → RESOURCE_EXHAUSTED
with RetryInfo; the zone at its record quota → RESOURCE_EXHAUSTED with a QuotaFailure and no RetryInfo
(not retryable); 5xx, timeouts and nameserver trouble → UNAVAILABLE (retryable). Messages never
contain credentials (the client never puts them in).
"""

from __future__ import annotations

import logging

import grpc

from a4c.common.errors import (
    ErrorTranslation,
    QuotaViolation,
    StatusDetails,
    StatusTable,
    scrubbed_message,
    upstream_status,
)
from a4c.dns import cloudflare_errors as cf
from a4c.dns.propagation import NameserverLookupError
from a4c.dns.quota import ZoneFull
from a4c.dns.records import NotOwned

DOMAIN = "dns.a4c"
QUOTA_REASON = "CLOUDFLARE_RECORD_QUOTA_EXCEEDED"
log = logging.getLogger(__name__)

# Cloudflare failure kind -> (gRPC code, ErrorInfo reason)
_CLOUDFLARE: StatusTable = [
    (cf.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED, "CLOUDFLARE_RATE_LIMITED"),
    (cf.Unavailable, grpc.StatusCode.UNAVAILABLE, "CLOUDFLARE_UNAVAILABLE"),
    (cf.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, "CLOUDFLARE_TOKEN_REJECTED"),
    (cf.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, "CLOUDFLARE_PERMISSION_DENIED"),
    (cf.NotFound, grpc.StatusCode.NOT_FOUND, "CLOUDFLARE_NOT_FOUND"),
    (cf.Conflict, grpc.StatusCode.FAILED_PRECONDITION, "CLOUDFLARE_RECORD_CONFLICT"),
    # Reached only if a QuotaExceeded escapes records.py, which answers it as ZoneFull.
    (cf.QuotaExceeded, grpc.StatusCode.RESOURCE_EXHAUSTED, QUOTA_REASON),
    (cf.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT, "CLOUDFLARE_REJECTED_INPUT"),
]


def status_of(exc: Exception) -> StatusDetails | None:
    """The status a failure of this service stands for; None for one it does not know (a bug)."""
    if isinstance(exc, NotOwned):
        # The record is someone else's (or unmanaged): its id and content are not the caller's to see.
        reason = f"RECORD_{exc.reason}"
        log.info("refused: %s (record %s %s %s)", exc, exc.record.id, exc.record.type, exc.record.name)
        return StatusDetails(grpc.StatusCode.FAILED_PRECONDITION, scrubbed_message(reason), reason=reason)
    if isinstance(exc, ZoneFull):
        # A quota, not a rate limit: a QuotaFailure and no RetryInfo, so callers do not retry.
        log.warning("refused: %s", exc)
        metadata = {"record_quota": str(exc.quota)}
        if exc.used is not None:
            metadata["records_used"] = str(exc.used)
        if exc.cloudflare_code is not None:
            metadata |= {"cloudflare_code": str(exc.cloudflare_code), "http_status": "400"}
        return StatusDetails(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            str(exc),
            reason=QUOTA_REASON,
            metadata=metadata,
            quota_violations=(QuotaViolation(f"zone:{exc.zone}", exc.description),),
        )
    if isinstance(exc, NameserverLookupError):
        return StatusDetails(grpc.StatusCode.UNAVAILABLE, str(exc), reason="NAMESERVERS_UNKNOWN")
    if isinstance(exc, cf.CloudflareError):
        own = {"cloudflare_code": str(exc.code)} if exc.code is not None else {}
        return upstream_status(exc, _CLOUDFLARE, unexpected="CLOUDFLARE_UNEXPECTED", metadata=own)
    return None


# The decorator every DnsService method wears.
grpc_errors = ErrorTranslation(status_of, domain=DOMAIN).unary
