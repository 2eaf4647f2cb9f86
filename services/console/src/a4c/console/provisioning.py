"""The one upstream the console calls: the provisioning gRPC API, under the console's own principal.

Every call names the signed-in operator (``a4c-on-behalf-of``), so provisioning records them as the
actor of the events it causes; what provisioning answers is translated here, once, into this module's
small error hierarchy (the pages turn it into a banner, a field error or a 403/404).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

import grpc

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.api.provisioning.v1 import provisioning_pb2_grpc
from a4c.common.auth import ON_BEHALF_OF_HEADER
from a4c.common.errors import details_of

T = TypeVar("T")
CALL_TIMEOUT = 10.0  # seconds for a unary call; a page should fail with a banner, not hang
ORGANIZATIONS_PAGE = 25
EVENTS_PAGE = 50


class ProvisioningError(Exception):
    """Something provisioning refused or could not do; ``message`` is safe to show an operator."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Unavailable(ProvisioningError):
    """Provisioning cannot be reached (or did not answer in time)."""


class NotFound(ProvisioningError):
    pass


class Denied(ProvisioningError):
    """Provisioning refused the console's principal (a missing scope: a deployment error)."""


class Conflict(ProvisioningError):
    """ALREADY_EXISTS or FAILED_PRECONDITION: e.g. the slug is taken, the bootstrap already ended."""

    def __init__(self, message: str, fields: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = dict(fields or {})


class Invalid(ProvisioningError):
    """INVALID_ARGUMENT: ``fields`` maps each bad field (``slug``, ``admin.email``) to its problem."""

    def __init__(self, message: str, fields: Mapping[str, str]) -> None:
        super().__init__(message)
        self.fields = dict(fields)


def translate(error: grpc.aio.AioRpcError) -> ProvisioningError:
    details = details_of(error)
    code = details.code
    fields = {v.field: v.description for v in details.field_violations}
    if code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return Unavailable("the provisioning service is unreachable right now")
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return Invalid(details.message, fields)
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(details.message)
    if code in (grpc.StatusCode.ALREADY_EXISTS, grpc.StatusCode.FAILED_PRECONDITION):
        return Conflict(details.message, fields)
    if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
        return Denied("the console is not allowed to do this at provisioning")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return ProvisioningError("too many requests; try again in a minute")
    return ProvisioningError("the provisioning service failed; see its logs")


@dataclass(frozen=True)
class NewBootstrap:
    name: str
    slug: str
    admin_email: str
    admin_given_name: str
    admin_family_name: str
    request_id: str = ""


@dataclass(frozen=True)
class OrganizationFilter:
    subdomain_status: int = 0  # pb.SubdomainStatus; 0 any
    bootstrap_status: int = 0  # pb.BootstrapStatus; 0 any
    query: str = ""
    page_token: str = ""


@dataclass
class Provisioning:
    """The calls the pages make, each on behalf of ``operator`` (their login name)."""

    stub: provisioning_pb2_grpc.ProvisioningServiceAsyncStub
    token: str = field(repr=False)

    def _metadata(self, operator: str) -> tuple[tuple[str, str], ...]:
        # The token goes explicitly on every call: the kit's channel interceptor covers unary calls only.
        return (("authorization", f"Bearer {self.token}"), (ON_BEHALF_OF_HEADER, operator))

    async def _call(self, make: Callable[[], Awaitable[T]]) -> T:
        try:
            return await make()
        except grpc.aio.AioRpcError as error:
            raise translate(error) from None

    async def list_organizations(
        self, operator: str, where: OrganizationFilter, page_size: int = ORGANIZATIONS_PAGE
    ) -> pb.ListOrganizationsResponse:
        request = pb.ListOrganizationsRequest(
            subdomain_status=where.subdomain_status,  # type: ignore[arg-type]
            bootstrap_status=where.bootstrap_status,  # type: ignore[arg-type]
            page_size=page_size,
            page_token=where.page_token,
            query=where.query,
        )
        return await self._call(
            lambda: self.stub.ListOrganizations(
                request, metadata=self._metadata(operator), timeout=CALL_TIMEOUT
            )
        )

    async def bootstrap(self, operator: str, organization_id: str) -> pb.Bootstrap:
        reply = await self._call(
            lambda: self.stub.GetBootstrap(
                pb.GetBootstrapRequest(organization_id=organization_id),
                metadata=self._metadata(operator),
                timeout=CALL_TIMEOUT,
            )
        )
        return reply.bootstrap

    async def organization(self, operator: str, organization_id: str) -> pb.Organization:
        reply = await self._call(
            lambda: self.stub.GetOrganization(
                pb.GetOrganizationRequest(organization_id=organization_id),
                metadata=self._metadata(operator),
                timeout=CALL_TIMEOUT,
            )
        )
        return reply.organization

    async def events(
        self, operator: str, organization_id: str, page_token: str = ""
    ) -> pb.ListOrganizationEventsResponse:
        return await self._call(
            lambda: self.stub.ListOrganizationEvents(
                pb.ListOrganizationEventsRequest(
                    organization_id=organization_id, page_size=EVENTS_PAGE, page_token=page_token
                ),
                metadata=self._metadata(operator),
                timeout=CALL_TIMEOUT,
            )
        )

    async def start_bootstrap(self, operator: str, new: NewBootstrap) -> pb.BootstrapOrganizationResponse:
        request = pb.BootstrapOrganizationRequest(
            name=new.name,
            slug=new.slug,
            admin=pb.Admin(
                email=new.admin_email, given_name=new.admin_given_name, family_name=new.admin_family_name
            ),
            request_id=new.request_id,
        )
        return await self._call(
            lambda: self.stub.BootstrapOrganization(
                request, metadata=self._metadata(operator), timeout=CALL_TIMEOUT
            )
        )

    async def cancel(self, operator: str, organization_id: str, reason: str) -> pb.CancelBootstrapResponse:
        return await self._call(
            lambda: self.stub.CancelBootstrap(
                pb.CancelBootstrapRequest(organization_id=organization_id, reason=reason),
                metadata=self._metadata(operator),
                timeout=CALL_TIMEOUT,
            )
        )

    async def retry_subdomain(self, operator: str, organization_id: str) -> pb.RetrySubdomainResponse:
        return await self._call(
            lambda: self.stub.RetrySubdomain(
                pb.RetrySubdomainRequest(organization_id=organization_id),
                metadata=self._metadata(operator),
                timeout=CALL_TIMEOUT,
            )
        )

    async def offboard(
        self, operator: str, organization_id: str, reason: str
    ) -> pb.OffboardOrganizationResponse:
        return await self._call(
            lambda: self.stub.OffboardOrganization(
                pb.OffboardOrganizationRequest(organization_id=organization_id, reason=reason),
                metadata=self._metadata(operator),
                timeout=CALL_TIMEOUT,
            )
        )

    async def cancel_offboarding(
        self, operator: str, organization_id: str, reason: str
    ) -> pb.CancelOffboardingResponse:
        return await self._call(
            lambda: self.stub.CancelOffboarding(
                pb.CancelOffboardingRequest(organization_id=organization_id, reason=reason),
                metadata=self._metadata(operator),
                timeout=CALL_TIMEOUT,
            )
        )

    async def watch(
        self, operator: str, organization_id: str, after_sequence: int
    ) -> AsyncIterator[pb.WatchBootstrapResponse]:
        """Events after ``after_sequence`` then live ones, until the bootstrap and subdomain are final."""
        call = self.stub.WatchBootstrap(
            pb.WatchBootstrapRequest(organization_id=organization_id, after_sequence=after_sequence),
            metadata=self._metadata(operator),
        )
        try:
            async for item in call:
                yield item
        except grpc.aio.AioRpcError as error:
            raise translate(error) from None
        finally:
            call.cancel()
