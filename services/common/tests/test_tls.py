"""TLS and mTLS from settings, with the plaintext health port the kubelet's probes use.

A client that trusts the CA (and, under mTLS, presents a certificate it signed) gets through; a plaintext
client on the main port does not; a plaintext probe on the health port sees the main server's status and
nothing else (no reflection, no business method).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trustme
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.config import ServerSettings
from a4c.common.server import GrpcServer, create_server

from .conftest import PRINCIPALS, TOKEN, all_bindings

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


@dataclass(frozen=True)
class Pki:
    """PEM files of a throwaway CA, a server certificate for localhost and a client certificate."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    ca = trustme.CA()
    server = ca.issue_cert("localhost", "127.0.0.1")
    client = ca.issue_cert("a4c-worker.a4c-test.svc.cluster.local")
    files = Pki(*(tmp_path / name for name in ("ca.pem", "s.pem", "s.key", "c.pem", "c.key")))
    ca.cert_pem.write_to_path(str(files.ca))
    server.private_key_pem.write_to_path(str(files.server_key))
    client.private_key_pem.write_to_path(str(files.client_key))
    for blob in server.cert_chain_pems:
        blob.write_to_path(str(files.server_cert), append=True)
    for blob in client.cert_chain_pems:
        blob.write_to_path(str(files.client_cert), append=True)
    return files


async def started(pki: Pki, *, mtls: bool) -> GrpcServer:
    settings = ServerSettings(
        host="127.0.0.1",
        port=0,
        health_port=0,
        principals=PRINCIPALS,
        tls_cert_file=str(pki.server_cert),
        tls_key_file=str(pki.server_key),
        tls_client_ca_file=str(pki.ca) if mtls else None,
    )
    server = create_server(settings, all_bindings())
    await server.start()
    return server


@pytest.fixture
async def tls_server(pki: Pki) -> AsyncIterator[GrpcServer]:
    server = await started(pki, mtls=False)
    yield server
    await server.stop(0)


@pytest.fixture
async def mtls_server(pki: Pki) -> AsyncIterator[GrpcServer]:
    server = await started(pki, mtls=True)
    yield server
    await server.stop(0)


async def get_record(channel: grpc.aio.Channel) -> str:
    reply = await dns_pb2_grpc.DnsServiceStub(channel).GetRecord(dns_pb2.GetRecordRequest(id="r1"), timeout=5)
    return reply.record.id


async def probe(port: int | None, service: str = "") -> int:
    """What the kubelet's gRPC probe does: a plaintext Health/Check."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        request = health_pb2.HealthCheckRequest(service=service)
        reply = await health_pb2_grpc.HealthStub(channel).Check(request, timeout=5)
    return reply.status


async def test_tls_server_serves_clients_that_trust_its_ca_and_probes_on_the_health_port(
    tls_server: GrpcServer, pki: Pki
) -> None:
    async with open_channel(f"localhost:{tls_server.port}", token=TOKEN, tls_ca_file=str(pki.ca)) as channel:
        assert await get_record(channel) == "r1"
    assert await probe(tls_server.health_port) == SERVING
    assert await probe(tls_server.health_port, "a4c.api.dns.v1.DnsService") == SERVING


async def test_a_plaintext_client_on_the_tls_port_fails(tls_server: GrpcServer) -> None:
    async with open_channel(f"127.0.0.1:{tls_server.port}", token=TOKEN) as plaintext:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await get_record(plaintext)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await probe(tls_server.port)  # so the probes must not point at the main port
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_a_client_that_does_not_trust_the_ca_is_refused(tls_server: GrpcServer, tmp_path: Path) -> None:
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    async with open_channel(f"localhost:{tls_server.port}", token=TOKEN, tls_ca_file=str(other)) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await get_record(channel)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_mtls_serves_clients_with_a_certificate_and_refuses_those_without(
    mtls_server: GrpcServer, pki: Pki
) -> None:
    address = f"localhost:{mtls_server.port}"
    client = {"tls_cert_file": str(pki.client_cert), "tls_key_file": str(pki.client_key)}
    async with open_channel(address, token=TOKEN, tls_ca_file=str(pki.ca), **client) as channel:
        assert await get_record(channel) == "r1"
    async with open_channel(address, token=TOKEN, tls_ca_file=str(pki.ca)) as anonymous:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await get_record(anonymous)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert await probe(mtls_server.health_port) == SERVING  # the probe needs no certificate


async def test_the_health_port_serves_nothing_but_health(tls_server: GrpcServer) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{tls_server.health_port}") as channel:
        with pytest.raises(grpc.aio.AioRpcError) as business:
            await dns_pb2_grpc.DnsServiceStub(channel).GetRecord(
                dns_pb2.GetRecordRequest(id="r1"), metadata=(("authorization", f"Bearer {TOKEN}"),), timeout=5
            )
        listing = reflection_pb2_grpc.ServerReflectionStub(channel).ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
        )
        with pytest.raises(grpc.aio.AioRpcError) as reflected:
            async for _ in listing:
                pass
    assert business.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert reflected.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_the_health_port_reports_the_main_servers_status_through_the_drain(pki: Pki) -> None:
    server = await started(pki, mtls=False)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{server.health_port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(health_pb2.HealthCheckRequest(service=""))
        assert (await watch.read()).status == SERVING
        stopping = asyncio.create_task(server.stop(1))
        assert (await watch.read()).status == NOT_SERVING
        await stopping


def test_a_client_certificate_needs_its_key_and_a_ca(pki: Pki) -> None:
    with pytest.raises(ValueError, match="both"):
        open_channel("localhost:1", tls_ca_file=str(pki.ca), tls_cert_file=str(pki.client_cert))
    with pytest.raises(ValueError, match="tls_ca_file"):
        open_channel("localhost:1", tls_cert_file=str(pki.client_cert), tls_key_file=str(pki.client_key))
