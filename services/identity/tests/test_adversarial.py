"""Issue 14's attacks on the identity service, as a caller already inside the cluster would make them.

Each row is one hostile request. It must be refused with the code the row names, and the sandbox
Zitadel must be exactly as before: no organization, user, membership, grant, metadata or email
created, changed or deleted. On the instance for every row: a tenant A4C created (through the
service), another organization of the instance that A4C did not create (with a user), and the
instance's own organization (its service account).
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
import pytest

from a4c.api.identity.v1 import identity_pb2 as pb
from a4c.api.identity.v1 import identity_pb2_grpc
from a4c.devstack.emulators import RunningZitadel

INVALID = grpc.StatusCode.INVALID_ARGUMENT
HIDDEN = grpc.StatusCode.NOT_FOUND  # an org A4C did not create answers as one that does not exist
TAKEN = grpc.StatusCode.ALREADY_EXISTS
OTHER_ORG = grpc.StatusCode.FAILED_PRECONDITION
# What a row may not change (tokens and keys are the emulator's credentials, not the instance's data).
WATCHED = (
    "orgs",
    "users",
    "members",
    "projects",
    "project_grants",
    "user_grants",
    "user_metadata",
    "org_metadata",
    "emails",
    "sequence",
)


@dataclass(frozen=True)
class Scene:
    tenant_id: str  # created by A4C
    tenant_admin: str
    foreign_id: str  # created in Zitadel by someone else
    foreign_user: str
    platform_id: str  # the instance's own organization
    platform_user: str


Request = (
    pb.CreateOrganizationRequest
    | pb.GetOrganizationRequest
    | pb.DeleteOrganizationRequest
    | pb.GrantRoleRequest
)
Attack = Callable[[Scene], Request]


def new_org(
    name: str = "Initech",
    email: str = "bill@initech.test",
    given: str = "Bill",
    family: str = "Lumbergh",
    org_id: str = "",
    **admin: str,
) -> pb.CreateOrganizationRequest:
    person = pb.Admin(email=email, given_name=given, family_name=family, **admin)
    return pb.CreateOrganizationRequest(organization_id=org_id or str(uuid.uuid4()), name=name, admin=person)


def remove(org_id: str) -> pb.DeleteOrganizationRequest:
    return pb.DeleteOrganizationRequest(organization_id=org_id, request_id="cleanup-1")


def grant(org_id: str, user_id: str, project_id: str = "") -> pb.GrantRoleRequest:
    return pb.GrantRoleRequest(organization_id=org_id, user_id=user_id, project_id=project_id)


# (id, the request made against the scene, expected code)
ATTACKS: list[tuple[str, Attack, grpc.StatusCode]] = [
    # names and addresses: the same rules as provisioning, control characters nowhere
    ("name-crlf", lambda s: new_org(name="Initech\r\nBcc: victim@example.com"), INVALID),
    ("name-bidi-override", lambda s: new_org(name="Initech\u202egnp.exe"), INVALID),
    ("name-zero-width", lambda s: new_org(name="Ini\u200btech"), INVALID),
    ("name-blank", lambda s: new_org(name="   "), INVALID),
    ("name-too-long", lambda s: new_org(name="I" * 201), INVALID),
    ("given-name-newline", lambda s: new_org(given="Bill\nAdmin"), INVALID),
    ("family-name-nul", lambda s: new_org(family="Lumb\x00ergh"), INVALID),
    ("email-header-injection", lambda s: new_org(email="bill@initech.test\r\nBcc: x@evil.example"), INVALID),
    ("email-non-ascii-domain", lambda s: new_org(email="bill@initech.t\u0435st"), INVALID),
    ("email-without-tld", lambda s: new_org(email="bill@initech"), INVALID),
    ("email-two-ats", lambda s: new_org(email="bill@evil.example@initech.test"), INVALID),
    ("username-control", lambda s: new_org(username="bill\x1b[31m"), INVALID),
    # organizations A4C did not create: never adopted, read, deleted or granted in
    ("create-over-the-platform-org", lambda s: new_org(org_id=s.platform_id), TAKEN),
    ("create-over-a-foreign-org", lambda s: new_org(org_id=s.foreign_id), TAKEN),
    ("get-the-platform-org", lambda s: pb.GetOrganizationRequest(organization_id=s.platform_id), HIDDEN),
    ("get-a-foreign-org", lambda s: pb.GetOrganizationRequest(organization_id=s.foreign_id), HIDDEN),
    ("delete-the-platform-org", lambda s: remove(s.platform_id), HIDDEN),
    ("delete-a-foreign-org", lambda s: remove(s.foreign_id), HIDDEN),
    ("grant-in-the-platform-org", lambda s: grant(s.platform_id, s.platform_user), HIDDEN),
    ("grant-in-a-foreign-org", lambda s: grant(s.foreign_id, s.foreign_user), HIDDEN),
    # roles: only the configured project (and so only its configured roles)
    ("grant-on-another-project", lambda s: grant(s.tenant_id, s.tenant_admin, "300000000000000099"), INVALID),
    ("grant-on-a-path-like-project", lambda s: grant(s.tenant_id, s.tenant_admin, "1/../grants"), INVALID),
    ("grant-to-a-foreign-user", lambda s: grant(s.tenant_id, s.foreign_user), OTHER_ORG),
    ("grant-to-the-service-account", lambda s: grant(s.tenant_id, s.platform_user), OTHER_ORG),
]  # fmt: skip


def snapshot(zitadel: RunningZitadel) -> dict[str, Any]:
    with zitadel.store.read() as state:
        return {name: copy.deepcopy(getattr(state, name)) for name in WATCHED}


async def call(identity: identity_pb2_grpc.IdentityServiceAsyncStub, request: Request) -> object:
    if isinstance(request, pb.CreateOrganizationRequest):
        return await identity.CreateOrganization(request, timeout=10)
    if isinstance(request, pb.GetOrganizationRequest):
        return await identity.GetOrganization(request, timeout=10)
    if isinstance(request, pb.DeleteOrganizationRequest):
        return await identity.DeleteOrganization(request, timeout=10)
    return await identity.GrantRole(request, timeout=10)


@pytest.fixture
async def scene(zitadel: RunningZitadel, identity: identity_pb2_grpc.IdentityServiceAsyncStub) -> Scene:
    tenant = await identity.CreateOrganization(new_org(name="Acme", email="ada@acme.test"), timeout=10)
    foreign_id = str(uuid.uuid4())
    human = {"profile": {"givenName": "Eve", "familyName": "Other"}, "email": {"email": "eve@other.test"}}
    async with zitadel.client() as client:
        added = await client.post(
            "/v2/organizations",
            json={"name": "Not A4C's", "organizationId": foreign_id, "admins": [{"human": human}]},
        )
    assert added.status_code == 201, added.text
    config = zitadel.config
    return Scene(
        tenant.organization.id,
        tenant.admin_user_id,
        foreign_id,
        added.json()["createdAdmins"][0]["userId"],
        config.platform_org_id,
        config.service_user_id,
    )


@pytest.mark.parametrize(("attack", "code"), [(a, c) for _, a, c in ATTACKS], ids=[i for i, _, _ in ATTACKS])
async def test_the_attack_is_refused_and_zitadel_is_unchanged(
    zitadel: RunningZitadel,
    identity: identity_pb2_grpc.IdentityServiceAsyncStub,
    scene: Scene,
    attack: Attack,
    code: grpc.StatusCode,
) -> None:
    request = attack(scene)
    before = snapshot(zitadel)

    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await call(identity, request)

    assert refused.value.code() == code, refused.value.details()
    assert snapshot(zitadel) == before


async def test_a_foreign_org_is_answered_exactly_as_a_missing_one(
    identity: identity_pb2_grpc.IdentityServiceAsyncStub, scene: Scene
) -> None:
    """NOT_FOUND must not reveal that the organization exists: same reason, same words."""
    answers = []
    for org_id in (scene.foreign_id, scene.platform_id, "400000000000000404"):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await identity.GetOrganization(pb.GetOrganizationRequest(organization_id=org_id), timeout=10)
        answers.append(((refused.value.details() or "").replace(org_id, "<id>"), refused.value.code()))

    assert len(set(answers)) == 1


async def test_the_legitimate_requests_next_to_the_attacks_still_work(
    identity: identity_pb2_grpc.IdentityServiceAsyncStub, scene: Scene
) -> None:
    """The table refuses attacks, not the worker's own calls (which would make every row pass)."""
    got = await identity.GetOrganization(
        pb.GetOrganizationRequest(organization_id=scene.tenant_id), timeout=10
    )
    project = (await identity.GrantRole(grant(scene.tenant_id, scene.tenant_admin), timeout=10)).role_keys
    deleted = await identity.DeleteOrganization(
        pb.DeleteOrganizationRequest(organization_id=scene.tenant_id), timeout=10
    )

    assert got.organization.name == "Acme"
    assert list(project) == ["provider_admin"]
    assert deleted.deleted is True
