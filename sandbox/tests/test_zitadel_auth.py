"""Zitadel emulator: PAT and JWT-profile authentication, OIDC discovery, token expiry."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from a4c.devstack.emulators import RunningZitadel
from a4c.devstack.timing import ManualClock
from a4c.sandbox.zitadel.auth import JWT_BEARER

ORGS_SEARCH = "/v2/organizations/_search"
CONNECT_LIST = "/zitadel.org.v2.OrganizationService/ListOrganizations"


@pytest.fixture
async def anonymous(zitadel: RunningZitadel) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=zitadel.url) as client:
        yield client


def assertion(key: dict[str, Any], audience: str, now: float, **claims: Any) -> str:
    payload = {
        "iss": key["userId"],
        "sub": key["userId"],
        "aud": audience,
        "iat": int(now),
        "exp": int(now) + 300,
    }
    return jwt.encode({**payload, **claims}, key["key"], algorithm="RS256", headers={"kid": key["keyId"]})


async def exchange(client: httpx.AsyncClient, token: str) -> httpx.Response:
    form = {
        "grant_type": JWT_BEARER,
        "assertion": token,
        "scope": "openid urn:zitadel:iam:org:project:id:zitadel:aud",
    }
    return await client.post("/oauth/v2/token", data=form)


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "auth header missing"),
        ({"authorization": "Basic abc"}, "invalid auth header"),
        ({"authorization": "Bearer not-a-token"}, "Errors.Token.Invalid"),
    ],
)
async def test_requests_without_a_valid_token_are_401_in_both_styles(
    anonymous: httpx.AsyncClient, headers: dict[str, str], message: str
) -> None:
    rest = await anonymous.post(ORGS_SEARCH, json={}, headers=headers)
    connect = await anonymous.post(CONNECT_LIST, json={}, headers=headers)

    assert (rest.status_code, rest.json()["code"]) == (401, 16)
    assert message in rest.json()["message"]
    assert (connect.status_code, connect.json()["code"]) == (401, "unauthenticated")


async def test_the_pat_authenticates(zitadel: RunningZitadel, anonymous: httpx.AsyncClient) -> None:
    answer = await anonymous.post(ORGS_SEARCH, json={}, headers={"authorization": f"Bearer {zitadel.pat}"})

    assert answer.status_code == 200


async def test_discovery_names_the_token_endpoint(
    zitadel: RunningZitadel, anonymous: httpx.AsyncClient
) -> None:
    config = (await anonymous.get("/.well-known/openid-configuration")).json()

    assert config["issuer"] == zitadel.url
    assert config["token_endpoint"] == f"{zitadel.url}/oauth/v2/token"
    assert JWT_BEARER in config["grant_types_supported"]


async def test_a_key_file_assertion_buys_an_expiring_access_token(
    zitadel: RunningZitadel, anonymous: httpx.AsyncClient, zitadel_clock: ManualClock, tmp_path: Path
) -> None:
    key = json.loads(zitadel.write_key_file(tmp_path / "key.json").read_text())
    assert key["type"] == "serviceaccount"
    assert key["key"].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert (tmp_path / "key.json").stat().st_mode & 0o077 == 0  # private: owner only

    answer = await exchange(anonymous, assertion(key, zitadel.url, zitadel_clock()))
    assert answer.status_code == 200
    token = answer.json()
    assert (token["token_type"], token["expires_in"]) == ("Bearer", 60)
    auth = {"authorization": f"Bearer {token['access_token']}"}
    assert (await anonymous.post(CONNECT_LIST, json={}, headers=auth)).status_code == 200
    assert zitadel.store.token_grants == 1

    zitadel_clock.advance(60)
    expired = await anonymous.post(CONNECT_LIST, json={}, headers=auth)
    assert (expired.status_code, expired.json()["code"]) == (401, "unauthenticated")


async def test_bad_assertions_are_refused_with_oauth_errors(
    zitadel: RunningZitadel, anonymous: httpx.AsyncClient, zitadel_clock: ManualClock
) -> None:
    key = zitadel.emulator.create_key()
    other = zitadel.emulator.create_key()
    now = zitadel_clock()

    wrong_audience = await exchange(anonymous, assertion(key, "https://elsewhere.example", now))
    expired = await exchange(anonymous, assertion(key, zitadel.url, now - 1000, exp=int(now) - 500))
    wrong_subject = await exchange(anonymous, assertion(key, zitadel.url, now, sub="someone-else"))
    wrong_key = await exchange(anonymous, assertion({**key, "key": other["key"]}, zitadel.url, now))
    not_jwt = await exchange(anonymous, "nonsense")
    grant_type = await anonymous.post("/oauth/v2/token", data={"grant_type": "password"})

    for answer in (wrong_audience, expired, wrong_subject, wrong_key):
        assert (answer.status_code, answer.json()["error"]) == (400, "invalid_grant")
    assert not_jwt.json()["error"] == "invalid_request"
    assert grant_type.json()["error"] == "unsupported_grant_type"
    assert zitadel.store.token_grants == 0


async def test_keys_are_issued_only_for_machine_users(
    zitadel: RunningZitadel, anonymous: httpx.AsyncClient
) -> None:
    issued = await anonymous.post("/_sandbox/zitadel/keys", json={})
    refused = await anonymous.post("/_sandbox/zitadel/keys", json={"userId": "nobody"})

    assert issued.status_code == 201
    assert issued.json()["userId"] == zitadel.config.service_user_id
    assert refused.status_code == 404


async def test_a_user_without_instance_roles_is_permission_denied(
    zitadel: RunningZitadel, anonymous: httpx.AsyncClient, zitadel_clock: ManualClock
) -> None:
    with zitadel.store.write() as state:
        state.users[zitadel.config.service_user_id].instance_roles = []

    answer = await anonymous.post(ORGS_SEARCH, json={}, headers={"authorization": f"Bearer {zitadel.pat}"})

    assert (answer.status_code, answer.json()["code"]) == (403, 7)
