"""Zitadel emulator: projects, project grants, user grants (v1 + x-zitadel-orgid) and authorizations."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from a4c.devstack.emulators import RunningZitadel

TENANT = {"x-zitadel-orgid": "org-t"}


@pytest.fixture
async def api(zitadel: RunningZitadel) -> AsyncIterator[httpx.AsyncClient]:
    admin = {
        "userId": "u-t",
        "profile": {"givenName": "Tia", "familyName": "Tenant"},
        "email": {"email": "tia@tenant.test", "isVerified": True},
    }
    async with zitadel.client() as client:
        org = await client.post(
            "/v2/organizations",
            json={"name": "Tenant", "organizationId": "org-t", "admins": [{"human": admin}]},
        )
        assert org.status_code == 201
        yield client


def project_grant_path(zitadel: RunningZitadel) -> str:
    return f"/management/v1/projects/{zitadel.config.project_id}/grants"


async def grant_project(zitadel: RunningZitadel, api: httpx.AsyncClient, *keys: str) -> str:
    answer = await api.post(
        project_grant_path(zitadel), json={"grantedOrgId": "org-t", "roleKeys": list(keys)}
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["grantId"])


async def test_get_project_names_its_owner(zitadel: RunningZitadel, api: httpx.AsyncClient) -> None:
    answer = await api.post(
        "/zitadel.project.v2.ProjectService/GetProject", json={"projectId": zitadel.config.project_id}
    )

    assert answer.json()["project"]["organizationId"] == zitadel.config.platform_org_id
    missing = await api.post("/zitadel.project.v2.ProjectService/GetProject", json={"projectId": "nope"})
    assert missing.status_code == 404


async def test_a_user_grant_needs_the_project_granted_to_the_org_first(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    body = {"projectId": zitadel.config.project_id, "roleKeys": ["provider_admin"]}

    before = await api.post("/management/v1/users/u-t/grants", json=body, headers=TENANT)
    grant_id = await grant_project(zitadel, api, "provider_admin")
    after = await api.post(
        "/management/v1/users/u-t/grants", json={**body, "projectGrantId": grant_id}, headers=TENANT
    )

    # No project grant for org-t: a failed precondition of the command (COMMAND-4m9ff), as in Zitadel.
    assert (before.status_code, before.json()["code"]) == (400, 9)
    assert before.json()["details"][0]["id"] == "COMMAND-4m9ff"
    assert after.status_code == 200
    assert after.json()["details"]["resourceOwner"] == "org-t"


async def test_duplicate_grants_are_409(zitadel: RunningZitadel, api: httpx.AsyncClient) -> None:
    await grant_project(zitadel, api, "provider_admin")
    again = await api.post(
        project_grant_path(zitadel), json={"grantedOrgId": "org-t", "roleKeys": ["provider_admin"]}
    )
    body = {"projectId": zitadel.config.project_id, "roleKeys": ["provider_admin"]}
    first = await api.post("/management/v1/users/u-t/grants", json=body, headers=TENANT)
    second = await api.post("/management/v1/users/u-t/grants", json=body, headers=TENANT)

    assert again.status_code == 409
    assert first.status_code == 200
    assert (second.status_code, second.json()["code"]) == (409, 6)


async def test_role_keys_must_exist_in_the_project_and_in_the_grant(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    unknown = await api.post(
        project_grant_path(zitadel), json={"grantedOrgId": "org-t", "roleKeys": ["root"]}
    )
    await grant_project(zitadel, api, "provider_admin")
    body = {"projectId": zitadel.config.project_id, "roleKeys": ["provider_user"]}
    not_granted = await api.post("/management/v1/users/u-t/grants", json=body, headers=TENANT)

    assert unknown.status_code == 400
    assert not_granted.status_code == 400


async def test_grants_can_be_found_and_widened(zitadel: RunningZitadel, api: httpx.AsyncClient) -> None:
    project_grant = await grant_project(zitadel, api, "provider_admin")
    body = {"projectId": zitadel.config.project_id, "roleKeys": ["provider_admin"]}
    user_grant = (await api.post("/management/v1/users/u-t/grants", json=body, headers=TENANT)).json()[
        "userGrantId"
    ]

    granted = await api.post("/management/v1/granted_projects/_search", json={}, headers=TENANT)
    widened = await api.put(
        f"{project_grant_path(zitadel)}/{project_grant}",
        json={"roleKeys": ["provider_admin", "provider_user"]},
    )
    updated = await api.put(
        f"/management/v1/users/u-t/grants/{user_grant}",
        json={"roleKeys": ["provider_admin", "provider_user"]},
        headers=TENANT,
    )
    search = {
        "queries": [
            {"userIdQuery": {"userId": "u-t"}},
            {"projectIdQuery": {"projectId": zitadel.config.project_id}},
        ]
    }
    found = await api.post("/management/v1/users/grants/_search", json=search, headers=TENANT)
    elsewhere = await api.post("/management/v1/users/grants/_search", json=search)

    assert [(g["grantId"], g["projectId"]) for g in granted.json()["result"]] == [
        (project_grant, zitadel.config.project_id)
    ]
    assert widened.status_code == 200
    assert updated.status_code == 200
    assert [(g["id"], g["roleKeys"]) for g in found.json()["result"]] == [
        (user_grant, ["provider_admin", "provider_user"])
    ]
    assert "result" not in elsewhere.json()  # the platform org context holds no grant of org-t


async def test_an_unknown_org_context_is_permission_denied(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    answer = await api.post(
        "/management/v1/users/grants/_search", json={}, headers={"x-zitadel-orgid": "ghost"}
    )

    assert (answer.status_code, answer.json()["code"]) == (403, 7)


async def test_connect_authorizations_and_project_grants(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    project = zitadel.config.project_id
    grant = {"projectId": project, "grantedOrganizationId": "org-t", "roleKeys": ["provider_admin"]}
    created_grant = await api.post("/zitadel.project.v2.ProjectService/CreateProjectGrant", json=grant)
    auth = {"userId": "u-t", "projectId": project, "organizationId": "org-t", "roleKeys": ["provider_admin"]}
    created = await api.post("/zitadel.authorization.v2.AuthorizationService/CreateAuthorization", json=auth)
    duplicate = await api.post(
        "/zitadel.authorization.v2.AuthorizationService/CreateAuthorization", json=auth
    )
    listed = await api.post(
        "/zitadel.authorization.v2.AuthorizationService/ListAuthorizations",
        json={"filters": [{"inUserIds": {"ids": ["u-t"]}}]},
    )
    grants = await api.post(
        "/zitadel.project.v2.ProjectService/ListProjectGrants",
        json={"filters": [{"grantedOrganizationIdFilter": {"id": "org-t"}}]},
    )

    assert created_grant.status_code == 200
    assert created.status_code == 200
    assert (duplicate.status_code, duplicate.json()["code"]) == (409, "already_exists")
    (authorization,) = listed.json()["authorizations"]
    assert authorization["id"] == created.json()["id"]
    assert authorization["roles"] == [{"key": "provider_admin", "displayName": "provider_admin"}]
    assert [g["grantedRoleKeys"] for g in grants.json()["projectGrants"]] == [["provider_admin"]]
