"""The three services as production wires them, on TLS with client certificates required (mTLS) and a
plaintext health-only port for the probes: what the prod overlay turns on (k8s/components/tls).

Each service is built by its own `build(env)` from environment settings, exactly as `python -m a4c.<svc>`
does, and served by the kit's server. The probe sees SERVING on the health port; a plaintext client on the
main port fails; the worker's channels (A4C_SERVICE_TLS_*) reach dns and identity with its certificate and
not without; the `a4c` CLI (A4C_PROVISIONING_TLS_*) reaches provisioning the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
import trustme
from grpc_health.v1 import health_pb2, health_pb2_grpc

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.common.main import Service
from a4c.common.server import GrpcServer, create_server
from a4c.devstack.emulators import CloudflareSandbox, run_zitadel
from a4c.devstack.wiring import Wiring, principals
from a4c.dns.server import build as build_dns
from a4c.identity.server import build as build_identity
from a4c.provisioning.server import build as build_provisioning
from a4c.worker.config import Settings as WorkerSettings
from a4c.worker.runner import Upstreams

TOKEN = "tls-test-token-0123456789abcdef"
ZONE = "firstovertheline.com"
SERVING = health_pb2.HealthCheckResponse.SERVING
A4C = shutil.which("a4c", path=str(Path(sys.executable).parent)) or "a4c"


@dataclass(frozen=True)
class Pki:
    ca: str
    server: tuple[str, str]  # certificate chain, key
    client: tuple[str, str]


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    """A throwaway CA that signed a server certificate for localhost and the worker's client certificate."""
    ca = trustme.CA()

    def write(cert: trustme.LeafCert, name: str) -> tuple[str, str]:
        chain, key = tmp_path / f"{name}.pem", tmp_path / f"{name}.key"
        for blob in cert.cert_chain_pems:
            blob.write_to_path(str(chain), append=True)
        cert.private_key_pem.write_to_path(str(key))
        return str(chain), str(key)

    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    return Pki(
        str(tmp_path / "ca.pem"),
        write(ca.issue_cert("localhost"), "server"),
        write(ca.issue_cert("a4c-worker.a4c-prod.svc.cluster.local"), "client"),
    )


def tls_env(pki: Pki) -> dict[str, str]:
    """The kit's server settings the prod overlay sets (with port 0: free ports)."""
    return {
        "A4C_GRPC_HOST": "127.0.0.1",
        "A4C_GRPC_PORT": "0",
        "A4C_HEALTH_PORT": "0",
        "A4C_TLS_CERT_FILE": pki.server[0],
        "A4C_TLS_KEY_FILE": pki.server[1],
        "A4C_TLS_CLIENT_CA_FILE": pki.ca,
    }


@dataclass
class Served:
    server: GrpcServer

    @property
    def address(self) -> str:
        return f"localhost:{self.server.port}"


@contextlib.asynccontextmanager
async def serving(
    build: Callable[[Mapping[str, str]], Awaitable[Service]], env: Mapping[str, str]
) -> AsyncIterator[Served]:
    service = await build(env)
    server = create_server(service.settings, service.bindings)  # what `serve()` does
    await server.start()
    try:
        yield Served(server)
    finally:
        await server.stop(0)
        await service.on_stop()


@dataclass
class Stack:
    dns: Served
    identity: Served
    provisioning: Served

    def all(self) -> dict[str, Served]:
        return {"dns": self.dns, "identity": self.identity, "provisioning": self.provisioning}


@pytest.fixture
async def stack(pki: Pki, database_url: str) -> AsyncIterator[Stack]:
    async with contextlib.AsyncExitStack() as exits:
        cloudflare = await exits.enter_async_context(CloudflareSandbox())
        zitadel = await exits.enter_async_context(run_zitadel())
        # One token for the test's calls to every service, as the worker (dns, identity) and operator.
        wiring = Wiring.for_emulators(
            TOKEN, service_token=TOKEN, cloudflare=cloudflare, zitadel=zitadel, zone=ZONE
        )
        dns = await exits.enter_async_context(serving(build_dns, {**wiring.env("dns"), **tls_env(pki)}))
        identity = await exits.enter_async_context(
            serving(build_identity, {**wiring.env("identity"), **tls_env(pki)})
        )
        # Temporal is dialled lazily: listing organizations reads the database only.
        provisioning = await exits.enter_async_context(
            serving(
                build_provisioning,
                {
                    "DATABASE_URL": database_url,
                    **tls_env(pki),
                    "A4C_AUTH_PRINCIPALS": principals(wiring, "provisioning"),
                },
            )
        )
        yield Stack(dns, identity, provisioning)


