"""The one translation from the identity service's failures to gRPC status (google.rpc details).

Bad input → INVALID_ARGUMENT with field violations; an org name taken by another org →
ALREADY_EXISTS; a user in another org → FAILED_PRECONDITION; Zitadel's answers by kind
(InvalidArgument/FailedPrecondition as such, 409 → ALREADY_EXISTS, 401/403 → UNAUTHENTICATED/
PERMISSION_DENIED, 429 → RESOURCE_EXHAUSTED with RetryInfo, 5xx and timeouts → UNAVAILABLE), each
with Zitadel's error id and HTTP status in the ErrorInfo metadata. Messages never hold credentials
(the client never puts them in).
"""

from __future__ import annotations

import logging

import grpc

from a4c.common.errors import ErrorStatus, ErrorTranslation
from a4c.identity import operations as ops
from a4c.identity import zitadel_errors as z
from a4c.identity.validation import InvalidInput

log = logging.getLogger(__name__)

DOMAIN = "identity.a4c"

_ZITADEL: list[tuple[type[z.ZitadelError], grpc.StatusCode, str]] = [
    (z.RateLimited, grpc.StatusCode.RESOURCE_EXHAUSTED, "ZITADEL_RATE_LIMITED"),
    (z.Unavailable, grpc.StatusCode.UNAVAILABLE, "ZITADEL_UNAVAILABLE"),
    (z.Aborted, grpc.StatusCode.ABORTED, "ZITADEL_ABORTED"),
    (z.Unauthenticated, grpc.StatusCode.UNAUTHENTICATED, "ZITADEL_CREDENTIALS_REJECTED"),
    (z.PermissionDenied, grpc.StatusCode.PERMISSION_DENIED, "ZITADEL_PERMISSION_DENIED"),
    (z.NotFound, grpc.StatusCode.NOT_FOUND, "ZITADEL_NOT_FOUND"),
    (z.AlreadyExists, grpc.StatusCode.ALREADY_EXISTS, "ZITADEL_ALREADY_EXISTS"),
    (z.FailedPrecondition, grpc.StatusCode.FAILED_PRECONDITION, "ZITADEL_FAILED_PRECONDITION"),
    (z.InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT, "ZITADEL_INVALID_ARGUMENT"),
]
_OPERATIONS: list[tuple[type[ops.OperationError], grpc.StatusCode, str]] = [
    (ops.AdminUsernameTaken, grpc.StatusCode.ALREADY_EXISTS, "ADMIN_USERNAME_TAKEN"),
    (ops.OrganizationConflict, grpc.StatusCode.ALREADY_EXISTS, "ORGANIZATION_ALREADY_EXISTS"),
    (ops.ObjectNotFound, grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    (ops.WrongOrganization, grpc.StatusCode.FAILED_PRECONDITION, "USER_IN_ANOTHER_ORGANIZATION"),
    (ops.NotReadable, grpc.StatusCode.UNAVAILABLE, "ZITADEL_NOT_YET_CONSISTENT"),
]


def _metadata(error: z.ZitadelError | None) -> dict[str, str]:
    if error is None:
        return {}
    metadata = {"http_status": str(error.status or 0)}
    if error.error_id:
        metadata["zitadel_error_id"] = error.error_id
    return metadata


def status_of(exc: Exception) -> ErrorStatus | None:
    """The status a failure of this service stands for; None for one it does not know (a bug)."""
    if isinstance(exc, InvalidInput):
        return ErrorStatus(grpc.StatusCode.INVALID_ARGUMENT, "invalid request", tuple(exc.violations))
    if isinstance(exc, ops.OperationError):
        code, reason = next(((c, r) for kind, c, r in _OPERATIONS if isinstance(exc, kind)), _INTERNAL)
        return ErrorStatus(code, str(exc), reason=reason, metadata=_metadata(exc.cause))
    if isinstance(exc, z.ZitadelError):
        return _zitadel_status(exc)
    return None


def _zitadel_status(exc: z.ZitadelError) -> ErrorStatus:
    code, reason = next(((c, r) for kind, c, r in _ZITADEL if isinstance(exc, kind)), _INTERNAL)
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.INTERNAL):
        log.warning("zitadel call failed: %s", exc)
    if code == grpc.StatusCode.UNAUTHENTICATED:
        log.error("zitadel rejected the service's credentials: %s", exc)
    retry_delay = exc.retry_after if isinstance(exc, z.RateLimited) else None
    return ErrorStatus(code, str(exc), reason=reason, metadata=_metadata(exc), retry_delay=retry_delay)


_INTERNAL = (grpc.StatusCode.INTERNAL, "ZITADEL_UNEXPECTED")

# The decorator every IdentityService method wears.
grpc_errors = ErrorTranslation(status_of, domain=DOMAIN).unary
