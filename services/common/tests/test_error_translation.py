"""The kit's error decorator: a service's mapping decides the status; what it does not know is INTERNAL."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2, status_pb2

from a4c.common.errors import ErrorTranslation, StatusDetails


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
