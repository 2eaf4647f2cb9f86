"""The gRPC hop: a call through our service vs the same upstream requests made directly with httpx.

"The same call" means the upstream requests the service makes for it, in the same order, so the
ratio is the cost of the hop (gRPC, auth, validation, logging, error mapping), not of extra work:
- DNS CreateRecord: list records by name (the ownership check), then POST the record;
- identity CreateOrganization: read the org by id (absent), POST /v2/organizations, read it back.
Every call creates a new record or organization; calls are sequential after a short warm-up.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

import httpx

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.common.client import open_channel
from a4c.sandbox.cloudflare.app import DEFAULT_TOKEN
from bench.report import Sample, ratio, summarize
from bench.stack import ZONE, Stack

WARMUP = 5


async def _timed(call: Callable[[int], Awaitable[object]], count: int) -> Sample:
    for i in range(WARMUP):
        await call(-1 - i)
    values = []
    for i in range(count):
        started = time.perf_counter()
        await call(i)
        values.append(time.perf_counter() - started)
    return Sample(values)


def _compare(direct: Sample, service: Sample) -> dict[str, object]:
    d, s = summarize(direct), summarize(service)
    return {"direct": d, "service": s, "ratio_p50": ratio(s["p50_ms"], d["p50_ms"])}


async def dns_hop(stack: Stack, count: int) -> dict[str, object]:
    channel = open_channel(stack.addresses["dns"], token=stack.wiring.worker_token)  # as the worker
    stub = dns_pb2_grpc.DnsServiceStub(channel)
    headers = {"authorization": f"Bearer {DEFAULT_TOKEN}"}
    async with httpx.AsyncClient(base_url=stack.sandbox["cloudflare_api"], headers=headers) as http:
        zones = (await http.get("/zones", params={"name": ZONE})).raise_for_status().json()
        records = f"/zones/{zones['result'][0]['id']}/dns_records"

        async def direct(i: int) -> None:
            name = f"hop-direct-{uuid.uuid4().hex[:12]}.{ZONE}"
            found = await http.get(records, params={"name": name, "page": 1, "per_page": 100})
            found.raise_for_status()
            body = {
                "type": "CNAME",
                "name": name,
                "content": f"app.{ZONE}",
                "ttl": 1,
                "proxied": True,
                "comment": f"managed-by=a4c owner={uuid.uuid4()}",
            }
            (await http.post(records, json=body)).raise_for_status()

        async def through_service(i: int) -> None:
            await stub.CreateRecord(
                dns_pb2.CreateRecordRequest(
                    zone=ZONE,
                    name=f"hop-grpc-{uuid.uuid4().hex[:12]}.{ZONE}",
                    type=dns_pb2.RECORD_TYPE_CNAME,
                    content=f"app.{ZONE}",
                    ttl=1,
                    proxied=True,
                    owner=str(uuid.uuid4()),
                ),
                timeout=30,
            )

        try:
            return _compare(await _timed(direct, count), await _timed(through_service, count))
        finally:
            await channel.close()


async def identity_hop(stack: Stack, count: int) -> dict[str, object]:
    channel = open_channel(stack.addresses["identity"], token=stack.wiring.worker_token)
    stub = identity_pb2_grpc.IdentityServiceStub(channel)
    headers = {"authorization": f"Bearer {stack.zitadel.pat}"}
    async with httpx.AsyncClient(base_url=stack.sandbox["zitadel_api"], headers=headers) as http:

        async def direct(i: int) -> None:
            org, tag = str(uuid.uuid4()), uuid.uuid4().hex[:12]
            if (await http.get(f"/admin/v1/orgs/{org}")).status_code != 404:
                raise RuntimeError(f"organization {org} should not exist yet")
            admin = {
                "human": {
                    "userId": str(uuid.uuid4()),
                    "profile": {"givenName": "Ada", "familyName": "Lovelace"},
                    "email": {"email": f"ada@{tag}.example", "isVerified": True},
                },
                "roles": ["ORG_OWNER"],
            }
            body = {"name": f"Hop direct {tag}", "organizationId": org, "admins": [admin]}
            (await http.post("/v2/organizations", json=body)).raise_for_status()
            (await http.get(f"/admin/v1/orgs/{org}")).raise_for_status()

        async def through_service(i: int) -> None:
            tag = uuid.uuid4().hex[:12]
            await stub.CreateOrganization(
                identity_pb2.CreateOrganizationRequest(
                    organization_id=str(uuid.uuid4()),
                    name=f"Hop grpc {tag}",
                    admin=identity_pb2.Admin(
                        email=f"ada@{tag}.example", given_name="Ada", family_name="Lovelace"
                    ),
                ),
                timeout=30,
            )

        try:
            return _compare(await _timed(direct, count), await _timed(through_service, count))
        finally:
            await channel.close()
