"""Wiring: settings and an httpx client in, a gRPC server (or a run_service ``Service``) out.

Nothing here is a module global: the pooled httpx client is made by ``build`` (the entry point used
by ``python -m a4c.dns`` and by other members' tests) or passed in by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.common import server as common_server
from a4c.common.main import Service, metrics_for
from a4c.common.metrics import Metrics
from a4c.common.paging import PageTokens
from a4c.common.retry import RetryPolicy
from a4c.common.server import GrpcServer, ServiceBinding
from a4c.common.tracing import Tracing
from a4c.dns.budget import RequestBudget
from a4c.dns.cloudflare import CloudflareClient
from a4c.dns.config import Settings
from a4c.dns.policy import RecordPolicy
from a4c.dns.propagation import PropagationChecker
from a4c.dns.quota import RecordQuota
from a4c.dns.records import RecordManager
from a4c.dns.servicer import SCOPES, DnsServicer

SERVICE_NAME = dns_pb2.DESCRIPTOR.services_by_name["DnsService"].full_name
USER_AGENT = "a4c-dns/0.1"


def new_http_client(tracing: Tracing | None = None) -> httpx.AsyncClient:
    """One pooled client for every Cloudflare call of the process (timeouts are set per call);
    with tracing, each request (each attempt of the retry loop) is a client span."""
    pool = httpx.AsyncHTTPTransport(limits=httpx.Limits(max_connections=20, max_keepalive_connections=10))
    return httpx.AsyncClient(
        headers={"user-agent": USER_AGENT},
        transport=(tracing or Tracing.off()).http_transport(pool),
        timeout=30.0,
    )


def build_bindings(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    retry: RetryPolicy | None = None,
    metrics: Metrics | None = None,
) -> list[ServiceBinding]:
    """``retry`` lets tests ride out injected faults with short backoffs."""
    zone_ids = {settings.zone_name: settings.zone_id} if settings.zone_id else {}
    client = CloudflareClient(
        http,
        token=settings.cloudflare_api_token,
        base_url=settings.cloudflare_base_url,
        budget=RequestBudget(settings.max_requests_per_5min, metrics=metrics),
        retry=retry,
        metrics=metrics,
        zone_ids=zone_ids,
        default_timeout=settings.cloudflare_timeout_seconds,
    )
    servicer = DnsServicer(
        RecordManager(client, RecordQuota(client, settings.zone_record_quota, metrics=metrics)),
        PropagationChecker(settings.nameservers, query_timeout=settings.dns_query_timeout_seconds),
        RecordPolicy(
            settings.zone_name,
            settings.subdomain_targets,
            settings.subdomain_proxied,
            settings.reserved_slugs,
        ),
        upstream_timeout=settings.cloudflare_timeout_seconds,
        page_tokens=PageTokens(settings.server.page_token_key),
    )
    return [
        ServiceBinding(SERVICE_NAME, dns_pb2_grpc.add_DnsServiceServicer_to_server, servicer, scopes=SCOPES)
    ]


def create_server(
    settings: Settings,
    http: httpx.AsyncClient,
    *,
    retry: RetryPolicy | None = None,
) -> GrpcServer:
    """A bound (not yet started) server; ``settings.server.port`` 0 picks a free port (``.port``)."""
    return common_server.create_server(settings.server, build_bindings(settings, http, retry=retry))


async def build(env: Mapping[str, str], *, tracing: Tracing | None = None) -> Service:
    """Settings from ``env`` (a SettingsError names the bad variable), then the service to run.
    ``tracing`` replaces the one A4C_TRACES describes (tests pass an in-memory exporter's)."""
    settings = Settings.from_env(env)
    tracing = tracing or Tracing.from_env(env, "a4c-dns")
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
