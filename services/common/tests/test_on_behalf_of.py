"""A delegating principal (the console) names the person it acts for; nobody else can."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from a4c.api.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from a4c.common.auth import Credential, current_actor, with_delegates
from a4c.common.client import open_channel
from a4c.common.config import EnvReader, ServerSettings, SettingsError
from a4c.common.errors import details_of
from a4c.common.server import GrpcServer, ServiceBinding, create_server

from .conftest import PROVISIONING, READER_TOKEN, TOKEN, every_method

Context = grpc.aio.ServicerContext[object, object]


class ActorEcho(provisioning_pb2_grpc.ProvisioningServiceServicer):
    async def BootstrapOrganization(
        self, request: provisioning_pb2.BootstrapOrganizationRequest, context: Context
    ) -> provisioning_pb2.BootstrapOrganizationResponse:
        return provisioning_pb2.BootstrapOrganizationResponse(organization_id=current_actor())


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    credentials = with_delegates(
        (Credential.of("console", ("read",), TOKEN), Credential.of("tool", ("read",), READER_TOKEN)),
        ["console"],
        "A4C_AUTH_DELEGATES",
    )
    binding = ServiceBinding(
        PROVISIONING,
        provisioning_pb2_grpc.add_ProvisioningServiceServicer_to_server,
        ActorEcho(),
        scopes=every_method(PROVISIONING, "read"),
    )
    running = create_server(ServerSettings(host="127.0.0.1", port=0, principals=credentials), [binding])
    await running.start()
    yield running
    await running.stop(0)


async def _actor(server: GrpcServer, token: str, person: str | None) -> str:
    metadata = (("a4c-on-behalf-of", person),) if person is not None else ()
    async with open_channel(f"127.0.0.1:{server.port}", token=token) as channel:
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
        reply = await stub.BootstrapOrganization(
            provisioning_pb2.BootstrapOrganizationRequest(), metadata=metadata
        )
        return reply.organization_id


async def test_a_delegating_principal_names_the_person_beside_itself(server: GrpcServer) -> None:
    assert await _actor(server, TOKEN, "alice@acme.example") == "alice@acme.example via console"
    assert await _actor(server, TOKEN, None) == "console"


async def test_a_principal_not_trusted_to_delegate_is_refused(server: GrpcServer) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _actor(server, READER_TOKEN, "alice")
    assert details_of(caught.value).code == grpc.StatusCode.PERMISSION_DENIED
    assert "may not act on behalf" in details_of(caught.value).message


@pytest.mark.parametrize("name", ["", "alice smith", "alice/console", "x" * 129, "-alice", "a'b"])
async def test_a_name_that_is_not_a_login_name_is_refused(server: GrpcServer, name: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _actor(server, TOKEN, name)
    assert details_of(caught.value).code == grpc.StatusCode.PERMISSION_DENIED


def test_a_delegate_that_is_no_principal_stops_the_service() -> None:
    env = {"A4C_AUTH_PRINCIPALS": f"console:read:{TOKEN}", "A4C_AUTH_DELEGATES": "consle"}
    with pytest.raises(SettingsError) as caught:
        ServerSettings.from_env(EnvReader(env))
    assert caught.value.key == "A4C_AUTH_DELEGATES"
    settings = ServerSettings.from_env(EnvReader({**env, "A4C_AUTH_DELEGATES": "console"}))
    assert [c.principal.delegates for c in settings.principals] == [True]
