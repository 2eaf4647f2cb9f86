"""Issue 14's attacks on the DNS service, as a caller already inside the cluster would make them.

Each row is one hostile request. It must be refused with the code the row names, and the sandbox
Cloudflare must be exactly as before: no record created, changed or deleted in either zone. A
victim tenant's record (made the legitimate way) and records A4C does not manage (made by a person
behind the service's back) are on the zone for every row.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from a4c.api.dns.v1 import dns_pb2, dns_pb2_grpc
from a4c.devstack.emulators import CloudflareSandbox
from a4c.sandbox.cloudflare.store import Batch
from a4c.sandbox.cloudflare.validation import RecordSpec

ZONE = "firstovertheline.com"
OTHER_ZONE = "analytics4change.com"  # the other environment's zone, on the same account
APP = f"app.{ZONE}"
CNAME, A, TXT = dns_pb2.RECORD_TYPE_CNAME, dns_pb2.RECORD_TYPE_A, dns_pb2.RECORD_TYPE_TXT
INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_OURS = grpc.StatusCode.FAILED_PRECONDITION
ATTACKER = "6f1b7c0e-0000-4000-8000-00000000a77a"


@dataclass(frozen=True)
class Scene:
    """What is on the zone before each attack."""

    victim_name: str
    victim_owner: str
    victim_id: str
    foreign_name: str  # an A record a person made, no ownership marker
    foreign_id: str


def create(
    name: str, content: str = APP, owner: str = ATTACKER, **fields: Any
) -> dns_pb2.CreateRecordRequest:
    values: dict[str, Any] = {
        "name": name,
        "type": CNAME,
        "content": content,
        "proxied": True,
        "owner": owner,
    }
    return dns_pb2.CreateRecordRequest(**(values | fields))


def fresh() -> str:
    """A name nobody holds yet."""
    return f"acme-{uuid.uuid4().hex[:8]}.{ZONE}"


def delete(record_id: str, owner: str = ATTACKER, **fields: Any) -> dns_pb2.DeleteRecordRequest:
    return dns_pb2.DeleteRecordRequest(id=record_id, owner=owner, **fields)


Attack = Callable[[Scene], dns_pb2.CreateRecordRequest | dns_pb2.DeleteRecordRequest]

# (id, the request made against the scene, expected code)
ATTACKS: list[tuple[str, Attack, grpc.StatusCode]] = [
    # subdomain hijack: the victim's name, their owner id, the attacker's target
    ("hijack-with-victims-owner", lambda s: create(s.victim_name, "evil.example", s.victim_owner), INVALID),
    ("hijack-with-own-owner", lambda s: create(s.victim_name, "evil.example"), INVALID),
    ("take-over-victims-name", lambda s: create(s.victim_name), NOT_OURS),
    ("unproxy-victims-record", lambda s: create(s.victim_name, owner=s.victim_owner, proxied=False), INVALID),
    ("victims-name-as-a-record", lambda s: create(s.victim_name, "203.0.113.66", type=A), INVALID),
    ("name-of-unmanaged-record", lambda s: create(s.foreign_name), NOT_OURS),
    # names that are never a tenant's
    ("wildcard", lambda s: create(f"*.{ZONE}"), INVALID),
    ("wildcard-below-victim", lambda s: create(f"*.{s.victim_name}"), INVALID),
    ("apex", lambda s: create(ZONE), INVALID),
    ("apex-with-dot", lambda s: create(f"{ZONE}."), INVALID),
    ("www", lambda s: create(f"www.{ZONE}"), INVALID),
    ("app-the-target-of-every-tenant", lambda s: create(APP, "evil.example"), INVALID),
    ("mail", lambda s: create(f"mail.{ZONE}"), INVALID),
    ("smtp", lambda s: create(f"smtp.{ZONE}"), INVALID),
    ("autodiscover", lambda s: create(f"autodiscover.{ZONE}"), INVALID),
    ("autoconfig", lambda s: create(f"autoconfig.{ZONE}"), INVALID),
    ("mta-sts", lambda s: create(f"mta-sts.{ZONE}"), INVALID),
    ("ns1", lambda s: create(f"ns1.{ZONE}"), INVALID),
    ("login", lambda s: create(f"login.{ZONE}"), INVALID),
    ("sso", lambda s: create(f"SSO.{ZONE}."), INVALID),
    ("dmarc-txt", lambda s: create(f"_dmarc.{ZONE}", "v=DMARC1; p=none", type=TXT, proxied=False), INVALID),
    ("acme-challenge-txt", lambda s: create(f"_acme-challenge.{ZONE}", "token", type=TXT), INVALID),
    ("acme-challenge-below-victim", lambda s: create(f"_acme-challenge.{s.victim_name}"), INVALID),
    ("underscore-label", lambda s: create(f"_tenant.{ZONE}"), INVALID),
    ("punycode-label", lambda s: create(f"xn--pple-43d.{ZONE}"), INVALID),
    ("unicode-look-alike", lambda s: create(f"\u0430pple.{ZONE}"), INVALID),  # Cyrillic a
    ("deeper-name", lambda s: create(f"portal.acme.{ZONE}"), INVALID),
    ("other-environments-zone",
     lambda s: create(f"acme.{OTHER_ZONE}", f"app.{OTHER_ZONE}", zone=OTHER_ZONE), INVALID),
    ("other-zone-name-in-our-zone", lambda s: create(f"acme.{OTHER_ZONE}"), INVALID),
    ("other-zone-suffix-label", lambda s: create(f"acme.{OTHER_ZONE}.{ZONE}"), INVALID),
    # the record's type, content and settings are the service's, not the caller's
    ("a-record", lambda s: create(fresh(), "203.0.113.66", type=A), INVALID),
    ("txt-record", lambda s: create(fresh(), "v=spf1 +all", type=TXT), INVALID),
    ("cname-to-attacker", lambda s: create(fresh(), "evil.example"), INVALID),
    ("not-proxied", lambda s: create(fresh(), proxied=False), INVALID),
    ("no-owner", lambda s: create(fresh(), owner=""), INVALID),
    ("owner-forging-a-marker", lambda s: create(fresh(), owner=f"x owner={s.victim_owner}"), INVALID),
    # deletes: the owner is mandatory and must be the record's
    ("delete-without-owner", lambda s: delete(s.victim_id, owner=""), INVALID),
    ("delete-with-another-owner", lambda s: delete(s.victim_id), NOT_OURS),
    ("delete-unmanaged-record", lambda s: delete(s.foreign_id), NOT_OURS),
    ("delete-unmanaged-with-victims-owner", lambda s: delete(s.foreign_id, owner=s.victim_owner), NOT_OURS),
    ("delete-in-other-zone", lambda s: delete(s.victim_id, owner=s.victim_owner, zone=OTHER_ZONE), INVALID),
]  # fmt: skip


def everything(sandbox: CloudflareSandbox) -> dict[str, list[Any]]:
    """Every record of both zones, with content, comment and modification time."""
    zones = (ZONE, OTHER_ZONE)
    return {zone: sorted(sandbox.store.records(sandbox.zone_id(zone)), key=lambda r: r.id) for zone in zones}


@pytest.fixture
async def scene(dns: dns_pb2_grpc.DnsServiceAsyncStub, sandbox: CloudflareSandbox) -> Scene:
    victim_name, victim_owner = f"victim-{uuid.uuid4().hex[:8]}.{ZONE}", str(uuid.uuid4())
    victim = await dns.CreateRecord(create(victim_name, owner=victim_owner), timeout=10)
    foreign_name = f"legacy-{uuid.uuid4().hex[:8]}.{ZONE}"
    spec = RecordSpec(type="A", name=foreign_name, content="192.0.2.80")
    foreign = sandbox.store.apply(sandbox.zone_id(ZONE), Batch(posts=[spec])).posts[0]
    return Scene(victim_name, victim_owner, victim.record.id, foreign_name, foreign.id)


async def send(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, request: dns_pb2.CreateRecordRequest | dns_pb2.DeleteRecordRequest
) -> object:
    if isinstance(request, dns_pb2.CreateRecordRequest):
        return await dns.CreateRecord(request, timeout=10)
    return await dns.DeleteRecord(request, timeout=10)


@pytest.mark.parametrize(("attack", "code"), [(a, c) for _, a, c in ATTACKS], ids=[i for i, _, _ in ATTACKS])
async def test_the_attack_is_refused_and_the_zone_is_unchanged(
    dns: dns_pb2_grpc.DnsServiceAsyncStub,
    sandbox: CloudflareSandbox,
    scene: Scene,
    attack: Attack,
    code: grpc.StatusCode,
) -> None:
    request = attack(scene)
    before = everything(sandbox)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await send(dns, request)

    assert refused.value.code() == code, refused.value.details()
    assert everything(sandbox) == before


async def test_the_legitimate_requests_next_to_the_attacks_still_work(
    dns: dns_pb2_grpc.DnsServiceAsyncStub, scene: Scene
) -> None:
    """The table refuses attacks, not the worker's own calls (which would make every row pass)."""
    again = await dns.CreateRecord(
        create(scene.victim_name.upper() + ".", owner=scene.victim_owner), timeout=10
    )
    deleted = await dns.DeleteRecord(delete(scene.victim_id, owner=scene.victim_owner), timeout=10)

    assert (again.created, again.updated, again.record.id) == (False, False, scene.victim_id)
    assert deleted.deleted is True
