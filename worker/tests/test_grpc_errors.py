"""gRPC status codes map to Temporal's retry decision: the permanent codes listed here stop retries,
the transient ones are left to the retry policy."""

from __future__ import annotations

from datetime import timedelta

import grpc
import pytest

from a4c.common.errors import QuotaViolation, rich_status
from a4c.worker.grpc_errors import to_application_error


def failed_call(status: grpc.Status) -> grpc.aio.AioRpcError:
    metadata = grpc.aio.Metadata(*status.trailing_metadata)
    return grpc.aio.AioRpcError(status.code, grpc.aio.Metadata(), metadata, details=status.details)


@pytest.mark.parametrize(
    "code",
    [
        "INVALID_ARGUMENT",
        "NOT_FOUND",
        "ALREADY_EXISTS",
        "FAILED_PRECONDITION",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
    ],
)
def test_permanent_codes_stop_retries(code: str) -> None:
    error = to_application_error(failed_call(rich_status(grpc.StatusCode[code], "no", reason="UPSTREAM")))
    assert error.non_retryable
    assert error.type == code
    assert "no" in error.message


@pytest.mark.parametrize(
    "code", ["UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "INTERNAL"]
)
def test_transient_codes_are_left_to_the_retry_policy(code: str) -> None:
    error = to_application_error(failed_call(rich_status(grpc.StatusCode[code], "later")))
    assert not error.non_retryable
    assert error.type == code


def test_retry_info_sets_the_next_retry_delay() -> None:
    status = rich_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", retry_delay=2.5)
    assert to_application_error(failed_call(status)).next_retry_delay == timedelta(seconds=2.5)


def test_a_quota_no_retry_frees_stops_retries_while_a_rate_limit_does_not() -> None:
    quota = QuotaViolation("zone:example.com", "DNS records: 3 of 3")
    full = rich_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "zone full", reason="QUOTA", quota_violations=[quota]
    )
    throttled = rich_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", reason="RATE", retry_delay=3)

    refused, limited = to_application_error(failed_call(full)), to_application_error(failed_call(throttled))

    assert (refused.non_retryable, refused.type) == (True, "RESOURCE_EXHAUSTED")
    assert str(refused) == "RESOURCE_EXHAUSTED: zone full"  # what the workflow records: the code once
    assert (limited.non_retryable, limited.next_retry_delay) == (False, timedelta(seconds=3))
