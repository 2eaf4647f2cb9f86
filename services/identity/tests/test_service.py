"""The identity service over gRPC against the sandbox Zitadel, over sockets."""

from __future__ import annotations

import asyncio
import uuid

import grpc
import pytest

from a4c.api.identity.v1 import identity_pb2 as pb
from a4c.api.identity.v1.identity_pb2_grpc import IdentityServiceStub
from a4c.common.errors import details_of
from a4c.devstack.emulators import RunningZitadel
from a4c.identity.operations import admin_user_id

from .conftest import TEMPLATE, identity_service, service_env


def new_org(
    name: str = "Acme Health", org_id: str = "", email: str = "ada@acme.test"
) -> pb.CreateOrganizationRequest:
    return pb.CreateOrganizationRequest(
        organization_id=org_id or str(uuid.uuid4()),
        name=name,
        admin=pb.Admin(email=email, given_name="Ada", family_name="Lovelace"),
        request_id="req-1",
    )


async def created_org(identity: IdentityServiceStub, **kw: str) -> pb.CreateOrganizationResponse:
    reply: pb.CreateOrganizationResponse = await identity.CreateOrganization(new_org(**kw), timeout=10)
    return reply


async def test_create_organization_twice_makes_one_org_and_says_so(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    request = new_org()

    first = await identity.CreateOrganization(request, timeout=10)
    second = await identity.CreateOrganization(request, timeout=10)

    assert (first.created, second.created) == (True, False)
    assert first.organization.id == second.organization.id == request.organization_id
    assert first.admin_user_id == second.admin_user_id == admin_user_id(request.organization_id)
    assert first.organization.name == "Acme Health"
    assert first.organization.state == "ACTIVE"
    assert first.organization.created_at.seconds > 0
    with zitadel.store.read() as state:
        assert [o.name for o in state.orgs.values()].count("Acme Health") == 1
        admin = state.users[first.admin_user_id]
        assert (admin.org_id, admin.email, admin.email_verified) == (
            request.organization_id,
            "ada@acme.test",
            True,
        )
        owners = [m for m in state.members if m.org_id == request.organization_id]
        assert [(m.user_id, m.roles) for m in owners] == [(first.admin_user_id, ["ORG_OWNER"])]


async def test_the_same_name_under_another_id_is_already_exists(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    await created_org(identity, name="Globex")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await identity.CreateOrganization(new_org("GLOBEX", email="other@globex.test"), timeout=10)

    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    details = details_of(caught.value)
    assert details.reason == "ORGANIZATION_ALREADY_EXISTS"
    assert "zitadel_error_id" not in details.metadata  # Zitadel's ids stay in the log
    assert details.metadata["http_status"] == "409"
    with zitadel.store.read() as state:
        assert len(state.orgs) == 2  # the platform org and Globex


async def test_an_admin_username_taken_elsewhere_is_told_apart_from_a_taken_name(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    await created_org(identity, name="Umbrella", email="shared@person.test")

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await identity.CreateOrganization(new_org("Other Corp", email="SHARED@person.test"), timeout=10)

    assert caught.value.code() == grpc.StatusCode.ALREADY_EXISTS
    details = details_of(caught.value)
    assert details.reason == "ADMIN_USERNAME_TAKEN"
    assert "zitadel_error_id" not in details.metadata  # Zitadel's ids stay in the log
    with zitadel.store.read() as state:
        assert "Other Corp" not in [o.name for o in state.orgs.values()]


async def test_a_duplicate_id_answered_with_success_is_read_back_not_believed(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    """Two callers race for one id under zitadel/zitadel#10330: both miss it when they look, both
    create; Zitadel answers the loser with success. The read-back tells the loser it did not create
    anything."""
    zitadel.store.behaviour.duplicate_org_id_quirk = True
    slow_create = {"kind": "latency", "seconds": 0.5, "method": "POST", "path": "/v2/organizations"}
    zitadel.faults.configure({"faults": [slow_create]})
    org_id = str(uuid.uuid4())

    first, second = await asyncio.gather(
        identity.CreateOrganization(new_org("Initech", org_id, "a@initech.test"), timeout=10),
        identity.CreateOrganization(new_org("Initrode", org_id, "b@initrode.test"), timeout=10),
    )

    assert zitadel.store.quirk_hits == 1  # the loser really was answered "success"
    assert sorted([first.created, second.created]) == [False, True]
    winner = first if first.created else second
    loser = second if first.created else first
    assert loser.organization.name == winner.organization.name  # the org that exists, not the one asked for
    assert loser.admin_user_id == winner.admin_user_id
    with zitadel.store.read() as state:
        assert sum(o.id == org_id for o in state.orgs.values()) == 1


async def test_get_organization_and_not_found(identity: IdentityServiceStub) -> None:
    created = await created_org(identity, name="Hooli")

    found = await identity.GetOrganization(pb.GetOrganizationRequest(organization_id=created.organization.id))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await identity.GetOrganization(pb.GetOrganizationRequest(organization_id=str(uuid.uuid4())))

    assert found.organization == created.organization
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_org_created_but_not_yet_marked_is_recognised_by_its_first_admin_and_marked(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    # A crash between AddOrganization and the mark: the org and its derived admin exist, unmarked.
    org_id = str(uuid.uuid4())
    human = {
        "userId": admin_user_id(org_id),
        "profile": {"givenName": "Ada", "familyName": "Lovelace"},
        "email": {"email": "ada@acme.test", "isVerified": True},
    }
    async with zitadel.client() as client:
        body = {"name": "Acme", "organizationId": org_id, "admins": [{"human": human}]}
        assert (await client.post("/v2/organizations", json=body)).status_code == 201
    request = pb.CreateOrganizationRequest(
        organization_id=org_id,
        name="Acme",
        admin=pb.Admin(email="ada@acme.test", given_name="Ada", family_name="Lovelace"),
    )

    again = await identity.CreateOrganization(request, timeout=10)
    found = await identity.GetOrganization(pb.GetOrganizationRequest(organization_id=org_id), timeout=10)

    assert (again.created, again.admin_user_id) == (False, admin_user_id(org_id))
    assert found.organization.id == org_id
    with zitadel.store.read() as state:
        assert [(m.key, m.value) for m in state.org_metadata if m.org_id == org_id] == [
            ("managed-by", "YTRj")
        ]


async def test_grant_role_twice_makes_one_grant(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org = await created_org(identity)
    request = pb.GrantRoleRequest(organization_id=org.organization.id, user_id=org.admin_user_id)

    first = await identity.GrantRole(request, timeout=10)
    second = await identity.GrantRole(request, timeout=10)

    assert (first.created, second.created) == (True, False)
    assert first.grant_id == second.grant_id
    assert list(first.role_keys) == list(second.role_keys) == ["provider_admin"]
    with zitadel.store.read() as state:
        assert [(g.user_id, g.role_keys) for g in state.user_grants.values()] == [
            (org.admin_user_id, ["provider_admin"])
        ]
        # The tenant org does not own the project: it was granted the project first, once.
        (project_grant,) = state.project_grants.values()
        assert (project_grant.granted_org_id, project_grant.role_keys) == (
            org.organization.id,
            ["provider_admin"],
        )


async def test_grant_role_grants_the_configured_roles_and_widens_an_existing_grant(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org = await created_org(identity)
    request = pb.GrantRoleRequest(organization_id=org.organization.id, user_id=org.admin_user_id)

    default = await identity.GrantRole(request, timeout=10)
    # Another deployment of the service, configured with another role: the same grant widens.
    async with identity_service(service_env(zitadel, ZITADEL_ADMIN_ROLE_KEYS="provider_user")) as other:
        widened = await other.GrantRole(request, timeout=10)

    assert (default.created, widened.created) == (True, False)
    assert list(widened.role_keys) == ["provider_user"]
    with zitadel.store.read() as state:
        (grant,) = state.user_grants.values()
        assert sorted(grant.role_keys) == ["provider_admin", "provider_user"]


async def test_grant_role_refuses_users_of_other_orgs_and_unknown_roles(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    acme = await created_org(identity, name="Acme")
    globex = await created_org(identity, name="Globex", email="g@globex.test")

    with pytest.raises(grpc.aio.AioRpcError) as other_org:
        await identity.GrantRole(
            pb.GrantRoleRequest(organization_id=acme.organization.id, user_id=globex.admin_user_id),
            timeout=10,
        )
    with pytest.raises(grpc.aio.AioRpcError) as unknown_role:
        # A configured role the project does not define.
        async with identity_service(service_env(zitadel, ZITADEL_ADMIN_ROLE_KEYS="superuser")) as other:
            await other.GrantRole(
                pb.GrantRoleRequest(organization_id=acme.organization.id, user_id=acme.admin_user_id),
                timeout=10,
            )

    assert other_org.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert details_of(other_org.value).reason == "USER_IN_ANOTHER_ORGANIZATION"
    assert unknown_role.value.code() == grpc.StatusCode.FAILED_PRECONDITION  # Zitadel: 400 FailedPrecondition
    assert "zitadel_error_id" not in details_of(unknown_role.value).metadata


async def test_send_invitation_stores_exactly_one_email_with_the_right_link(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org = await created_org(identity)
    request = pb.SendInvitationRequest(
        organization_id=org.organization.id, user_id=org.admin_user_id, request_id="invite-1"
    )

    reply = await identity.SendInvitation(request, timeout=10)

    assert (reply.sent, reply.email, reply.already_sent) == (True, "ada@acme.test", False)
    (email,) = zitadel.emails()
    assert email["kind"] == "invite_code"
    assert email["to"] == "ada@acme.test"
    assert email["applicationName"] == "A4C Test"
    expected = TEMPLATE.replace("{{.UserID}}", org.admin_user_id).replace("{{.OrgID}}", org.organization.id)
    assert email["link"] == expected.replace("{{.Code}}", email["code"])


async def test_an_invitation_and_a_grant_right_after_creation_need_no_wait_while_searches_lag(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    # Searches miss the new org and user for a minute; commands and reads by id see them at once.
    zitadel.store.behaviour.search_lag_seconds = 60.0
    org = await created_org(identity)

    reply = await identity.SendInvitation(
        pb.SendInvitationRequest(
            organization_id=org.organization.id, user_id=org.admin_user_id, request_id="invite-1"
        ),
        timeout=10,
    )
    grant = await identity.GrantRole(
        pb.GrantRoleRequest(organization_id=org.organization.id, user_id=org.admin_user_id), timeout=10
    )

    assert reply.sent
    assert grant.created
    assert len(zitadel.emails()) == 1


async def test_delete_organization_twice_second_is_deleted_false(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org = await created_org(identity)
    request = pb.DeleteOrganizationRequest(organization_id=org.organization.id, request_id="cleanup-1")

    first = await identity.DeleteOrganization(request, timeout=10)
    second = await identity.DeleteOrganization(request, timeout=10)

    assert (first.deleted, second.deleted) == (True, False)
    with zitadel.store.read() as state:
        assert org.organization.id not in state.orgs
        assert org.admin_user_id not in state.users
    again = await created_org(identity)  # the name is free again
    assert again.created


async def test_list_organizations_pages_ids_and_states_of_uuid_shaped_orgs_only(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    created = [
        (await created_org(identity, name=f"Lister {i}", email=f"l{i}@lister.test")).organization.id
        for i in range(3)
    ]
    with zitadel.store.write() as state:
        state.orgs[created[0]].state = "INACTIVE"

    listed: list[pb.Organization] = []
    token = ""
    while True:
        page = await identity.ListOrganizations(
            pb.ListOrganizationsRequest(page_size=2, page_token=token), timeout=10
        )
        listed += page.organizations
        token = page.next_page_token
        if not token:
            break
    with pytest.raises(grpc.aio.AioRpcError) as too_big:
        await identity.ListOrganizations(pb.ListOrganizationsRequest(page_size=1001), timeout=10)

    states = {o.id: o.state for o in listed}
    assert {created[0]: "INACTIVE", created[1]: "ACTIVE", created[2]: "ACTIVE"}.items() <= states.items()
    assert all(str(uuid.UUID(o.id)) == o.id for o in listed)  # never the platform's own org
    assert all(o.name == "" for o in listed)
    assert details_of(too_big.value).fields == {"page_size"}
