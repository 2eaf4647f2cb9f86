"""The CLI repeats a call while the service is UNAVAILABLE (every call is idempotent), nothing else."""

from __future__ import annotations

import argparse
import io
from typing import Any

import grpc
import pytest

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.provisioning.cli_commands import Commands


def failure(code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details="injected")


class Stub:
    """GetBootstrap fails with ``errors`` in turn, then answers."""

    def __init__(self, *errors: grpc.aio.AioRpcError) -> None:
        self.calls = 0
        self._errors = list(errors)

    async def GetBootstrap(self, request: pb.GetBootstrapRequest, timeout: float) -> pb.GetBootstrapResponse:
        self.calls += 1
        if self._errors:
            raise self._errors.pop(0)
        return pb.GetBootstrapResponse(bootstrap=pb.Bootstrap(organization_id="x"))


def commands(stub: Stub) -> Commands:
    fake: Any = stub
    return Commands(fake, io.StringIO(), argparse.Namespace(json=True, timeout=5.0))


async def test_an_unavailable_service_is_asked_again() -> None:
    stub = Stub(failure(grpc.StatusCode.UNAVAILABLE))

    assert await commands(stub).status(argparse.Namespace(organization="acme")) == 0
    assert stub.calls == 2


async def test_other_failures_are_not_repeated() -> None:
    stub = Stub(failure(grpc.StatusCode.NOT_FOUND))

    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await commands(stub).status(argparse.Namespace(organization="acme"))
    assert (raised.value.code(), stub.calls) == (grpc.StatusCode.NOT_FOUND, 1)
