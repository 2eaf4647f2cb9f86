"""Zitadel emulator: organization metadata, v1 management by key in the x-zitadel-orgid org."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from a4c.devstack.emulators import RunningZitadel

PATH = "/management/v1/metadata/managed-by"
Api = tuple[httpx.AsyncClient, dict[str, str], dict[str, str]]  # client, our org, another org


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@pytest.fixture
async def api(
    zitadel: RunningZitadel,
) -> AsyncIterator[Api]:
    ours, other = f"org-{uuid.uuid4().hex[:8]}", f"org-{uuid.uuid4().hex[:8]}"
    async with zitadel.client() as client:
        for org_id in (ours, other):
            await client.post("/v2/organizations", json={"name": org_id, "organizationId": org_id})
        yield client, {"x-zitadel-orgid": ours}, {"x-zitadel-orgid": other}


async def test_an_org_entry_is_not_found_until_set_and_only_in_its_own_org(
    api: Api,
) -> None:
    client, ours, other = api
    missing = await client.get(PATH, headers=ours)
    stored = await client.post(PATH, json={"value": b64(b"a4c")}, headers=ours)
    same = await client.post(PATH, json={"value": b64(b"a4c")}, headers=ours)
    read = await client.get(PATH, headers=ours)
    elsewhere = await client.get(PATH, headers=other)

    assert missing.status_code == 404
    assert missing.json()["details"][0]["id"] == "QUERY-Rph32"
    assert stored.status_code == 200
    assert stored.json()["details"]["resourceOwner"] == ours["x-zitadel-orgid"]
    assert same.json()["details"]["sequence"] == stored.json()["details"]["sequence"]  # no event
    assert base64.b64decode(read.json()["metadata"]["value"]) == b"a4c"
    assert elsewhere.status_code == 404


async def test_empty_values_unknown_orgs_and_unemulated_paths_are_refused(
    api: Api,
) -> None:
    client, ours, _ = api
    empty = await client.post(PATH, json={"value": ""}, headers=ours)
    unknown = await client.post(PATH, json={"value": b64(b"a4c")}, headers={"x-zitadel-orgid": "org-nope"})
    search = await client.post("/management/v1/metadata/_search", json={}, headers=ours)

    assert (empty.status_code, empty.json()["details"][0]["id"]) == (400, "META-2m00f")
    assert unknown.status_code == 403  # the org context is checked while authorizing
    assert search.status_code == 501


async def test_deleting_the_org_removes_its_metadata(zitadel: RunningZitadel, api: Api) -> None:
    client, ours, _ = api
    await client.post(PATH, json={"value": b64(b"a4c")}, headers=ours)

    deleted = await client.delete(f"/v2/organizations/{ours['x-zitadel-orgid']}")

    assert deleted.status_code == 200
    with zitadel.store.read() as state:
        assert [m for m in state.org_metadata if m.org_id == ours["x-zitadel-orgid"]] == []