async def probe(port: int | None) -> int:
    """The kubelet's gRPC probe: plaintext grpc.health.v1 Check, no token, no certificate."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    return reply.status


async def test_probes_see_serving_on_each_services_plaintext_health_port(stack: Stack) -> None:
    for name, served in stack.all().items():
        assert served.server.health_port not in (None, served.server.port), name
        assert await probe(served.server.health_port) == SERVING, name


async def test_a_plaintext_client_on_each_main_port_fails(stack: Stack) -> None:
    for name, served in stack.all().items():
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await probe(served.server.port)
        assert caught.value.code() == grpc.StatusCode.UNAVAILABLE, name


def worker_upstreams(stack: Stack, env: dict[str, str]) -> Upstreams:
    """The worker's channels, from its own settings, as `python -m a4c.worker` opens them."""
    settings = WorkerSettings.from_env(
        {
            "DATABASE_URL": "postgresql://unused",
            "A4C_DNS_SERVICE_ADDRESS": stack.dns.address,
            "A4C_IDENTITY_SERVICE_ADDRESS": stack.identity.address,
            "A4C_SERVICE_TOKEN": TOKEN,
            **env,
        }
    )
    return Upstreams.open(
        settings.dns_address,
        settings.identity_address,
        settings.service_token,
        settings.service_tls_ca_file,
        tls_cert_file=settings.service_tls_cert_file,
        tls_key_file=settings.service_tls_key_file,
    )


async def test_the_worker_reaches_dns_and_identity_with_its_certificate_and_not_without(
    stack: Stack, pki: Pki
) -> None:
    mtls = {
        "A4C_SERVICE_TLS_CA_FILE": pki.ca,
        "A4C_SERVICE_TLS_CERT_FILE": pki.client[0],
        "A4C_SERVICE_TLS_KEY_FILE": pki.client[1],
    }
    upstreams = worker_upstreams(stack, mtls)
    try:
        listed = await dns_pb2_grpc.DnsServiceStub(upstreams.dns).ListRecords(
            dns_pb2.ListRecordsRequest(zone=ZONE), timeout=10
        )
        assert list(listed.records) == []
        with pytest.raises(grpc.aio.AioRpcError) as missing:  # through TLS and auth, to the servicer
            await identity_pb2_grpc.IdentityServiceStub(upstreams.identity).GetOrganization(
                identity_pb2.GetOrganizationRequest(organization_id="300000000000000999"), timeout=10
            )
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    finally:
        await upstreams.close()

    anonymous = worker_upstreams(stack, {"A4C_SERVICE_TLS_CA_FILE": pki.ca})
    try:
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await dns_pb2_grpc.DnsServiceStub(anonymous.dns).ListRecords(
                dns_pb2.ListRecordsRequest(zone=ZONE), timeout=10
            )
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        await anonymous.close()


async def a4c_cli(stack: Stack, env: dict[str, str], *args: str) -> tuple[int, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("A4C_PROVISIONING_")}
    process = await asyncio.create_subprocess_exec(
        A4C,
        *args,
        env=clean
        | {"A4C_PROVISIONING_ADDRESS": stack.provisioning.address, "A4C_PROVISIONING_TOKEN": TOKEN}
        | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, (out + err).decode()


async def test_the_cli_reaches_provisioning_with_the_ca_and_its_certificate(stack: Stack, pki: Pki) -> None:
    ca = {"A4C_PROVISIONING_TLS_CA_FILE": pki.ca}
    certificate = {
        "A4C_PROVISIONING_TLS_CERT_FILE": pki.client[0],
        "A4C_PROVISIONING_TLS_KEY_FILE": pki.client[1],
    }
    code, output = await a4c_cli(stack, ca | certificate, "--json", "--timeout", "10", "orgs")
    assert code == 0, output
    code, output = await a4c_cli(stack, ca, "--json", "--timeout", "5", "orgs")
    assert code == 1, output
    assert "unavailable" in output
    code, output = await a4c_cli(stack, certificate, "orgs")
    assert code == 2, output  # a certificate without a CA is a usage error, not a silent plaintext call
