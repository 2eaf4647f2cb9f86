"""The one translation from the DNS service's failures to gRPC status (with google.rpc details).

Invalid input → INVALID_ARGUMENT with field violations; a record that is not ours → FAILED_PRECONDITION
naming it; Cloudflare's answers by kind, with the Cloudflare error code and HTTP status in the
ErrorInfo metadata; throttling → RESOURCE_EXHAUSTED with RetryInfo; 5xx, timeouts and nameserver
trouble → UNAVAILABLE (retryable). Messages never contain credentials (the client never puts them in).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc

from a4c.common.errors import abort
from a4c.dns import cloudflare_errors as cf
from a4c.dns.propagation import NameserverLookupError
from a4c.dns.records import NotOwned
from a4c.dns.validation import InvalidInput

logger = logging.getLogger(__name__)

DOMAIN = "dns.a4c"
T = TypeVar("T")
Context = grpc.aio.ServicerContext[Any, Any]

# Cloudflare failure kind -> (gRPC code, ErrorInfo reason)
_CLOUDFLARE: list[tuple[type[cf.CloudflareError], grpc.StatusCode, str]] = [
    (cf.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED, "CLOUDFLARE_RATE_LIMITED"),
    (cf.Unavailable, grpc.StatusCode.UNAVAILABLE, "CLOUDFLARE_UNAVAILABLE"),
    (cf.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, "CLOUDFLARE_TOKEN_REJECTED"),
    (cf.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, "CLOUDFLARE_PERMISSION_DENIED"),
    (cf.NotFound, grpc.StatusCode.NOT_FOUND, "CLOUDFLARE_NOT_FOUND"),
    (cf.Conflict, grpc.StatusCode.FAILED_PRECONDITION, "CLOUDFLARE_RECORD_CONFLICT"),
    (cf.QuotaExceeded, grpc.StatusCode.FAILED_PRECONDITION, "CLOUDFLARE_RECORD_QUOTA_EXCEEDED"),
    (cf.InvalidRequest, grpc.StatusCode.INVALID_ARGUMENT, "CLOUDFLARE_REJECTED_INPUT"),
]


async def translated(context: Context, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call``; end the RPC with the matching rich status when it fails."""
    try:
        return await call()
    except InvalidInput as exc:
        await abort(
            context, grpc.StatusCode.INVALID_ARGUMENT, "invalid request", field_violations=exc.violations
        )
    except NotOwned as exc:
        metadata = {
            "record_id": exc.record.id,
            "record_type": exc.record.type,
            "record_name": exc.record.name,
        }
        await abort(
            context,
            grpc.StatusCode.FAILED_PRECONDITION,
            str(exc),
            reason=f"RECORD_{exc.reason}",
            domain=DOMAIN,
            metadata=metadata,
        )
    except NameserverLookupError as exc:
        await abort(
            context, grpc.StatusCode.UNAVAILABLE, str(exc), reason="NAMESERVERS_UNKNOWN", domain=DOMAIN
        )
    except cf.CloudflareError as exc:
        code, reason = _cloudflare_status(exc)
        if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED):
            logger.warning("cloudflare call failed: %s", exc)
        metadata = {"http_status": str(exc.status or 0)}
        if exc.code is not None:
            metadata["cloudflare_code"] = str(exc.code)
        retry_delay = exc.retry_after if isinstance(exc, cf.RateLimited) else None
        await abort(
            context, code, str(exc), reason=reason, domain=DOMAIN, metadata=metadata, retry_delay=retry_delay
        )


def _cloudflare_status(exc: cf.CloudflareError) -> tuple[grpc.StatusCode, str]:
    for kind, code, reason in _CLOUDFLARE:
        if isinstance(exc, kind):
            return code, reason
    return grpc.StatusCode.INTERNAL, "CLOUDFLARE_UNEXPECTED"
