"""Principals, scopes and limits over a real socket: who may call what, how often, how many at once."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from a4c.common.auth import Credential, MethodScopes, current_principal
from a4c.common.client import open_channel
from a4c.common.config import ServerSettings, SettingsError
from a4c.common.errors import details_of
from a4c.common.limits import RateLimit, StreamCap
from a4c.common.logging import configure_logging
from a4c.common.server import GrpcServer, ServiceBinding, create_server

from .conftest import DNS, PRINCIPALS, PROVISIONING, READER_TOKEN, TOKEN, all_bindings, every_method

Context = grpc.aio.ServicerContext[object, object]


async def test_a_principal_without_the_methods_scope_is_denied_naming_the_scope(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", token=READER_TOKEN) as channel:
        stub = dns_pb2_grpc.DnsServiceStub(channel)
        assert (await stub.GetRecord(dns_pb2.GetRecordRequest(id="abc"))).record.id == "abc"  # read
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.DeleteRecord(dns_pb2.DeleteRecordRequest(id="abc"))  # write
    assert caught.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert caught.value.details() == "missing scope 'write'"


async def test_health_stays_open_without_credentials(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_method_without_a_declared_scope_refuses_to_start() -> None:
    bindings = all_bindings()
    partial = MethodScopes({"GetRecord": "read"})
    bindings[0] = ServiceBinding(bindings[0].name, bindings[0].add, bindings[0].servicer, scopes=partial)
    with pytest.raises(SettingsError) as caught:
        create_server(ServerSettings(host="127.0.0.1", port=0, principals=PRINCIPALS), bindings)
    assert caught.value.key == "A4C_AUTH_PRINCIPALS"
    assert "CreateRecord" in str(caught.value)
    assert "fail closed" in str(caught.value)


def test_a_configured_scope_no_method_needs_refuses_to_start_naming_the_setting() -> None:
    typo = (Credential.of("worker", ("read", "wirte"), TOKEN),)
    with pytest.raises(SettingsError) as caught:
        create_server(ServerSettings(host="127.0.0.1", port=0, principals=typo), all_bindings())
    assert caught.value.key == "A4C_AUTH_PRINCIPALS"
    assert "'worker': unknown scope wirte" in str(caught.value)


class Recorder(provisioning_pb2_grpc.ProvisioningServiceServicer):
    """Answers with the caller's principal name; WatchBootstrap stays open until released."""

    def __init__(self) -> None:
        self.release = asyncio.Event()

    async def BootstrapOrganization(
        self, request: provisioning_pb2.BootstrapOrganizationRequest, context: Context
    ) -> provisioning_pb2.BootstrapOrganizationResponse:
        return provisioning_pb2.BootstrapOrganizationResponse(organization_id=current_principal().name)

    async def WatchBootstrap(
        self, request: provisioning_pb2.WatchBootstrapRequest, context: Context
    ) -> AsyncIterator[provisioning_pb2.WatchBootstrapResponse]:
        yield provisioning_pb2.WatchBootstrapResponse()
        await self.release.wait()


@pytest.fixture
async def limited() -> AsyncIterator[tuple[GrpcServer, Recorder, list[float]]]:
    now = [1000.0]
    recorder = Recorder()
    binding = ServiceBinding(
        PROVISIONING,
        provisioning_pb2_grpc.add_ProvisioningServiceServicer_to_server,
        recorder,
        scopes=every_method(PROVISIONING, "read"),
        limits={
            "BootstrapOrganization": RateLimit(per_minute=6, burst=2, clock=lambda: now[0]),
            "WatchBootstrap": StreamCap(per_principal=2, per_server=3),
        },
    )
    readers = (Credential.of("tester", ("read",), TOKEN), Credential.of("reader", ("read",), READER_TOKEN))
    running = create_server(ServerSettings(host="127.0.0.1", port=0, principals=readers), [binding])
    await running.start()
    yield running, recorder, now
    recorder.release.set()
    await running.stop(0)


async def test_servicers_see_the_callers_principal(limited: tuple[GrpcServer, Recorder, list[float]]) -> None:
    server, _, _ = limited
    for token, name in ((TOKEN, "tester"), (READER_TOKEN, "reader")):
        async with open_channel(f"127.0.0.1:{server.port}", token=token) as channel:
            stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
            reply = await stub.BootstrapOrganization(provisioning_pb2.BootstrapOrganizationRequest())
            assert reply.organization_id == name


