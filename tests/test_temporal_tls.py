"""Provisioning and the worker reach a TLS (and mTLS) Temporal frontend from environment settings only.

The frontend is the session's dev server behind a loopback TLS terminator (tls_terminator.py): the
dev server has no TLS options of its own. Nothing but variables tells the parts how to connect.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.devstack.system import TOKEN, System, start_service
from a4c.devstack.timing import eventually
from a4c.provisioning.server import build as provisioning_build
from a4c.workflows.codec import PayloadKeys
from a4c.workflows.connection import TemporalSettings

sys.path.insert(0, str(Path(__file__).parent))
from tls_terminator import Certificates, TlsTerminator, make_certificates

KEYS = PayloadKeys.generate("k1")


@pytest.fixture
def certs(tmp_path: Path) -> Certificates:
    return make_certificates(tmp_path)


def frontend(system: System) -> str:
    return str(system.client.service_client.config.target_host)


def tls_env(terminator: TlsTerminator, certs: Certificates, *, client_cert: bool) -> dict[str, str]:
    env = {"TEMPORAL_ADDRESS": terminator.address, "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(certs.ca)}
    if client_cert:
        env |= {
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(certs.client_cert),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(certs.client_key),
        }
    return env


def provisioning_env(system: System, task_queue: str, temporal: dict[str, str]) -> dict[str, str]:
    """The wiring's provisioning environment, on a free port, with the codec and the TLS frontend."""
    wired = replace(system.wiring, task_queue=task_queue).env("provisioning")
    return {**wired, "A4C_GRPC_PORT": "0", "A4C_PAYLOAD_KEYS": KEYS, **temporal}


@pytest.fixture
def worker_processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    processes: list[subprocess.Popen[bytes]] = []
    yield processes
    for process in processes:
        process.terminate()
        process.wait(timeout=30)


async def test_a_bootstrap_runs_through_an_mtls_frontend_configured_by_environment_only(
    system: System, certs: Certificates, worker_processes: list[subprocess.Popen[bytes]]
) -> None:
    queue = f"a4c-tls-{uuid.uuid4().hex[:8]}"
    async with TlsTerminator(certs, frontend(system), require_client_cert=True) as terminator:
        temporal = tls_env(terminator, certs, client_cert=True)
        worker_env = {
            **system.worker_env(),
            **temporal,
            "TEMPORAL_TASK_QUEUE": queue,
            "A4C_PAYLOAD_KEYS": KEYS,
        }
        worker_processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "a4c.worker"],
                env=worker_env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        provisioning = await start_service(provisioning_build, provisioning_env(system, queue, temporal))
        channel = open_channel(provisioning.address, token=TOKEN)
        try:
            stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
            slug = f"tls-{uuid.uuid4().hex[:6]}"
            admin = pb.Admin(email=f"ada@{slug}.example", given_name="Ada", family_name="Lovelace")
            await stub.BootstrapOrganization(
                pb.BootstrapOrganizationRequest(name=f"TLS Clinic {slug}", slug=slug, admin=admin)
            )

            async def completed() -> bool:
                reply = await stub.GetBootstrap(pb.GetBootstrapRequest(slug=slug))
                return reply.bootstrap.status == pb.BOOTSTRAP_STATUS_COMPLETED

            await eventually(completed, within=60)
        finally:
            await channel.close()
            await provisioning.stop()
        assert all(process.poll() is None for process in worker_processes)  # still polling, over mTLS
        assert terminator.handshakes >= 2  # the worker's and provisioning's connections


async def test_a_tls_frontend_needs_only_its_ca_and_refuses_plaintext_and_untrusted_clients(
    system: System, certs: Certificates
) -> None:
    async with TlsTerminator(certs, frontend(system)) as terminator:
        trusted = await TemporalSettings.from_env(
            tls_env(terminator, certs, client_cert=False), require_keys=False
        ).connect()
        assert await trusted.service_client.check_health()
        for env in (
            {"TEMPORAL_ADDRESS": terminator.address},  # plaintext
            {"TEMPORAL_ADDRESS": terminator.address, "TEMPORAL_TLS": "true"},  # system roots only
        ):
            with pytest.raises(RuntimeError):
                async with asyncio.timeout(30):
                    await TemporalSettings.from_env(env, require_keys=False).connect()


async def test_an_mtls_frontend_refuses_a_client_without_its_certificate(
    system: System, certs: Certificates
) -> None:
    async with TlsTerminator(certs, frontend(system), require_client_cert=True) as terminator:
        with pytest.raises(RuntimeError):
            async with asyncio.timeout(30):
                await TemporalSettings.from_env(
                    tls_env(terminator, certs, client_cert=False), require_keys=False
                ).connect()
        with_cert = await TemporalSettings.from_env(
            tls_env(terminator, certs, client_cert=True), require_keys=False
        ).connect()
        assert await with_cert.service_client.check_health()
