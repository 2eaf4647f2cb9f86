"""The service's own errors and their one mapping to gRPC status codes.

Use-case code raises these (and lets event-store and Temporal errors through); `status_of` is the
mapping, and `grpc_errors` / `grpc_stream_errors` (the kit's ErrorTranslation) wrap a servicer
method and turn whatever escapes into a status with details. Messages never carry secrets:
they name fields, ids and slugs, never tokens or connection strings.
"""

from __future__ import annotations

import logging

import grpc
from temporalio.service import RPCError, RPCStatusCode

from a4c.common.errors import INVALID_REQUEST, ErrorTranslation, FieldViolation, StatusDetails
from a4c.eventstore import DatabaseUnavailable, EventStoreError
from a4c.eventstore import InvalidArgument as StoreInvalidArgument
from a4c.eventstore import NotFound as StoreNotFound

log = logging.getLogger(__name__)

DOMAIN = "provisioning.a4c"


class ProvisioningError(Exception):
    """Base of the errors the use cases raise on purpose."""


class NotFound(ProvisioningError):
    """No such organization."""


class AlreadyExists(ProvisioningError):
    """The slug (or request id) belongs to another organization or request."""

    def __init__(self, field: str, description: str, reason: str) -> None:
        super().__init__(f"{field}: {description}")
        self.violation = FieldViolation(field, description)
        self.reason = reason


class FailedPrecondition(ProvisioningError):
    """The organization is not in a state that allows the operation."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class Unavailable(ProvisioningError):
    """A dependency (Temporal, the database) cannot serve now; retrying later may help."""


def status_of(error: Exception) -> StatusDetails | None:
    """The status a failure stands for; None for one nobody raises on purpose (a bug)."""
    code = grpc.StatusCode
    if isinstance(error, AlreadyExists):
        return StatusDetails(code.ALREADY_EXISTS, str(error), (error.violation,), reason=error.reason)
    if isinstance(error, NotFound | StoreNotFound):
        return StatusDetails(code.NOT_FOUND, str(error), reason="NOT_FOUND")
    if isinstance(error, FailedPrecondition):
        return StatusDetails(code.FAILED_PRECONDITION, str(error), reason=error.reason)
    if isinstance(error, StoreInvalidArgument):
        # Page tokens are decoded here (a4c.common.paging); only a page size can reach the store unchecked.
        violation = FieldViolation("page_size", str(error))
        return StatusDetails(code.INVALID_ARGUMENT, INVALID_REQUEST, (violation,))
    if isinstance(error, Unavailable | DatabaseUnavailable):
        return StatusDetails(code.UNAVAILABLE, str(error), reason="DEPENDENCY_UNAVAILABLE", retry_delay=1.0)
    if isinstance(error, RPCError):
        return _temporal_status(error)
    if isinstance(error, TimeoutError):
        return StatusDetails(code.DEADLINE_EXCEEDED, "a dependency did not answer in time")
    if isinstance(error, EventStoreError):
        log.error("event store error: %s", error)
        return StatusDetails(code.INTERNAL, "event store error", reason="EVENT_STORE")
    return None


def _temporal_status(error: RPCError) -> StatusDetails:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED):
        return StatusDetails(
            grpc.StatusCode.UNAVAILABLE, "Temporal is unavailable", reason="TEMPORAL", retry_delay=1.0
        )
    if error.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return StatusDetails(
            grpc.StatusCode.DEADLINE_EXCEEDED, "Temporal did not answer in time", reason="TEMPORAL"
        )
    log.error("Temporal error %s: %s", error.status.name, error.message)
    return StatusDetails(grpc.StatusCode.INTERNAL, f"Temporal error {error.status.name}", reason="TEMPORAL")


_translation = ErrorTranslation(status_of, domain=DOMAIN)
# The decorators the servicer's unary and server-streaming methods wear.
grpc_errors = _translation.unary
grpc_stream_errors = _translation.stream
