"""A real aio server on port 0 registering all three a4c.api services (their generated bases)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc
import pytest
from google.protobuf import descriptor_pool

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.api.provisioning.v1 import provisioning_pb2, provisioning_pb2_grpc
from a4c.common.auth import Credential, MethodScopes
from a4c.common.config import ServerSettings
from a4c.common.errors import FieldViolation, abort
from a4c.common.server import GrpcServer, ServiceBinding, create_server

TOKEN = "test-token-0123456789abcdef"  # principal "tester": read and write
READER_TOKEN = "reader-token-0123456789abcdef"  # principal "reader": read only
PRINCIPALS = (
    Credential.of("tester", ("read", "write"), TOKEN),
    Credential.of("reader", ("read",), READER_TOKEN),
)


def every_method(service: str, scope: str, **others: str) -> MethodScopes:
    """``scope`` for every method of ``service``, except those named in ``others``."""
    methods = descriptor_pool.Default().FindServiceByName(service).methods
    return MethodScopes({m.name: others.get(m.name, scope) for m in methods})


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


DNS = dns_pb2.DESCRIPTOR.services_by_name["DnsService"].full_name
IDENTITY = identity_pb2.DESCRIPTOR.services_by_name["IdentityService"].full_name
PROVISIONING = provisioning_pb2.DESCRIPTOR.services_by_name["ProvisioningService"].full_name


def all_bindings() -> list[ServiceBinding]:
    """DNS: GetRecord needs `read`, the rest `write`; identity `write`; provisioning `read`."""
    return [
        ServiceBinding(
            DNS,
            dns_pb2_grpc.add_DnsServiceServicer_to_server,
            DnsThatValidates(),
            scopes=every_method(DNS, "write", GetRecord="read"),
        ),
        ServiceBinding(
            IDENTITY,
            identity_pb2_grpc.add_IdentityServiceServicer_to_server,
            identity_pb2_grpc.IdentityServiceServicer(),
            scopes=every_method(IDENTITY, "write"),
        ),
        ServiceBinding(
            PROVISIONING,
            provisioning_pb2_grpc.add_ProvisioningServiceServicer_to_server,
            provisioning_pb2_grpc.ProvisioningServiceServicer(),
            scopes=every_method(PROVISIONING, "read"),
        ),
    ]


@pytest.fixture
async def server() -> AsyncIterator[GrpcServer]:
    settings = ServerSettings(host="127.0.0.1", port=0, principals=PRINCIPALS)
    running = create_server(settings, all_bindings())
    await running.start()
    yield running
    await running.stop(0)
