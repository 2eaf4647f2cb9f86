"""Zitadel emulator: user metadata, v1 management by key (x-zitadel-orgid) and v2 set/list."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import httpx
import pytest

from a4c.devstack.emulators import RunningZitadel

ACME = {"x-zitadel-orgid": "org-acme"}
KEY_PATH = "/management/v1/users/grace/metadata/a4c.invitation.r-1"


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
async def api(zitadel: RunningZitadel) -> AsyncIterator[httpx.AsyncClient]:
    async with zitadel.client() as client:
        await client.post("/v2/organizations", json={"name": "Acme", "organizationId": "org-acme"})
        await client.post("/v2/organizations", json={"name": "Other", "organizationId": "org-other"})
        user = {
            "userId": "grace",
            "organization": {"orgId": "org-acme"},
            "profile": {"givenName": "Grace", "familyName": "Hopper"},
            "email": {"email": "grace@acme.test", "isVerified": True},
        }
        assert (await client.post("/v2/users/human", json=user)).status_code == 201
        yield client


async def test_v1_get_by_key_is_not_found_until_set_then_answers_the_value(api: httpx.AsyncClient) -> None:
    missing = await api.get(KEY_PATH, headers=ACME)
    stored = await api.post(KEY_PATH, json={"value": b64(b"sent")}, headers=ACME)
    read = await api.get(KEY_PATH, headers=ACME)

    assert missing.status_code == 404
    assert missing.json()["code"] == 5
    assert missing.json()["details"][0]["id"] == "QUERY-Rgh32"
    assert stored.status_code == 200
    assert stored.json()["details"]["resourceOwner"] == "org-acme"
    metadata = read.json()["metadata"]
    assert (metadata["key"], base64.b64decode(metadata["value"])) == ("a4c.invitation.r-1", b"sent")
    assert metadata["details"]["sequence"] == stored.json()["details"]["sequence"]


async def test_setting_the_same_value_again_changes_nothing_and_a_new_value_replaces_it(
    api: httpx.AsyncClient,
) -> None:
    first = await api.post(KEY_PATH, json={"value": b64(b"one")}, headers=ACME)
    same = await api.post(KEY_PATH, json={"value": b64(b"one")}, headers=ACME)
    other = await api.post(KEY_PATH, json={"value": b64(b"two")}, headers=ACME)
    read = await api.get(KEY_PATH, headers=ACME)

    assert first.json()["details"]["sequence"] == same.json()["details"]["sequence"]  # no event pushed
    assert int(other.json()["details"]["sequence"]) > int(first.json()["details"]["sequence"])
    assert base64.b64decode(read.json()["metadata"]["value"]) == b"two"


async def test_v1_metadata_is_scoped_to_the_context_org_and_needs_an_existing_user(
    api: httpx.AsyncClient,
) -> None:
    await api.post(KEY_PATH, json={"value": b64(b"sent")}, headers=ACME)
    elsewhere = await api.get(KEY_PATH, headers={"x-zitadel-orgid": "org-other"})
    wrong_org_set = await api.post(
        KEY_PATH, json={"value": b64(b"x")}, headers={"x-zitadel-orgid": "org-other"}
    )
    no_user = await api.post(
        "/management/v1/users/nobody/metadata/k", json={"value": b64(b"x")}, headers=ACME
    )

    assert elsewhere.status_code == 404
    for refused in (wrong_org_set, no_user):
        assert refused.status_code == 400
        assert refused.json()["details"][0]["id"] == "COMMAND-uXHNj"


async def test_empty_or_malformed_values_are_invalid_arguments(api: httpx.AsyncClient) -> None:
    empty = await api.post(KEY_PATH, json={"value": ""}, headers=ACME)
    not_base64 = await api.post(KEY_PATH, json={"value": "not base64!"}, headers=ACME)
    no_entries = await api.post("/v2/users/grace/metadata", json={"metadata": []})

    assert empty.status_code == 400
    assert empty.json()["details"][0]["id"] == "META-2m00f"
    assert not_base64.status_code == 400
    assert no_entries.json()["details"][0]["id"] == "META-9mm2d"


async def test_v2_list_filters_by_key_and_deleting_the_user_removes_its_metadata(
    api: httpx.AsyncClient,
) -> None:
    entries = [{"key": "a4c.invitation.r-1", "value": b64(b"1")}, {"key": "note", "value": b64(b"2")}]
    await api.post("/v2/users/grace/metadata", json={"metadata": entries})
    key_filter = {"keyFilter": {"key": "a4c.invitation.r-1", "method": "TEXT_FILTER_METHOD_EQUALS"}}
    one = await api.post("/v2/users/grace/metadata/search", json={"filters": [key_filter]})
    everything = await api.post("/v2/users/grace/metadata/search", json={})
    await api.delete("/v2/users/grace")
    gone = await api.post("/v2/users/grace/metadata/search", json={})

    assert [e["key"] for e in one.json()["metadata"]] == ["a4c.invitation.r-1"]
    assert one.json()["pagination"]["totalResult"] == "1"
    assert sorted(e["key"] for e in everything.json()["metadata"]) == ["a4c.invitation.r-1", "note"]
    assert "metadata" not in gone.json()
