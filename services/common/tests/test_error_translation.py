"""The kit's error decorator: a service's mapping decides the status; what it does not know is INTERNAL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from a4c.common.errors import (
    ErrorTranslation,
    QuotaViolation,
    StatusDetails,
    StatusTable,
    details_of,
    rich_status,
    upstream_status,
)
from a4c.common.upstream import UpstreamError


class Missing(Exception):
    pass


def status_of(error: Exception) -> StatusDetails | None:
    if isinstance(error, Missing):
        return StatusDetails(grpc.StatusCode.NOT_FOUND, str(error), reason="NO_SUCH_THING")
    return None


errors = ErrorTranslation(status_of, domain="test.a4c")


class Context:
    """Records the status a handler aborts with, and raises as grpc does."""

    status: grpc.Status | None = None

    async def abort_with_status(self, status: grpc.Status) -> None:
        self.status = status
        raise grpc.aio.AbortError()


class Servicer:
    @errors.unary
    async def Get(self, request: Exception | None, context: Any) -> str:
        if request is not None:
            raise request
        return "ok"

    @errors.stream
    async def Watch(self, request: Exception, context: Any) -> AsyncIterator[str]:
        yield "first"
        raise request


def error_info(status: grpc.Status) -> error_details_pb2.ErrorInfo:
    (details,) = [v for k, v in status.trailing_metadata if k == "grpc-status-details-bin"]
    info = error_details_pb2.ErrorInfo()
    status_pb2.Status.FromString(details).details[0].Unpack(info)
    return info


async def test_a_mapped_error_ends_the_call_with_its_status() -> None:
    context = Context()

    with pytest.raises(grpc.aio.AbortError):
        await Servicer().Get(Missing("no thing 7"), context)

    assert context.status is not None
    assert (context.status.code, context.status.details) == (grpc.StatusCode.NOT_FOUND, "no thing 7")
    assert (error_info(context.status).reason, error_info(context.status).domain) == (
        "NO_SUCH_THING",
        "test.a4c",
    )


async def test_an_unknown_error_is_internal_logged_and_not_echoed(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    context = Context()

    with pytest.raises(grpc.aio.AbortError):
        await Servicer().Get(KeyError("secret-ish detail"), context)

    assert context.status is not None
    assert (context.status.code, context.status.details) == (grpc.StatusCode.INTERNAL, "internal error")
    assert "KeyError" in caplog.text


async def test_success_passes_through() -> None:
    assert await Servicer().Get(None, Context()) == "ok"


async def test_a_stream_keeps_what_it_sent_then_ends_with_the_status() -> None:
    context, seen = Context(), []

    async def watch() -> None:
        async for item in Servicer().Watch(Missing("gone"), context):
            seen.append(item)

    with pytest.raises(grpc.aio.AbortError):
        await watch()

    assert seen == ["first"]
    assert context.status is not None
    assert context.status.code == grpc.StatusCode.NOT_FOUND


class UpstreamNotFound(UpstreamError):
    pass


class UpstreamDown(UpstreamError):
    retryable = True


TABLE: StatusTable = [
    (UpstreamNotFound, grpc.StatusCode.NOT_FOUND, "ZITADEL_NOT_FOUND"),
    (UpstreamDown, grpc.StatusCode.UNAVAILABLE, "ZITADEL_UNAVAILABLE"),
]
# What upstreams put in their messages: their paths, error ids and other owners' objects.
LEAKY = "POST /management/v1/orgs/2851/users: COMMAND-x8Jq2 user bob@other-tenant.example exists"


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (UpstreamNotFound(LEAKY, status=404), grpc.StatusCode.NOT_FOUND, "zitadel not found"),
        (UpstreamDown(LEAKY, status=503, retry_after=2), grpc.StatusCode.UNAVAILABLE, "zitadel unavailable"),
        (UpstreamError(LEAKY, status=418), grpc.StatusCode.INTERNAL, "zitadel unexpected"),
    ],
)
def test_upstream_errors_reach_the_caller_scrubbed_and_the_log_whole(
    caplog: pytest.LogCaptureFixture, error: UpstreamError, code: grpc.StatusCode, message: str
) -> None:
    with caplog.at_level(logging.INFO):
        status = upstream_status(error, TABLE, unexpected="ZITADEL_UNEXPECTED", metadata={"code": "5"})
    assert (status.code, status.message) == (code, message)
    assert status.metadata == {"http_status": str(error.status), "code": "5"}
    assert "COMMAND-x8Jq2" not in repr(status)
    assert "/management/" not in repr(status)
    assert LEAKY in caplog.text  # the operator keeps the detail


class _Failed:
    """What a client sees of a failed call: just enough of grpc.RpcError for details_of."""

    def __init__(self, status: grpc.Status) -> None:
        self._status = status

    def code(self) -> grpc.StatusCode:
        return self._status.code

    def details(self) -> str:
        return self._status.details

    def trailing_metadata(self) -> Any:
        return self._status.trailing_metadata


def test_a_quota_no_retry_frees_reads_back_apart_from_throttling() -> None:
    quota = QuotaViolation("zone:example.com", "200 of 200 DNS records")
    full = rich_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED, "zone full", reason="FULL", quota_violations=[quota]
    )
    throttled = rich_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "slow down", reason="RATE", retry_delay=2.0)

    read_full, read_throttled = details_of(_Failed(full)), details_of(_Failed(throttled))  # type: ignore[arg-type]

    assert read_full.quota_violations == (quota,)
    assert (read_full.quota_exhausted, read_full.retry_delay, read_full.reason) == (True, None, "FULL")
    assert (read_throttled.quota_exhausted, read_throttled.retry_delay) == (False, 2.0)