async def test_the_rate_limit_is_per_principal_with_retry_info(
    limited: tuple[GrpcServer, Recorder, list[float]],
) -> None:
    server, _, now = limited
    async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN) as channel:
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
        for _ in range(2):  # the burst
            await stub.BootstrapOrganization(provisioning_pb2.BootstrapOrganizationRequest())
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.BootstrapOrganization(provisioning_pb2.BootstrapOrganizationRequest())
        details = details_of(caught.value)
        assert (details.code, details.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "RATE_LIMITED")
        assert details.retry_delay == pytest.approx(10.0)  # 6 a minute: the next token in 10 s
        now[0] += 10.0
        await stub.BootstrapOrganization(provisioning_pb2.BootstrapOrganizationRequest())
    async with open_channel(f"127.0.0.1:{server.port}", token=READER_TOKEN) as other:
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(other)
        await stub.BootstrapOrganization(provisioning_pb2.BootstrapOrganizationRequest())  # its own bucket


async def test_concurrent_streams_are_capped_per_principal_and_per_server(
    limited: tuple[GrpcServer, Recorder, list[float]],
) -> None:
    server, recorder, _ = limited
    request = provisioning_pb2.WatchBootstrapRequest(slug="acme")
    async with (
        open_channel(f"127.0.0.1:{server.port}", token=TOKEN) as mine,
        open_channel(f"127.0.0.1:{server.port}", token=READER_TOKEN) as theirs,
    ):
        my_stub = provisioning_pb2_grpc.ProvisioningServiceStub(mine)
        their_stub = provisioning_pb2_grpc.ProvisioningServiceStub(theirs)
        open_streams = [my_stub.WatchBootstrap(request), my_stub.WatchBootstrap(request)]
        for stream in open_streams:
            await stream.read()
        with pytest.raises(grpc.aio.AioRpcError) as per_principal:
            await my_stub.WatchBootstrap(request).read()
        assert details_of(per_principal.value).code == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "per principal" in details_of(per_principal.value).message

        third = their_stub.WatchBootstrap(request)
        await third.read()  # another principal still gets one: the server has room for 3
        with pytest.raises(grpc.aio.AioRpcError) as per_server:
            await their_stub.WatchBootstrap(request).read()
        assert "server's limit" in details_of(per_server.value).message

        open_streams[0].cancel()
        recorder.release.set()
        for stream in (open_streams[1], third):
            assert await stream.read() == grpc.aio.EOF
        # Ended streams give their slots back.
        again = my_stub.WatchBootstrap(request)
        await again.read()
        assert await again.read() == grpc.aio.EOF


async def test_every_access_log_line_names_the_principal() -> None:
    stream = io.StringIO()
    configure_logging("INFO", secrets=[TOKEN, READER_TOKEN], stream=stream)
    running = create_server(ServerSettings(host="127.0.0.1", port=0, principals=PRINCIPALS), all_bindings())
    await running.start()
    try:
        for token in (TOKEN, READER_TOKEN, "unknown-token-0123456789"):
            async with open_channel(f"127.0.0.1:{running.port}", token=token) as channel:
                with pytest.raises(grpc.aio.AioRpcError):
                    await dns_pb2_grpc.DnsServiceStub(channel).DeleteRecord(dns_pb2.DeleteRecordRequest())
    finally:
        await running.stop(0)
        logging.getLogger().handlers.clear()
    access = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [e for e in access if e["logger"] == "a4c.access"]
    assert [(e["principal"], e["grpc_code"]) for e in access] == [
        ("tester", "UNIMPLEMENTED"),
        ("reader", "PERMISSION_DENIED"),
        ("-", "UNAUTHENTICATED"),
    ]
    assert all(e["principal"] in e["msg"] for e in access)


async def test_with_auth_off_calls_are_anonymous_and_still_limited() -> None:
    binding = ServiceBinding(
        DNS,
        dns_pb2_grpc.add_DnsServiceServicer_to_server,
        dns_pb2_grpc.DnsServiceServicer(),
        scopes=every_method(DNS, "read"),
        limits={"GetRecord": RateLimit(per_minute=1, burst=1)},
    )
    running = create_server(ServerSettings(host="127.0.0.1", port=0), [binding])
    await running.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = dns_pb2_grpc.DnsServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as first:
                await stub.GetRecord(dns_pb2.GetRecordRequest())
            assert first.value.code() == grpc.StatusCode.UNIMPLEMENTED  # admitted
            with pytest.raises(grpc.aio.AioRpcError) as second:
                await stub.GetRecord(dns_pb2.GetRecordRequest())
            assert second.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    finally:
        await running.stop(0)
