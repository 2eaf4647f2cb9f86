"""A real provisioning service for tests: production wiring on a port-0 server, and what tests inspect."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import grpc
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.common.errors import StatusDetails, details_of
from a4c.common.server import GrpcServer
from a4c.common.tracing import Tracing
from a4c.devstack.eventstore import sample_data
from a4c.eventstore import EventStore, EventType, NewEvent
from a4c.provisioning.config import Settings
from a4c.provisioning.server import Provisioning, create_server, open_provisioning
from a4c.provisioning.validation import slug_problem
from a4c.workflows.models import bootstrap_workflow_id

TOKEN = "provisioning-test-token-0123456789"
ACTOR = "operator"  # the principal TOKEN stands for: the `actor` of the events it causes
BASE_DOMAIN = "firstovertheline.com"
# Streaming calls need the token as call metadata: the kit's channel interceptor only covers unary calls
# (grpc.aio files an interceptor under its first matching kind, and _BearerToken is unary-unary first).
AUTH = (("authorization", f"Bearer {TOKEN}"),)


def service_env(database_url: str, task_queue: str, **overrides: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "A4C_AUTH_PRINCIPALS": f"{ACTOR}:read+bootstrap+operate:{TOKEN}",
        "A4C_GRPC_HOST": "127.0.0.1",
        "A4C_GRPC_PORT": "0",
        "TEMPORAL_TASK_QUEUE": task_queue,
        # Many bootstraps and a hundred watchers under one principal; test_scopes.py and the kit's
        # test_auth.py test the limits themselves.
        "A4C_BOOTSTRAP_BURST": "1000",
        "A4C_WATCH_STREAMS_PER_PRINCIPAL": "400",
        "A4C_WATCH_STREAMS_PER_SERVER": "400",
        **overrides,
    }


@dataclass
class Running:
    provisioning: Provisioning
    server: GrpcServer
    channel: grpc.aio.Channel
    stub: provisioning_pb2_grpc.ProvisioningServiceAsyncStub

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    @property
    def store(self) -> EventStore:
        return self.provisioning.deps.store

    @property
    def temporal(self) -> Client:
        return self.provisioning.deps.workflows.client


@contextlib.asynccontextmanager
async def running_provisioning(
    env: Mapping[str, str], client: Client, tracing: Tracing | None = None
) -> AsyncIterator[Running]:
    """`tracing` traces the service and the test's channel (the caller) alike."""
    provisioning = await open_provisioning(Settings.from_env(env), client=client, tracing=tracing)
    server = create_server(provisioning)
    await server.start()
    channel = open_channel(f"127.0.0.1:{server.port}", token=TOKEN, tracing=tracing)
    try:
        yield Running(provisioning, server, channel, provisioning_pb2_grpc.ProvisioningServiceStub(channel))
    finally:
        await channel.close()
        await server.stop(0)
        await provisioning.close()


def bootstrap_request(slug: str, **changes: Any) -> pb.BootstrapOrganizationRequest:
    """A valid request for `slug`; keyword arguments replace fields (admin_* fields of the admin)."""
    # The identity platform keeps organization names and admin user names (emails) unique: derive both
    # from the slug where the slug allows it.
    valid = slug_problem(slug, frozenset()) is None
    fields: dict[str, Any] = {
        "name": f"Acme Health {slug}" if valid else "Acme Health",
        "slug": slug,
        "request_id": "",
    }
    email = f"ada@{slug}.example" if valid else "ada@acme-health.example"
    admin = {"email": email, "given_name": "Ada", "family_name": "Lovelace"}
    for key, value in changes.items():
        if key.startswith("admin_"):
            admin[key.removeprefix("admin_")] = value
        else:
            fields[key] = value
    return pb.BootstrapOrganizationRequest(admin=pb.Admin(**admin), **fields)


async def rpc_error(call: Awaitable[Any]) -> StatusDetails:
    """The details of the error `call` must fail with."""
    try:
        await call
    except grpc.aio.AioRpcError as error:
        return details_of(error)
    raise AssertionError("the call succeeded")


async def workflow_exists(client: Client, workflow_id: str) -> bool:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def workflow_ids_for_slug(client: Client, slug: str) -> list[str]:
    return [w.id async for w in client.list_workflows(f"OrgSlug = '{slug}'")]


def org_events(organization_id: uuid.UUID, slug: str, types: list[EventType]) -> list[NewEvent]:
    """Contract-shaped events for one organization, as the workflow would append them."""
    return [
        NewEvent(
            id=uuid.uuid4(),
            stream_id=organization_id,
            event_type=kind,
            data=sample_data(organization_id, kind, slug=slug),
            metadata={"seeded": True},
        )
        for kind in types
    ]


async def seed(service: Running, types: list[EventType], prefix: str = "seeded") -> tuple[uuid.UUID, str]:
    """An organization recorded straight into the event store (no workflow): its id and slug."""
    organization_id, slug = uuid.uuid4(), unique(prefix)
    await service.store.append_many(org_events(organization_id, slug, types))
    return organization_id, slug


def unique(prefix: str) -> str:
    """A slug nobody else in the session uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def bootstrap_id(organization_id: uuid.UUID | str) -> str:
    return bootstrap_workflow_id(str(organization_id))


COMPLETED_BOOTSTRAP = [
    EventType.TEMPORAL_INITIATED,
    EventType.ZITADEL_CREATED,
    EventType.CREATED,
    EventType.USER_ROLE_ASSIGNED,
    EventType.USER_INVITATION_SENT,
    EventType.BOOTSTRAP_COMPLETED,
]
SUBDOMAIN_ACTIVE = [
    EventType.SUBDOMAIN_DNS_RECORD_CREATED,
    EventType.SUBDOMAIN_VERIFICATION_STARTED,
    EventType.SUBDOMAIN_VERIFIED,
]
SUBDOMAIN_FAILED = [*SUBDOMAIN_ACTIVE[:2], EventType.SUBDOMAIN_VERIFICATION_FAILED]


async def insert_claim(
    service: Running, slug: str, organization_id: uuid.UUID, *, age: timedelta = timedelta(0)
) -> None:
    """A claim as another replica would have left it (unconfirmed, `age` old), written behind the service."""
    await service.store.pool.execute(
        "INSERT INTO slug_claims (slug, organization_id, fingerprint, claimed_at) "
        "VALUES ($1, $2, 'another-request', now() - $3::interval)",
        slug,
        organization_id,
        age,
    )
