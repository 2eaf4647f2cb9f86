"""Wiring: settings, an event store and a Temporal client in; a gRPC server (or a run_service Service) out.

Nothing is a module global: `build` (used by `python -m a4c.provisioning` and by other members' tests)
opens the store and the client; tests may instead pass their own to `connect_dependencies` /
`build_bindings`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from temporalio.client import Client

from a4c.api.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from a4c.common import server as common_server
from a4c.common.config import SettingsError
from a4c.common.limits import Limit, RateLimit, StreamCap
from a4c.common.main import RefusedToStart, Service, metrics_for
from a4c.common.metrics import Metrics
from a4c.common.server import GrpcServer, ServiceBinding
from a4c.common.tracing import Tracing
from a4c.eventstore import EventStore, NotFound, SchemaMismatch, SlugClaims
from a4c.provisioning.config import Settings
from a4c.provisioning.deps import Dependencies
from a4c.provisioning.hub import EventHub
from a4c.provisioning.metrics import ProvisioningMetrics
from a4c.provisioning.servicer import SCOPES, ProvisioningServicer
from a4c.provisioning.temporal import Workflows
from a4c.workflows.telemetry import core_runtime, temporal_interceptors

SERVICE_NAME = provisioning_pb2.DESCRIPTOR.services_by_name["ProvisioningService"].full_name


@dataclass
class Provisioning:
    """Everything one service instance owns; `close()` releases it (the hub's listener first)."""

    deps: Dependencies
    hub: EventHub
    bindings: list[ServiceBinding]
    metrics: Metrics | None = None
    tracing: Tracing = field(default_factory=Tracing.off)

    async def close(self) -> None:
        await self.hub.close()
        await self.deps.store.close()


async def connect_dependencies(
    settings: Settings, store: EventStore, client: Client, metrics: Metrics | None = None
) -> Dependencies:
    """The use cases' dependencies; the base domain comes from the database unless configured."""
    base_domain = settings.base_domain
    if base_domain is None:
        try:
            base_domain = await store.get_base_domain(settings.environment)
        except NotFound:
            raise SettingsError(
                "A4C_ENVIRONMENT",
                f"the database has no base domain for {settings.environment!r}; set A4C_BASE_DOMAIN",
            ) from None
    return Dependencies(
        settings=settings,
        store=store,
        claims=SlugClaims(store.pool),
        workflows=Workflows(client, settings.task_queue),
        base_domain=base_domain,
        metrics=ProvisioningMetrics(metrics, store) if metrics is not None else None,
    )


def build_bindings(deps: Dependencies, hub: EventHub) -> list[ServiceBinding]:
    servicer = ProvisioningServicer(deps, hub)
    settings = deps.settings
    limits: dict[str, Limit] = {
        # Each bootstrap sends an email and spends Cloudflare budget: bounded per principal.
        "BootstrapOrganization": RateLimit(settings.bootstrap_per_minute, settings.bootstrap_burst),
        "WatchBootstrap": StreamCap(settings.watch_streams_per_principal, settings.watch_streams_per_server),
    }
    return [
        ServiceBinding(
            SERVICE_NAME,
            provisioning_pb2_grpc.add_ProvisioningServiceServicer_to_server,
            servicer,
            scopes=SCOPES,
            limits=limits,
        )
    ]


async def open_provisioning(
    settings: Settings,
    *,
    client: Client | None = None,
    metrics: Metrics | None = None,
    tracing: Tracing | None = None,
) -> Provisioning:
    """Connect to the database and Temporal (lazily: the service starts while Temporal is still coming up).
    A given `client` should carry `tracing`'s Temporal interceptor for workflow starts to join the trace."""
    tracing = tracing or Tracing.off()
    try:
        store = await EventStore.connect(settings.database_url)  # checks the schema is this release's
    except SchemaMismatch as exc:
        raise RefusedToStart(str(exc)) from None
    try:
        if client is None:
            client = await settings.temporal.connect(
                lazy=True,
                interceptors=temporal_interceptors(tracing.provider),
                runtime=core_runtime(),
            )
        deps = await connect_dependencies(settings, store, client, metrics)
    except BaseException:
        await store.close()
        raise
    on_overflow = deps.metrics.hub_overflows.inc if deps.metrics is not None else None
    hub = EventHub(store, on_overflow=on_overflow)
    if deps.metrics is not None:
        deps.metrics.watch_streams.set_function(lambda: hub.watchers)
    return Provisioning(deps, hub, build_bindings(deps, hub), metrics, tracing)


def create_server(provisioning: Provisioning) -> GrpcServer:
    """A bound (not yet started) server; `settings.server.port` 0 picks a free port (`.port`)."""
    return common_server.create_server(
        provisioning.deps.settings.server,
        provisioning.bindings,
        metrics=provisioning.metrics,
        tracing=provisioning.tracing,
    )


async def build(env: Mapping[str, str], *, tracing: Tracing | None = None) -> Service:
    """Settings from `env` (a SettingsError names the bad variable), then the service to run."""
    settings = Settings.from_env(env)
    tracing = tracing or Tracing.from_env(env, "a4c-provisioning")
    provisioning = await open_provisioning(settings, metrics=metrics_for(settings.server), tracing=tracing)
    return Service(
        bindings=provisioning.bindings,
        settings=settings.server,
        secrets=settings.secrets,
        on_stop=provisioning.close,
        metrics=provisioning.metrics,
        tracing=tracing,
    )
