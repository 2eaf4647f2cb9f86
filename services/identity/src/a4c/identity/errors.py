"""The one translation from the identity service's failures to gRPC status (google.rpc details).

Bad input → INVALID_ARGUMENT with field violations; an org name (or id) taken by another org →
ALREADY_EXISTS; an org A4C did not create → NOT_FOUND, as for one that does not exist; a user in
another org → FAILED_PRECONDITION; Zitadel's answers by kind (InvalidArgument/FailedPrecondition as
such, 409 → ALREADY_EXISTS, 401/403 → UNAUTHENTICATED/PERMISSION_DENIED, 429 → RESOURCE_EXHAUSTED
with RetryInfo, 5xx and timeouts → UNAVAILABLE), each with Zitadel's HTTP status in the ErrorInfo
metadata and a fixed message per kind (Zitadel's own message and error id are logged, not returned).
Messages never hold credentials.
"""

from __future__ import annotations

import logging

import grpc

from a4c.common.errors import (
    ErrorTranslation,
    StatusDetails,
    StatusTable,
    scrubbed_message,
    status_in,
    upstream_status,
)
from a4c.identity import operations as ops
from a4c.identity import zitadel_errors as z

DOMAIN = "identity.a4c"
log = logging.getLogger(__name__)

# Our operations' own outcomes first, then Zitadel's answers by kind.
_STATUS: StatusTable = [
    (ops.AdminUsernameTaken, grpc.StatusCode.ALREADY_EXISTS, "ADMIN_USERNAME_TAKEN"),
    (ops.OrganizationIdTaken, grpc.StatusCode.ALREADY_EXISTS, "ORGANIZATION_ID_TAKEN"),
    (ops.OrganizationConflict, grpc.StatusCode.ALREADY_EXISTS, "ORGANIZATION_ALREADY_EXISTS"),
    (ops.ObjectNotFound, grpc.StatusCode.NOT_FOUND, "NOT_FOUND"),
    (ops.WrongOrganization, grpc.StatusCode.FAILED_PRECONDITION, "USER_IN_ANOTHER_ORGANIZATION"),
    (ops.NotReadable, grpc.StatusCode.UNAVAILABLE, "ZITADEL_NOT_YET_CONSISTENT"),
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


def status_of(exc: Exception) -> StatusDetails | None:
    """The status a failure of this service stands for; None for one it does not know (a bug).

    Callers get a fixed message per kind and the HTTP status: Zitadel's messages, paths and error
    ids stay in the log (they name Zitadel internals and objects the caller does not own)."""
    if isinstance(exc, ops.OperationError):
        code, reason = status_in(_STATUS, exc, unexpected=_UNEXPECTED)
        cause = {"http_status": str(exc.cause.status or 0)} if exc.cause is not None else {}
        log.info("identity operation refused (%s): %s (cause: %s)", reason, exc, exc.cause)
        return StatusDetails(code, scrubbed_message(reason), reason=reason, metadata=cause)
    if isinstance(exc, z.ZitadelError):
        return upstream_status(exc, _STATUS, unexpected=_UNEXPECTED, metadata={})
    return None


_UNEXPECTED = "ZITADEL_UNEXPECTED"

# The decorator every IdentityService method wears.
grpc_errors = ErrorTranslation(status_of, domain=DOMAIN).unary
