"""Wiring: settings and an httpx client in, a gRPC server (or a run_service ``Service``) out.

Nothing here is a module global: the pooled httpx client is made by ``build`` (the entry point of
``python -m a4c.identity``) or passed in by the caller. Other members' tests start the service
against the sandbox Zitadel with :func:`running_identity_service`:

    async with run_zitadel() as zitadel, running_identity_service(env) as port:   # a4c.devstack
        stub = IdentityServiceStub(grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace

import httpx

from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.common import server as common_server
from a4c.common.main import Service, metrics_for
from a4c.common.metrics import Metrics
from a4c.common.paging import PageTokens
from a4c.common.retry import RetryPolicy
from a4c.common.server import GrpcServer, ServiceBinding
from a4c.common.tracing import Tracing
from a4c.identity.config import Settings
from a4c.identity.credentials import Credentials, JwtProfile, PersonalAccessToken
from a4c.identity.operations import IdentityOperations, Policy
from a4c.identity.servicer import SCOPES, IdentityServicer
from a4c.identity.zitadel import ZitadelClient
from a4c.identity.zitadel_http import ZITADEL_RETRY, ZitadelTransport

SERVICE_NAME = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name
USER_AGENT = "a4c-identity/0.1"


def new_http_client(tracing: Tracing | None = None) -> httpx.AsyncClient:
    """One pooled client for every Zitadel call of the process (timeouts are set per call);
    with tracing, each request (each attempt of the retry loop) is a client span."""
    pool = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
    return httpx.AsyncClient(
        headers={"user-agent": USER_AGENT},
        transport=(tracing or Tracing.off()).http_transport(pool),
        timeout=30.0,
    )


def credentials_for(settings: Settings) -> Credentials:
    if settings.service_account_key is not None:
        return JwtProfile(settings.service_account_key, settings.zitadel_url)
    assert settings.zitadel_pat is not None  # Settings guarantees exactly one of the two
    return PersonalAccessToken(settings.zitadel_pat)


def build_bindings(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    retry: RetryPolicy | None = None,
    metrics: Metrics | None = None,
) -> list[ServiceBinding]:
    """``retry`` lets tests ride out injected faults with short backoffs."""
    transport = ZitadelTransport(
        http,
        base_url=settings.zitadel_url,
        credentials=credentials_for(settings),
        retry=retry or replace(ZITADEL_RETRY, max_attempts=settings.max_attempts),
        metrics=metrics,
    )
    client = ZitadelClient(transport, default_time_limit=settings.timeout_seconds)
    policy = Policy(
        project_id=settings.project_id,
        admin_role_keys=settings.admin_role_keys,
        invite_url_template=settings.invite_url_template,
        application_name=settings.application_name,
        consistency_wait=settings.consistency_wait_seconds,
    )
    servicer = IdentityServicer(
        IdentityOperations(client, policy),
        default_timeout=settings.timeout_seconds,
        page_tokens=PageTokens(settings.server.page_token_key),
    )
    return [
        ServiceBinding(
            SERVICE_NAME, identity_pb2_grpc.add_IdentityServiceServicer_to_server, servicer, scopes=SCOPES
        )
    ]


def create_server(
    settings: Settings, http: httpx.AsyncClient, *, retry: RetryPolicy | None = None
) -> GrpcServer:
    """A bound (not yet started) server; ``settings.server.port`` 0 picks a free port (``.port``)."""
    return common_server.create_server(settings.server, build_bindings(settings, http, retry=retry))


@contextlib.asynccontextmanager
async def running_identity_service(
    env: Mapping[str, str], *, retry: RetryPolicy | None = None
) -> AsyncIterator[int]:
    """The service started from ``env`` (e.g. ``a4c.devstack.wiring``'s); yields its port."""
    settings = Settings.from_env(env)
    async with new_http_client() as http:
        server = create_server(settings, http, retry=retry)
        await server.start()
        try:
            yield server.port
        finally:
            await server.stop(0)


async def build(env: Mapping[str, str], *, tracing: Tracing | None = None) -> Service:
    """Settings from ``env`` (a SettingsError names the bad variable), then the service to run.
    ``tracing`` replaces the one A4C_TRACES describes (tests pass an in-memory exporter's)."""
    settings = Settings.from_env(env)
    tracing = tracing or Tracing.from_env(env, "a4c-identity")
    http = new_http_client(tracing)
    metrics = metrics_for(settings.server)
    return Service(
        bindings=build_bindings(settings, http, metrics=metrics),
        settings=settings.server,
        secrets=settings.secrets,
        on_stop=http.aclose,
        metrics=metrics,
        tracing=tracing,
    )
