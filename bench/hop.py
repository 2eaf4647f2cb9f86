"""The gRPC hop: a call through our service vs the same upstream requests made directly with httpx.

"The same call" means the upstream requests the service makes for it, in the same order, so the
ratio is the cost of the hop (gRPC, auth, validation, logging, error mapping), not of extra work:
- DNS CreateRecord: list records by name (the ownership check), then POST the record;
- identity CreateOrganization: read the org by id (absent), POST /v2/organizations, read it back,
  mark it as A4C's (org metadata).
Every call creates a new record or organization; calls are sequential after a short warm-up.

Each side's upstream requests are counted by the emulator itself: a zero-second latency rule on
every path makes the sandbox report each request it saw (bench/seed.py reads the same report), so
the row says how many requests a call made, and `REASONS` why each is there.
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.api.identity.v1 import identity_pb2, identity_pb2_grpc
from a4c.common.client import open_channel
from a4c.sandbox.cloudflare.app import DEFAULT_TOKEN
from bench.report import Sample, ratio, summarize
from bench.stack import ZONE, Stack

WARMUP = 5
# Why the service makes each upstream request of the call (keyed as `upstream_requests` reports them).
REASONS = {
    "dns_create_record": {
        "GET /client/v4/zones/{id}/dns_records": "ownership and idempotency: the records already on "
        "the name decide between create, no-op (ours, same content), update (ours) and refusal (not "
        "ours); the one request beyond the create itself",
        "POST /client/v4/zones/{id}/dns_records": "the create itself",
        # The zone id is looked up once per process and cached: there is no per-call GET /zones.
    },
    "identity_create_organization": {
        "GET /admin/v1/orgs/{id}": "twice: idempotency first (an organization already made under this "
        "id, by a retried activity, is returned instead of a second create), then the read-back "
        "(Zitadel has answered success without creating, zitadel/zitadel#10330)",
        "POST /v2/organizations": "the create itself, with its first admin",
        "POST /management/v1/metadata/managed-by": "the ownership mark (issue 14): the service only "
        "ever reads, grants in and deletes organizations A4C created",
    },
}
_ID = re.compile(r"/[0-9a-f]{8}-[0-9a-f-]{27}|/[0-9a-f]{32}|/\d{6,}")


def _shape(path: str) -> str:
    """A request path with its ids generalised, so one call's requests group by kind."""
    return _ID.sub("/{id}", path)


@contextlib.asynccontextmanager
async def counted(faults: str) -> AsyncIterator[Callable[[], Awaitable[dict[str, int]]]]:
    """While open, the emulator behind `faults` logs every request (a 0 s latency rule); the yielded
    function returns the requests seen so far by method and path shape, and starts counting anew."""
    async with httpx.AsyncClient() as http:
        (await http.delete(faults)).raise_for_status()
        (await http.post(faults, json={"faults": [{"kind": "latency", "seconds": 0}]})).raise_for_status()

        async def take() -> dict[str, int]:
            delays = (await http.get(faults)).raise_for_status().json()["delays"]
            (await http.delete(faults)).raise_for_status()
            (await http.post(faults, json={"faults": [{"kind": "latency", "seconds": 0}]})).raise_for_status()
            return dict(Counter(f"{d['method']} {_shape(d['path'])}" for d in delays))

        try:
            yield take
        finally:
            (await http.delete(faults)).raise_for_status()


def _per_call(requests: dict[str, int], calls: int) -> dict[str, float]:
    return {kind: round(n / calls, 2) for kind, n in sorted(requests.items())}


async def _timed(call: Callable[[int], Awaitable[object]], count: int) -> Sample:
    for i in range(WARMUP):
        await call(-1 - i)
    values = []
    for i in range(count):
        started = time.perf_counter()
        await call(i)
        values.append(time.perf_counter() - started)
    return Sample(values)


async def _compare(
    direct: Callable[[int], Awaitable[object]],
    service: Callable[[int], Awaitable[object]],
    count: int,
    faults: str,
    reasons: dict[str, str],
) -> dict[str, object]:
    async with counted(faults) as take:
        await take()  # what came before (the zone lookup of the direct side) is not a call's
        d = summarize(await _timed(direct, count))
        direct_requests = _per_call(await take(), WARMUP + count)
        s = summarize(await _timed(service, count))
        service_requests = _per_call(await take(), WARMUP + count)
    return {
        "direct": d,
        "service": s,
        "ratio_p50": ratio(s["p50_ms"], d["p50_ms"]),
        "upstream_requests": {"direct": direct_requests, "service": service_requests, "why": reasons},
    }


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
            faults = stack.sandbox["faults"]["cloudflare"]
            return await _compare(direct, through_service, count, faults, REASONS["dns_create_record"])
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
            mark = {"value": base64.b64encode(b"a4c").decode()}
            headers = {"x-zitadel-orgid": org}
            (
                await http.post("/management/v1/metadata/managed-by", json=mark, headers=headers)
            ).raise_for_status()

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
            faults = stack.sandbox["faults"]["zitadel"]
            reasons = REASONS["identity_create_organization"]
            return await _compare(direct, through_service, count, faults, reasons)
        finally:
            await channel.close()
