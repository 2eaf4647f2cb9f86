"""Zitadel emulator: users and invite codes, the emails they "send" and the user lag."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from a4c.devstack.emulators import RunningZitadel

TEMPLATE = "https://app.test/invite?user={{.UserID}}&code={{.Code}}&org={{.OrgID}}&login={{.LoginName}}"


@pytest.fixture
async def api(zitadel: RunningZitadel) -> AsyncIterator[httpx.AsyncClient]:
    async with zitadel.client() as client:
        await client.post("/v2/organizations", json={"name": "Acme", "organizationId": "org-acme"})
        yield client


def human(email: str, *, verified: bool = True, **extra: Any) -> dict[str, Any]:
    return {
        "organization": {"orgId": "org-acme"},
        "profile": {"givenName": "Grace", "familyName": "Hopper"},
        "email": {"email": email, "isVerified": verified},
        **extra,
    }


async def test_add_human_user_then_read_it_fresh(api: httpx.AsyncClient) -> None:
    created = await api.post("/v2/users/human", json=human("grace@acme.test", userId="grace"))
    read = await api.get("/v2/users/grace")

    assert created.status_code == 201
    assert created.json()["userId"] == "grace"
    user = read.json()["user"]
    assert user["username"] == "grace@acme.test"  # the email when no username is given
    assert user["details"]["resourceOwner"] == "org-acme"
    assert user["human"]["email"] == {"email": "grace@acme.test", "isVerified": True}
    assert user["preferredLoginName"] == "grace@acme.test@acme.zitadel.localhost"


async def test_usernames_are_unique_but_emails_are_not(api: httpx.AsyncClient) -> None:
    await api.post("/v2/users/human", json=human("shared@acme.test", username="first"))

    same_email = await api.post(
        "/zitadel.user.v2.UserService/AddHumanUser", json=human("shared@acme.test", username="second")
    )
    same_username = await api.post("/v2/users/human", json=human("other@acme.test", username="FIRST"))

    assert same_email.status_code == 200
    assert same_username.status_code == 409
    assert same_username.json()["message"] == "User already exists (V3-DKcYh)"


async def test_an_unverified_email_gets_a_verification_mail_not_an_invitation(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    await api.post("/v2/users/human", json=human("new@acme.test", verified=False))
    returned = await api.post(
        "/v2/users/human",
        json=human("code@acme.test", verified=False)
        | {"email": {"email": "code@acme.test", "returnCode": {}}},
    )

    assert [e["kind"] for e in zitadel.emails()] == ["email_verification"]
    assert zitadel.emails()[0]["to"] == "new@acme.test"
    assert returned.json()["emailCode"]


async def test_create_user_new_shape_and_list_users_by_org(api: httpx.AsyncClient) -> None:
    body = {"organizationId": "org-acme", "username": "lin", "human": human("lin@acme.test")}
    created = await api.post("/v2/users/new", json=body)
    listed = await api.post(
        "/v2/users", json={"queries": [{"organizationIdQuery": {"organizationId": "org-acme"}}]}
    )

    assert created.status_code == 201
    assert created.json()["creationDate"].endswith("Z")
    assert [u["username"] for u in listed.json()["result"]] == ["lin"]


async def test_send_code_stores_one_email_with_the_link_from_the_template(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    await api.post("/v2/users/human", json=human("ada@acme.test", userId="ada"))

    answer = await api.post(
        "/v2/users/ada/invite_code", json={"sendCode": {"urlTemplate": TEMPLATE, "applicationName": "A4C"}}
    )

    assert answer.status_code == 200
    assert "inviteCode" not in answer.json()
    (email,) = zitadel.emails("ADA@acme.test")
    assert email["kind"] == "invite_code"
    assert email["subject"] == "Invitation to A4C"
    code = email["code"]
    expected = f"https://app.test/invite?user=ada&code={code}&org=org-acme&login=ada@acme.test@acme.zitadel.localhost"
    assert email["link"] == expected
    served = (await api.get("/_sandbox/emails", params={"to": "ada@acme.test"})).json()["emails"]
    assert served == [email]


async def test_a_new_code_replaces_the_previous_one(zitadel: RunningZitadel, api: httpx.AsyncClient) -> None:
    await api.post("/v2/users/human", json=human("bo@acme.test", userId="bo"))
    await api.post("/v2/users/bo/invite_code", json={"sendCode": {}})
    await api.post("/zitadel.user.v2.UserService/CreateInviteCode", json={"userId": "bo", "sendCode": {}})

    first, second = zitadel.emails()
    stale = await api.post("/v2/users/bo/invite_code/verify", json={"verificationCode": first["code"]})
    fresh = await api.post("/v2/users/bo/invite_code/verify", json={"verificationCode": second["code"]})

    assert first["link"].startswith(zitadel.url + "/ui/login/user/invite?userID=bo")  # Zitadel's default
    assert stale.status_code == 400
    assert fresh.status_code == 200


async def test_return_code_sends_nothing_and_cannot_be_resent(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    await api.post("/v2/users/human", json=human("cy@acme.test", userId="cy"))

    answer = await api.post("/v2/users/cy/invite_code", json={"returnCode": {}})
    resend = await api.post("/v2/users/cy/invite_code/resend", json={})

    assert len(answer.json()["inviteCode"]) == 6
    assert zitadel.emails() == []
    assert resend.status_code == 400
    assert resend.json()["code"] == 9


async def test_initialized_users_and_unknown_template_fields_are_refused(api: httpx.AsyncClient) -> None:
    await api.post(
        "/v2/users/human", json=human("pw@acme.test", userId="pw", password={"password": "S3cret!x"})
    )
    await api.post("/v2/users/human", json=human("tpl@acme.test", userId="tpl"))

    initialized = await api.post("/v2/users/pw/invite_code", json={"sendCode": {}})
    bad_template = await api.post(
        "/v2/users/tpl/invite_code", json={"sendCode": {"urlTemplate": "https://x/{{.Nope}}"}}
    )
    unknown = await api.post("/v2/users/ghost/invite_code", json={"sendCode": {}})

    assert (initialized.status_code, initialized.json()["code"]) == (400, 9)
    assert "already initialized" in initialized.json()["message"]
    assert (bad_template.status_code, bad_template.json()["code"]) == (400, 3)
    # A missing user is a failed precondition of the command, not NotFound (COMMAND-Wgvn4).
    assert (unknown.status_code, unknown.json()["code"]) == (400, 9)
    assert unknown.json()["details"][0]["id"] == "COMMAND-Wgvn4"
    assert initialized.json()["details"][0]["id"] == "COMMAND-EF34g"


async def test_commands_find_a_user_the_moment_it_is_created_even_while_searches_lag(
    zitadel: RunningZitadel, api: httpx.AsyncClient
) -> None:
    zitadel.store.behaviour.search_lag_seconds = 5.0
    await api.post("/v2/users/human", json=human("lag@acme.test", userId="lag"))

    invited = await api.post("/v2/users/lag/invite_code", json={"sendCode": {}})
    read = await api.get("/v2/users/lag")
    searched = await api.post("/v2/users", json={"queries": [{"inUserIdsQuery": {"userIds": ["lag"]}}]})

    assert invited.status_code == 200  # commands read the event store
    assert read.status_code == 200  # reads by id are fresh
    assert searched.json().get("result", []) == []  # only searches lag behind
    assert len(zitadel.emails()) == 1


async def test_emails_can_be_cleared(zitadel: RunningZitadel, api: httpx.AsyncClient) -> None:
    await api.post("/v2/users/human", json=human("del@acme.test", userId="del"))
    await api.post("/v2/users/del/invite_code", json={})

    cleared = await api.delete("/_sandbox/emails")

    assert cleared.json() == {"deleted": 1}
    assert zitadel.emails() == []


async def test_delete_user_then_not_found(api: httpx.AsyncClient) -> None:
    await api.post("/v2/users/human", json=human("gone@acme.test", userId="gone"))

    assert (await api.delete("/v2/users/gone")).status_code == 200
    assert (await api.get("/v2/users/gone")).status_code == 404
    assert (await api.delete("/v2/users/gone")).status_code == 404
