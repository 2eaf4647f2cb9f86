"""The demo tenant: bootstrapped through the provisioning API, watched live until its subdomain is active.

The request id is fixed, so a restart (or a second `make run`) finds the demo organization it made
before instead of creating another: the provisioning API treats the same request id with the same
values as the same request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import grpc

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.client import open_channel
from a4c.eventstore import BootstrapState, EventType, SubdomainStatus
from a4c.provisioning.cli_output import bootstrap_status, progress_line, subdomain_status

T = TypeVar("T")

REQUEST_ID = "0e7c2f9a-5d1b-4c8e-9a3f-a4c0de700001"
CALL_TIMEOUT = 30.0
UNAVAILABLE_RETRIES = 5


@dataclass(frozen=True)
class DemoTenant:
    name: str = "Demo Health"
    slug: str = "demo"
    admin_email: str = "ada@demo.example"
    admin_given_name: str = "Ada"
    admin_family_name: str = "Lovelace"

    def request(self) -> pb.BootstrapOrganizationRequest:
        admin = pb.Admin(
            email=self.admin_email, given_name=self.admin_given_name, family_name=self.admin_family_name
        )
        return pb.BootstrapOrganizationRequest(
            name=self.name, slug=self.slug, admin=admin, request_id=REQUEST_ID
        )


@dataclass(frozen=True)
class DemoOutcome:
    organization_id: str
    fqdn: str
    bootstrap: str
    subdomain: str
    error: str
    # From the first event to organization.bootstrap.completed, by the events' own timestamps.
    bootstrap_seconds: float | None = None

    @property
    def succeeded(self) -> bool:
        return self.bootstrap == BootstrapState.COMPLETED and self.subdomain == SubdomainStatus.ACTIVE


async def run_demo(
    address: str, token: str, say: Callable[[str], None], tenant: DemoTenant = DemoTenant()
) -> DemoOutcome:
    """Bootstrap (or find) the demo tenant and print its progress until both workflows are final."""
    async with open_channel(address, token=token) as channel:
        stub = provisioning_pb2_grpc.ProvisioningServiceStub(channel)
        reply = await _retrying(lambda: stub.BootstrapOrganization(tenant.request(), timeout=CALL_TIMEOUT))
        verb = "found (bootstrapped by an earlier run)" if reply.already_existed else "bootstrap started"
        say(f"\nDemo tenant {tenant.slug!r}: {verb} → {reply.subdomain_fqdn}")
        request = pb.WatchBootstrapRequest(organization_id=reply.organization_id)
        first: float | None = None
        took: float | None = None
        async for item in stub.WatchBootstrap(request):
            say(f"  {progress_line(item)}")
            stamp = item.event.created_at.ToNanoseconds() / 1e9
            first = stamp if first is None else first
            if item.event.event_type == EventType.BOOTSTRAP_COMPLETED:
                took = stamp - first
        final = await _retrying(
            lambda: stub.GetBootstrap(
                pb.GetBootstrapRequest(organization_id=reply.organization_id), timeout=CALL_TIMEOUT
            )
        )
    view = final.bootstrap
    return DemoOutcome(
        organization_id=reply.organization_id,
        fqdn=view.subdomain_fqdn,
        bootstrap=bootstrap_status(view.status),
        subdomain=subdomain_status(view.subdomain_status),
        error=view.error,
        bootstrap_seconds=took,
    )


async def _retrying(call: Callable[[], Awaitable[T]]) -> T:
    """Every call here is idempotent; a service that just started may still refuse connections."""
    for attempt in range(UNAVAILABLE_RETRIES):
        try:
            return await call()
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.UNAVAILABLE:
                raise
        await asyncio.sleep(0.5 * 2**attempt)
    return await call()
