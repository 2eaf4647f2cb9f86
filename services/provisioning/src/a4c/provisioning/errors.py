"""The service's own errors and their one mapping to gRPC status codes.

Use-case code raises these (and lets event-store and Temporal errors through); `grpc_errors` wraps a
servicer method and turns whatever escapes into a status with details. Messages never carry secrets:
they name fields, ids and slugs, never tokens or connection strings.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, TypeVar

import grpc
from temporalio.service import RPCError, RPCStatusCode

from a4c.common.errors import FieldViolation, abort
from a4c.eventstore import DatabaseUnavailable, EventStoreError
from a4c.eventstore import InvalidArgument as StoreInvalidArgument
from a4c.eventstore import NotFound as StoreNotFound

log = logging.getLogger(__name__)

DOMAIN = "provisioning.a4c"
R = TypeVar("R")


class ProvisioningError(Exception):
    """Base of the errors the use cases raise on purpose."""


class InvalidRequest(ProvisioningError):
    """Bad input: one violation per bad field; nothing has been written."""

    def __init__(self, violations: Sequence[FieldViolation]) -> None:
        super().__init__("; ".join(f"{v.field}: {v.description}" for v in violations))
        self.violations = tuple(violations)


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


def _status_of(error: BaseException) -> tuple[grpc.StatusCode, str, dict[str, Any]]:
    if isinstance(error, InvalidRequest):
        return grpc.StatusCode.INVALID_ARGUMENT, "invalid request", {"field_violations": error.violations}
    if isinstance(error, AlreadyExists):
        details = {"field_violations": [error.violation], "reason": error.reason}
        return grpc.StatusCode.ALREADY_EXISTS, str(error), details
    if isinstance(error, NotFound | StoreNotFound):
        return grpc.StatusCode.NOT_FOUND, str(error), {"reason": "NOT_FOUND"}
    if isinstance(error, FailedPrecondition):
        return grpc.StatusCode.FAILED_PRECONDITION, str(error), {"reason": error.reason}
    if isinstance(error, StoreInvalidArgument):
        # Only page tokens and sizes reach the store unchecked; the servicer names the field.
        violation = FieldViolation("page_token", str(error))
        return grpc.StatusCode.INVALID_ARGUMENT, "invalid request", {"field_violations": [violation]}
    if isinstance(error, Unavailable | DatabaseUnavailable):
        return (
            grpc.StatusCode.UNAVAILABLE,
            str(error),
            {"reason": "DEPENDENCY_UNAVAILABLE", "retry_delay": 1.0},
        )
    if isinstance(error, RPCError):
        return _temporal_status(error)
    if isinstance(error, TimeoutError):
        return grpc.StatusCode.DEADLINE_EXCEEDED, "a dependency did not answer in time", {}
    if isinstance(error, EventStoreError):
        log.error("event store error: %s", error)
        return grpc.StatusCode.INTERNAL, "event store error", {"reason": "EVENT_STORE"}
    log.exception("unexpected error", exc_info=error)
    return grpc.StatusCode.INTERNAL, "internal error", {}


def _temporal_status(error: RPCError) -> tuple[grpc.StatusCode, str, dict[str, Any]]:
    if error.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED):
        return (
            grpc.StatusCode.UNAVAILABLE,
            "Temporal is unavailable",
            {"reason": "TEMPORAL", "retry_delay": 1.0},
        )
    if error.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return grpc.StatusCode.DEADLINE_EXCEEDED, "Temporal did not answer in time", {"reason": "TEMPORAL"}
    log.error("Temporal error %s: %s", error.status.name, error.message)
    return grpc.StatusCode.INTERNAL, f"Temporal error {error.status.name}", {"reason": "TEMPORAL"}


async def _abort_for(context: grpc.aio.ServicerContext[Any, Any], error: BaseException) -> None:
    code, message, details = _status_of(error)
    await abort(context, code, message, domain=DOMAIN, **details)


def grpc_errors(
    method: Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[R]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[R]]:
    """Decorate a unary servicer method: escaping errors become rich statuses."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> R:
        try:
            return await method(self, request, context)
        except (asyncio.CancelledError, grpc.aio.AbortError):
            raise
        except Exception as error:
            await _abort_for(context, error)
            raise AssertionError("unreachable") from error  # abort always raises

    return wrapper


def grpc_stream_errors(
    method: Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[R]],
) -> Callable[[Any, Any, grpc.aio.ServicerContext[Any, Any]], AsyncIterator[R]]:
    """The same for a server-streaming method (an async generator)."""

    @functools.wraps(method)
    async def wrapper(
        self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[R]:
        try:
            async for item in method(self, request, context):
                yield item
        except (asyncio.CancelledError, grpc.aio.AbortError, GeneratorExit):
            raise
        except Exception as error:
            await _abort_for(context, error)

    return wrapper
