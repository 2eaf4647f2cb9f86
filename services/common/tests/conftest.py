"""A real aio server on port 0 registering all three a4c.api services (their generated bases)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.api.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from a4c.common.config import ServerSettings
from a4c.common.errors import FieldViolation, abort
from a4c.common.server import GrpcServer, ServiceBinding, create_server

TOKEN = "test-token-0123456789abcdef"


class DnsThatValidates(dns_pb2_grpc.DnsServiceServicer):
    """GetRecord rejects an empty id with a field violation; everything else is unimplemented."""

    async def GetRecord(
        self, request: dns_pb2.GetRecordRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> dns_pb2.GetRecordResponse:
        if not request.id:
            await abort(
                context,
                grpc.StatusCode.INVALID_ARGUMENT,
                "invalid request",
                field_violations=[FieldViolation("id", "is required")],
            )
        return dns_pb2.GetRecordResponse(record=dns_pb2.Record(id=request.id))


def all_bindings() -> list[ServiceBinding]:
    return [
        ServiceBinding(
            dns_pb2.DESCRIPTOR.services_by_name["DnsService"].full_name,
            dns_pb2_grpc.add_DnsServiceServicer_to_server,
            DnsThatValidates(),
        ),
        ServiceBinding(
            identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name,
            identity_pb2_grpc.add_IdentityServiceServicer_to_server,
            identity_pb2_grpc.IdentityServiceServicer(),
        ),
        ServiceBinding(
            provisioning_pb2.DESCRIPTOR.services_by_name["ProvisioningService"].full_name,
            provisioning_pb2_grpc.add_ProvisioningServiceServicer_to_server,
            provisioning_pb2_grpc.ProvisioningServiceServicer(),
        ),
    ]


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    settings = ServerSettings(host="127.0.0.1", port=0, auth_tokens=(TOKEN,))
    running = create_server(settings, all_bindings())
    await running.start()
    yield running
    await running.stop(0)
