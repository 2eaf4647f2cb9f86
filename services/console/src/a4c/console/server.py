"""Builds the console's dependencies from its settings (the gRPC channel, the OIDC client's HTTP pool)
and closes them afterwards: `__main__` and the tests start it the same way."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from starlette.applications import Starlette

from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.console.app import create_app
from a4c.console.config import Settings
from a4c.console.oidc import OidcClient
from a4c.console.provisioning import Provisioning
from a4c.console.web import Console


@contextlib.asynccontextmanager
async def open_console(settings: Settings) -> AsyncIterator[Starlette]:
    channel = open_channel(settings.provisioning_address, tls_ca_file=settings.provisioning_tls_ca)
    async with httpx.AsyncClient(follow_redirects=False) as http:
        try:
            provisioning = Provisioning(
                provisioning_pb2_grpc.ProvisioningServiceStub(channel), settings.provisioning_token
            )
            oidc = OidcClient(settings.oidc, settings.redirect_uri, http)
            yield create_app(Console.build(settings, provisioning, oidc))
        finally:
            await channel.close()
