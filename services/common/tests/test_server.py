"""The service kit's server: health, reflection, auth and rich errors over a real socket."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.config import ServerSettings
from a4c.common.errors import details_of
from a4c.common.server import GrpcServer, create_server

from .conftest import PRINCIPALS, TOKEN, all_bindings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_health_reports_serving_then_not_serving_while_draining(server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = await health.Check(health_pb2.HealthCheckRequest(service="a4c.api.dns.v1.DnsService"))
        assert reply.status == SERVING

        watch = health.Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == SERVING
        await server.drain()
        assert (await watch.read()).status == NOT_SERVING
        reply = await health.Check(health_pb2.HealthCheckRequest(service="a4c.api.dns.v1.DnsService"))
        assert reply.status == NOT_SERVING


async def test_stop_lets_an_open_health_watch_see_not_serving() -> None:
    running = create_server(ServerSettings(host="127.0.0.1", port=0, principals=PRINCIPALS), all_bindings())
    await running.start()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == SERVING
        stopping = asyncio.create_task(running.stop(1))
        assert (await watch.read()).status == NOT_SERVING
        await stopping


async def test_reflection_lists_all_three_services(server: GrpcServer) -> None:
    def list_services() -> list[str]:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            return list(ProtoReflectionDescriptorDatabase(channel).get_services())

    # The reflection client is synchronous; it must not block the loop that runs the aio server.
    services = await asyncio.to_thread(list_services)

    assert {
        "a4c.api.dns.v1.DnsService",
        "a4c.api.identity.v1.IdentityService",
        "a4c.api.provisioning.v1.ProvisioningService",
        "grpc.health.v1.Health",
    } <= set(services)


@pytest.mark.parametrize(
    ("metadata", "problem"),
    [
        ((), "missing bearer token"),
        ((("authorization", "Bearer wrong-token-0123456789"),), "invalid bearer token"),
        ((("authorization", f"Basic {TOKEN}"),), "missing bearer token"),
        ((("authorization", f"Bearer {TOKEN}x"),), "invalid bearer token"),
    ],
)
async def test_calls_without_the_right_token_are_unauthenticated(
    server: GrpcServer, metadata: tuple[tuple[str, str], ...], problem: str
) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = dns_pb2_grpc.DnsServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetRecord(dns_pb2.GetRecordRequest(id="abc"), metadata=metadata)
    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert caught.value.details() == problem


async def test_the_right_token_reaches_the_servicer(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN) as channel:
        reply = await dns_pb2_grpc.DnsServiceStub(channel).GetRecord(dns_pb2.GetRecordRequest(id="abc"))
        assert reply.record.id == "abc"
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await dns_pb2_grpc.DnsServiceStub(channel).DeleteRecord(dns_pb2.DeleteRecordRequest(id="abc"))
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_rich_errors_carry_field_violations(server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await dns_pb2_grpc.DnsServiceStub(channel).GetRecord(dns_pb2.GetRecordRequest())
    details = details_of(caught.value)
    assert details.code == grpc.StatusCode.INVALID_ARGUMENT
    assert details.fields == {"id"}
    assert details.field_violations[0].description == "is required"


async def test_binding_a_taken_port_fails_naming_the_address(server: GrpcServer) -> None:
    settings = ServerSettings(host="127.0.0.1", port=server.port, principals=PRINCIPALS)
    with pytest.raises(OSError, match=f"127.0.0.1:{server.port}"):
        create_server(settings, all_bindings())


async def test_open_channel_authenticates_streaming_calls_too(server: GrpcServer) -> None:
    request = provisioning_pb2.WatchBootstrapRequest(slug="acme")
    async with open_channel(f"127.0.0.1:{server.port}", token=TOKEN) as channel:
        stream = provisioning_pb2_grpc.ProvisioningServiceStub(channel).WatchBootstrap(request)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stream.read()
    # Past authentication: the generated base servicer answers UNIMPLEMENTED.
    assert caught.value.code() == grpc.StatusCode.UNIMPLEMENTED
