"""gRPC status → Temporal retry decision: the one place activities translate service errors.

Codes that mean "this request will never succeed as sent" stop retries (non-retryable
ApplicationError whose type is the code name, so workflows can tell them apart); codes that mean
"try again later" are left to the activity's retry policy, honouring a server's RetryInfo delay.
RESOURCE_EXHAUSTED is both, told apart as the kit says (a4c.common.errors): with RetryInfo a rate
limit (retried after it), with a QuotaFailure and no RetryInfo a quota no retry frees (e.g. the DNS
zone holds its record quota): not retried, so the subdomain fails at once with the service's message.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TypeVar

import grpc
from temporalio import activity
from temporalio.exceptions import ApplicationError

from a4c.common.errors import details_of

NON_RETRYABLE = frozenset(
    {
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.ALREADY_EXISTS,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.UNIMPLEMENTED,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)

Req = TypeVar("Req")
Resp = TypeVar("Resp")

# Our own reply and Temporal's bookkeeping need a moment inside the activity's start-to-close.
_DEADLINE_MARGIN = 0.5
_DEFAULT_CALL_TIMEOUT = 10.0


def call_timeout() -> float:
    """Per-call gRPC deadline: shorter than this activity attempt's start-to-close timeout."""
    limit = activity.info().start_to_close_timeout
    if limit is None:
        return _DEFAULT_CALL_TIMEOUT
    return max(limit.total_seconds() - _DEADLINE_MARGIN, 0.1)


def to_application_error(error: grpc.aio.AioRpcError) -> ApplicationError:
    details = details_of(error)
    code = details.code
    # The type is the code: str(error), what workflows record, reads "RESOURCE_EXHAUSTED: <message>".
    message = details.message
    if code in NON_RETRYABLE or details.quota_exhausted:
        return ApplicationError(message, details.reason or "", type=code.name, non_retryable=True)
    delay = timedelta(seconds=details.retry_delay) if details.retry_delay else None
    return ApplicationError(message, details.reason or "", type=code.name, next_retry_delay=delay)


async def unary(call: grpc.aio.UnaryUnaryMultiCallable[Req, Resp], request: Req) -> Resp:
    """Make one unary gRPC call with the attempt's deadline, translating a failure for Temporal."""
    try:
        return await call(request, timeout=call_timeout())
    except grpc.aio.AioRpcError as error:
        raise to_application_error(error) from None
