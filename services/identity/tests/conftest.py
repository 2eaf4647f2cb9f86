"""One sandbox Zitadel and one identity service (PAT auth) for the session, over loopback sockets.

Tests share them: each starts from a freshly reset emulator (``zitadel``), and uses the gRPC stub
(``identity``) authenticated with the service's bearer token.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

import grpc
import pytest

from a4c.api.identity.v1 import identity_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.retry import RetryPolicy
from a4c.devstack.emulators import RunningZitadel, run_zitadel
from a4c.devstack.wiring import Wiring
from a4c.identity.server import running_identity_service

TOKEN = "identity-test-token-0123456789"  # the worker's: read and write
OPERATOR_TOKEN = "identity-test-operator-token-0123456789"  # provisioning's caller: not a principal here
TEMPLATE = "https://app.a4c.test/invite?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}"
# Short backoffs so injected fault bursts cost milliseconds.
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, max_delay=0.05, max_retry_after=1.0)


def service_env(zitadel: RunningZitadel, **extra: str) -> dict[str, str]:
    return {
        **Wiring.for_emulators(OPERATOR_TOKEN, service_token=TOKEN, zitadel=zitadel).env("identity"),
        "ZITADEL_INVITE_URL_TEMPLATE": TEMPLATE,
        "ZITADEL_APPLICATION_NAME": "A4C Test",
        "ZITADEL_CONSISTENCY_WAIT_SECONDS": "1",
        **extra,
    }


@pytest.fixture(scope="session")
async def zitadel_server() -> AsyncIterator[RunningZitadel]:
    async with run_zitadel(access_token_ttl_seconds=600) as running:
        yield running


@pytest.fixture
def zitadel(zitadel_server: RunningZitadel) -> RunningZitadel:
    return zitadel_server.reset()


@pytest.fixture(scope="session")
async def identity_port(zitadel_server: RunningZitadel) -> AsyncIterator[int]:
    async with running_identity_service(service_env(zitadel_server), retry=FAST) as port:
        yield port


async def stub_for(port: int) -> tuple[grpc.aio.Channel, identity_pb2_grpc.IdentityServiceStub]:
    channel = open_channel(f"127.0.0.1:{port}", token=TOKEN)
    return channel, identity_pb2_grpc.IdentityServiceStub(channel)


@pytest.fixture
async def identity(
    zitadel: RunningZitadel, identity_port: int
) -> AsyncIterator[identity_pb2_grpc.IdentityServiceStub]:
    channel, stub = await stub_for(identity_port)
    async with channel:
        yield stub


@asynccontextmanager
async def identity_service(env: Mapping[str, str]) -> AsyncIterator[identity_pb2_grpc.IdentityServiceStub]:
    """Another identity service instance with settings of its own (e.g. JWT-profile auth)."""
    async with running_identity_service(env, retry=FAST) as port:
        channel, stub = await stub_for(port)
        async with channel:
            yield stub
