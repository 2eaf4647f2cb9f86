"""Zitadel emulator: organizations over both URL styles, with Zitadel's JSON and error conventions."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from a4c.devstack.emulators import RunningZitadel
from a4c.devstack.timing import ManualClock

ADD_ORG_CONNECT = "/zitadel.org.v2.OrganizationService/AddOrganization"


@pytest.fixture
async def api(zitadel: RunningZitadel) -> AsyncIterator[httpx.AsyncClient]:
    async with zitadel.client() as client:
        yield client


def org_body(name: str, org_id: str = "", email: str = "admin@acme.test", **admin: Any) -> dict[str, Any]:
    human = {
        "profile": {"givenName": "Ada", "familyName": "Admin"},
        "email": {"email": email, "isVerified": True},
        **admin,
    }
    body: dict[str, Any] = {"name": name, "admins": [{"human": human, "roles": ["ORG_OWNER"]}]}
    if org_id:
        body["organizationId"] = org_id
    return body


async def test_add_organization_rest_answers_201_with_zitadel_json(api: httpx.AsyncClient) -> None:
    answer = await api.post("/v2/organizations", json=org_body("Acme", "org-acme", userId="admin-1"))

    assert answer.status_code == 201
    body = answer.json()
    assert body["organizationId"] == "org-acme"
    assert body["createdAdmins"] == [{"userId": "admin-1"}]  # no emailCode: omitted, not ""
    assert isinstance(body["details"]["sequence"], str)  # int64 as string
    assert body["details"]["resourceOwner"] == "org-acme"
    assert body["details"]["changeDate"].endswith("Z")


async def test_add_organization_connect_answers_200_and_accepts_snake_case(api: httpx.AsyncClient) -> None:
    body = {"name": "Snake", "organization_id": "org-snake", "admins": []}
    answer = await api.post(ADD_ORG_CONNECT, json=body)

    assert answer.status_code == 200
    assert answer.json()["organizationId"] == "org-snake"
    assert "createdAdmins" not in answer.json()  # empty list omitted


async def test_names_are_unique_regardless_of_case_in_both_styles(api: httpx.AsyncClient) -> None:
    await api.post("/v2/organizations", json=org_body("Globex"))

    rest = await api.post("/v2/organizations", json=org_body("GLOBEX", email="x@globex.test"))
    connect = await api.post(ADD_ORG_CONNECT, json=org_body("globex", email="y@globex.test"))

    assert rest.status_code == 409
    assert rest.json()["code"] == 6
    detail = rest.json()["details"][0]
    assert detail["@type"] == "type.googleapis.com/zitadel.v1.ErrorDetail"
    assert rest.json()["message"] == f"{detail['message']} ({detail['id']})"
    assert connect.status_code == 409
    assert connect.json()["code"] == "already_exists"
    packed = base64.b64decode(connect.json()["details"][0]["value"])
    assert connect.json()["details"][0]["debug"]["id"].encode() in packed


async def test_duplicate_custom_id_is_409_and_the_quirk_pretends_success(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    await api.post("/v2/organizations", json=org_body("First", "org-dup"))

    fixed = await api.post("/v2/organizations", json=org_body("Second", "org-dup", email="b@acme.test"))
    assert fixed.status_code == 409

    zitadel.store.behaviour.duplicate_org_id_quirk = True
    quirk = await api.post("/v2/organizations", json=org_body("Second", "org-dup", email="b@acme.test"))
    assert quirk.status_code == 201
    assert quirk.json()["organizationId"] == "org-dup"
    assert zitadel.store.quirk_hits == 1
    read = await api.get("/admin/v1/orgs/org-dup")
    assert read.json()["org"]["name"] == "First"  # nothing was created
    users = await api.post("/v2/users", json={"queries": [{"emailQuery": {"emailAddress": "b@acme.test"}}]})
    assert "result" not in users.json()


async def test_a_failing_admin_leaves_nothing_behind(api: httpx.AsyncClient) -> None:
    await api.post("/v2/organizations", json=org_body("Taken", email="same@acme.test"))

    answer = await api.post("/v2/organizations", json=org_body("Fresh", "org-fresh", email="same@acme.test"))

    assert answer.status_code == 409
    assert answer.json()["details"][0]["id"] == "V3-DKcYh"  # the username (defaults to the email)
    assert (await api.get("/admin/v1/orgs/org-fresh")).status_code == 404
    retry = await api.post("/v2/organizations", json=org_body("Fresh", "org-fresh", email="new@acme.test"))
    assert retry.status_code == 201


async def test_invalid_organization_input_is_400_invalid_argument(api: httpx.AsyncClient) -> None:
    no_name = await api.post("/v2/organizations", json={"name": "  "})
    bad_email = await api.post("/v2/organizations", json=org_body("Mail", email="not-an-email"))
    bad_role = await api.post(
        "/v2/organizations", json={"name": "Role", "admins": [{"userId": "x", "roles": ["GOD"]}]}
    )

    for answer in (no_name, bad_email, bad_role):
        assert answer.status_code == 400
        assert answer.json()["code"] == 3


async def test_get_org_by_id_v1_and_404_for_unknown(api: httpx.AsyncClient) -> None:
    await api.post("/v2/organizations", json=org_body("Initech", "org-initech"))

    found = await api.get("/admin/v1/orgs/org-initech")
    missing = await api.get("/admin/v1/orgs/nope")

    assert found.json()["org"]["state"] == "ORG_STATE_ACTIVE"
    assert found.json()["org"]["primaryDomain"] == "initech.zitadel.localhost"
    assert missing.status_code == 404
    assert missing.json()["code"] == 5


async def test_delete_removes_users_and_grants_and_frees_the_name(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    await api.post("/v2/organizations", json=org_body("Umbrella", "org-umb", userId="umb-admin"))
    project = zitadel.config.project_id
    await api.post(
        f"/management/v1/projects/{project}/grants",
        json={"grantedOrgId": "org-umb", "roleKeys": ["provider_admin"]},
    )
    grant = {"projectId": project, "roleKeys": ["provider_admin"]}
    assert (
        await api.post(
            "/management/v1/users/umb-admin/grants", json=grant, headers={"x-zitadel-orgid": "org-umb"}
        )
    ).is_success

    deleted = await api.delete("/v2/organizations/org-umb")
    again = await api.delete("/v2/organizations/org-umb")

    assert deleted.status_code == 200
    assert deleted.json()["deletionDate"].endswith("Z")
    assert again.status_code == 404
    assert (await api.get("/v2/users/umb-admin")).status_code == 404
    with zitadel.store.read() as state:
        assert not state.user_grants
        assert not state.project_grants
    recreated = await api.post("/v2/organizations", json=org_body("UMBRELLA", "org-umb", userId="umb-admin"))
    assert recreated.status_code == 201


async def test_the_default_organization_cannot_be_deleted(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    answer = await api.post(
        "/zitadel.org.v2.OrganizationService/DeleteOrganization",
        json={"organizationId": zitadel.config.platform_org_id},
    )

    assert answer.status_code == 400  # FailedPrecondition is 400 in Zitadel, not 412
    assert answer.json()["code"] == "failed_precondition"


async def test_search_lags_behind_creation_and_deletion(
    zitadel: RunningZitadel, api: httpx.AsyncClient, zitadel_clock: ManualClock
) -> None:
    zitadel.store.behaviour.search_lag_seconds = 2.0
    search = {"queries": [{"nameQuery": {"name": "hooli", "method": "TEXT_QUERY_METHOD_EQUALS_IGNORE_CASE"}}]}
    await api.post("/v2/organizations", json=org_body("Hooli", "org-hooli"))

    assert "result" not in (await api.post("/v2/organizations/_search", json=search)).json()
    assert (await api.get("/admin/v1/orgs/org-hooli")).status_code == 200  # reads by id are fresh
    zitadel_clock.advance(2.0)
    assert [o["id"] for o in (await api.post("/v2/organizations/_search", json=search)).json()["result"]] == [
        "org-hooli"
    ]

    await api.delete("/v2/organizations/org-hooli")
    assert (await api.post("/v2/organizations/_search", json=search)).json()["details"]["totalResult"] == "1"
    zitadel_clock.advance(2.0)
    assert "totalResult" not in (await api.post("/v2/organizations/_search", json=search)).json()["details"]


async def test_list_organizations_filters_by_id_and_pages(api: httpx.AsyncClient) -> None:
    for n in range(3):
        await api.post(
            "/v2/organizations", json=org_body(f"Page {n}", f"org-page-{n}", email=f"p{n}@acme.test")
        )

    by_id = await api.post(
        "/zitadel.org.v2.OrganizationService/ListOrganizations",
        json={"queries": [{"idQuery": {"id": "org-page-1"}}]},
    )
    paged = await api.post(
        "/v2/organizations/_search",
        json={"query": {"offset": "1", "limit": 2}, "sortingColumn": "ORGANIZATION_FIELD_NAME_NAME"},
    )

    assert [o["name"] for o in by_id.json()["result"]] == ["Page 1"]
    assert [o["name"] for o in paged.json()["result"]] == ["Page 0", "Page 1"]  # after "A4C Platform"
    assert paged.json()["details"]["totalResult"] == "4"


async def test_unknown_query_types_are_reported_not_silently_ignored(api: httpx.AsyncClient) -> None:
    answer = await api.post("/v2/organizations/_search", json={"queries": [{"fancyQuery": {}}]})

    assert answer.status_code == 501
    assert "fancyQuery" in answer.json()["message"]


async def test_unknown_paths_answer_a_zitadel_style_404(api: httpx.AsyncClient) -> None:
    rest = await api.get("/v2/nothing-here")
    connect = await api.post("/zitadel.org.v2.OrganizationService/Nope", json={})

    assert (rest.status_code, rest.json()["code"]) == (404, 5)
    assert (connect.status_code, connect.json()["code"]) == (404, "not_found")


async def test_deactivate_and_activate_change_the_state_once_in_both_styles(api: httpx.AsyncClient) -> None:
    await api.post("/v2/organizations", json=org_body("Stark", "org-stark"))

    deactivated = await api.post("/v2/organizations/org-stark/deactivate", json={})
    again = await api.post("/v2/organizations/org-stark/deactivate", json={})
    state = (await api.get("/admin/v1/orgs/org-stark")).json()["org"]["state"]
    activated = await api.post(
        "/zitadel.org.v2.OrganizationService/ActivateOrganization", json={"organizationId": "org-stark"}
    )
    active_again = await api.post("/v2/organizations/org-stark/activate", json={})
    missing = await api.post("/v2/organizations/nope/deactivate", json={})

    assert deactivated.status_code == 200
    assert deactivated.json()["changeDate"].endswith("Z")
    assert state == "ORG_STATE_INACTIVE"
    assert again.status_code == 400
    assert again.json()["message"] == "Organisation is already deactivated (COMMAND-Dbs2g)"
    assert activated.status_code == 200
    assert (await api.get("/admin/v1/orgs/org-stark")).json()["org"]["state"] == "ORG_STATE_ACTIVE"
    assert active_again.status_code == 400
    assert missing.status_code == 404
