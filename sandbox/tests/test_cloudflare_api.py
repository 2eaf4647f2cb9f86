"""The Cloudflare emulator over HTTP: envelope, auth, records, validation codes, conflicts, filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from a4c.devstack.emulators import CloudflareSandbox

Unique = Callable[[str], str]


def error_code(response: httpx.Response) -> int:
    body = response.json()
    assert body["success"] is False
    assert body.get("result") is None  # gateway (auth) answers leave result out altogether
    return int(body["errors"][0]["code"])


async def create(api: httpx.AsyncClient, zone_id: str, **record: Any) -> dict[str, Any]:
    response = await api.post(f"/zones/{zone_id}/dns_records", json=record)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def test_zone_is_found_by_name_with_its_nameservers(api: httpx.AsyncClient) -> None:
    body = (await api.get("/zones", params={"name": "analytics4change.com"})).json()

    assert body["success"] is True
    assert body["result_info"]["total_count"] == 1
    zone = body["result"][0]
    assert re.fullmatch(r"[0-9a-f]{32}", zone["id"])
    assert zone["name_servers"] == ["ns1.analytics4change.com", "ns2.analytics4change.com"]
    assert (await api.get(f"/zones/{zone['id']}")).json()["result"]["name"] == "analytics4change.com"
    assert (await api.get("/zones", params={"name": "example.org"})).json()["result"] == []


async def test_record_lifecycle_create_get_patch_put_delete(
    api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    name = unique("life")
    created = await create(api, zone_id, type="A", name=name.upper() + ".", content="192.0.2.10", ttl=120)

    assert re.fullmatch(r"[0-9a-f]{32}", created["id"])
    assert (created["name"], created["ttl"], created["proxiable"], created["proxied"]) == (
        name,
        120,
        True,
        False,
    )
    assert created["created_on"].endswith("Z")
    assert not {"zone_id", "zone_name", "locked"} & created.keys()
    url = f"/zones/{zone_id}/dns_records/{created['id']}"
    assert (await api.get(url)).json()["result"] == created

    patched = (await api.patch(url, json={"comment": "hello", "proxied": True})).json()["result"]
    assert (patched["content"], patched["ttl"], patched["comment"]) == ("192.0.2.10", 1, "hello")
    put = (await api.put(url, json={"type": "A", "name": name, "content": "192.0.2.11"})).json()["result"]
    assert (put["content"], put["proxied"], put["comment"]) == ("192.0.2.11", False, None)

    assert (await api.delete(url)).json()["result"] == {"id": created["id"]}
    missing = await api.get(url)
    assert (missing.status_code, error_code(missing)) == (404, 81044)
    again = await api.delete(url)
    assert (again.status_code, error_code(again)) == (404, 81044)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        ("@", "firstovertheline.com"),
        ("www", "www.firstovertheline.com"),
        ("x.example.org", "x.example.org.firstovertheline.com"),
    ],
)
async def test_names_are_expanded_into_the_zone_like_cloudflare(
    api: httpx.AsyncClient, zone_id: str, raw: str, stored: str
) -> None:
    record = await create(api, zone_id, type="TXT", name=raw, content=f"expand {raw}")
    await api.delete(f"/zones/{zone_id}/dns_records/{record['id']}")

    assert record["name"] == stored


@pytest.mark.parametrize(
    ("record", "code"),
    [
        ({"type": "A", "name": "bad..name", "content": "192.0.2.1"}, 9000),
        ({"type": "A", "name": "-lead", "content": "192.0.2.1"}, 9000),
        ({"type": "A", "name": "x" * 64, "content": "192.0.2.1"}, 9000),
        ({"type": "A", "name": "v", "content": "300.1.1.1"}, 9005),
        ({"type": "AAAA", "name": "v", "content": "192.0.2.1"}, 9006),
        ({"type": "CNAME", "name": "v", "content": "not a host"}, 9007),
        ({"type": "CNAME", "name": "self", "content": "self.firstovertheline.com"}, 9007),
        ({"type": "A", "name": "v", "content": "192.0.2.1", "ttl": 30}, 9021),
        ({"type": "A", "name": "v", "content": "192.0.2.1", "ttl": 90000}, 9021),
        ({"type": "TXT", "name": "v", "content": "x", "proxied": True}, 9004),
        ({"type": "A", "name": "v", "content": "192.0.2.1", "comment": "c" * 101}, 1004),
        # 1004 with 9300 ("... exceeding the quota of 0.") in its error chain, as published.
        ({"type": "A", "name": "v", "content": "192.0.2.1", "tags": ["team:a4c"]}, 1004),
        ({"type": "MX", "name": "v", "content": "mail.example.org"}, 1004),
    ],
)
async def test_invalid_records_answer_cloudflare_codes(
    api: httpx.AsyncClient, zone_id: str, record: dict[str, Any], code: int
) -> None:
    response = await api.post(f"/zones/{zone_id}/dns_records", json=record)

    assert response.status_code == 400
    assert error_code(response) == code


async def test_conflicting_records_are_refused_with_their_codes(
    api: httpx.AsyncClient, zone_id: str, unique: Unique
) -> None:
    a_name, cname_name = unique("a"), unique("c")
    await create(api, zone_id, type="A", name=a_name, content="192.0.2.1")
    await create(api, zone_id, type="CNAME", name=cname_name, content="app.firstovertheline.com")
    url = f"/zones/{zone_id}/dns_records"

    duplicate = await api.post(url, json={"type": "A", "name": a_name, "content": "192.0.2.1"})
    cname_on_a = await api.post(url, json={"type": "CNAME", "name": a_name, "content": "x.example.org"})
    a_on_cname = await api.post(url, json={"type": "A", "name": cname_name, "content": "192.0.2.9"})
    second_a = await api.post(url, json={"type": "A", "name": a_name, "content": "192.0.2.2"})

    assert [error_code(duplicate), error_code(cname_on_a), error_code(a_on_cname)] == [81058, 81053, 81054]
    assert second_a.status_code == 200  # several A records on one name are fine


async def test_filters_match_and_pagination(api: httpx.AsyncClient, zone_id: str, unique: Unique) -> None:
    base = unique("page")
    for i in range(5):
        await create(
            api, zone_id, type="TXT", name=base, content=f"v={i}", comment="managed-by=a4c" if i % 2 else None
        )
    url = f"/zones/{zone_id}/dns_records"

    first = (await api.get(url, params={"name": base, "per_page": 2})).json()
    last = (await api.get(url, params={"name.exact": base.upper(), "per_page": 2, "page": 3})).json()
    beyond = (await api.get(url, params={"name": base, "per_page": 2, "page": 4})).json()
    owned = (await api.get(url, params={"name.endswith": base, "comment.contains": "A4C"})).json()
    either = (await api.get(url, params={"name": base, "type": "A", "match": "any"})).json()
    none = (await api.get(url, params={"name": base, "type": "A"})).json()

    assert first["result_info"] == {"page": 1, "per_page": 2, "count": 2, "total_count": 5, "total_pages": 3}
    assert last["result_info"]["count"] == 1
    assert beyond["result"] == []
    contents = {r["content"] for r in first["result"] + last["result"]}
    assert len(contents) == 3
    assert sorted(r["content"] for r in owned["result"]) == ["v=1", "v=3"]
    assert len(either["result"]) >= 5
    assert none["result"] == []
    bad = await api.get(url, params={"per_page": 0})
    assert (bad.status_code, error_code(bad)) == (400, 1004)


async def test_batch_is_all_or_nothing(api: httpx.AsyncClient, zone_id: str, unique: Unique) -> None:
    name = unique("batch")
    keep = await create(api, zone_id, type="A", name=name, content="192.0.2.1")
    url = f"/zones/{zone_id}/dns_records"
    failing = {
        "deletes": [{"id": keep["id"]}],
        "posts": [
            {"type": "A", "name": name, "content": "192.0.2.2"},
            {"type": "A", "name": name, "content": "x"},
        ],
    }

    refused = await api.post(f"{url}/batch", json=failing)
    assert (refused.status_code, error_code(refused)) == (400, 9005)
    assert (await api.get(f"{url}/{keep['id']}")).status_code == 200

    ok = {
        "deletes": [{"id": keep["id"]}],
        "patches": [],
        "posts": [{"type": "CNAME", "name": name, "content": "app.firstovertheline.com"}],
    }
    result = (await api.post(f"{url}/batch", json=ok)).json()["result"]
    assert [r["id"] for r in result["deletes"]] == [keep["id"]]
    assert result["posts"][0]["type"] == "CNAME"  # the delete ran first, so the CNAME fits


async def test_auth_errors_use_cloudflare_codes(sandbox: CloudflareSandbox, zone_id: str) -> None:
    url = f"{sandbox.api_url}/zones/{zone_id}/dns_records"
    async with httpx.AsyncClient() as client:
        missing = await client.get(url)
        malformed = await client.get(url, headers={"authorization": "Basic abc"})
        wrong = await client.get(url, headers={"authorization": "Bearer not-the-token"})
        wrong_zones = await client.get(
            f"{sandbox.api_url}/zones", headers={"authorization": "Bearer not-the-token"}
        )
        verify_wrong = await client.get(
            f"{sandbox.api_url}/user/tokens/verify", headers={"authorization": "Bearer not-the-token"}
        )
        verify = await client.get(
            f"{sandbox.api_url}/user/tokens/verify", headers={"authorization": f"Bearer {sandbox.token}"}
        )

    assert (missing.status_code, error_code(missing)) == (400, 9106)
    assert (malformed.status_code, error_code(malformed)) == (400, 6003)
    assert malformed.json()["errors"][0]["error_chain"][0]["code"] == 6111
    assert (wrong.status_code, error_code(wrong)) == (401, 10000)
    assert set(wrong.json()) == {"success", "errors"}  # the gateway's shape
    assert (wrong_zones.status_code, error_code(wrong_zones)) == (403, 9109)
    assert wrong_zones.json()["errors"][0]["message"] == "Invalid access token"
    assert (verify_wrong.status_code, error_code(verify_wrong)) == (401, 1000)
    assert verify.json()["result"]["status"] == "active"
    assert "not-the-token" not in wrong.text


async def test_read_only_token_can_list_but_not_write() -> None:
    from dataclasses import replace

    from a4c.sandbox.cloudflare import CloudflareSettings

    settings = replace(CloudflareSettings(), read_only_tokens=("read-only",), rate_limit=None)
    async with CloudflareSandbox(settings) as sandbox:
        url = f"{sandbox.api_url}/zones/{sandbox.zone_id('firstovertheline.com')}/dns_records"
        headers = {"authorization": "Bearer read-only"}
        async with httpx.AsyncClient(headers=headers) as client:
            listed = await client.get(url)
            refused = await client.post(url, json={"type": "A", "name": "ro", "content": "192.0.2.1"})

    assert listed.status_code == 200
    assert (refused.status_code, error_code(refused)) == (403, 10000)


async def test_bad_ids_routes_and_bodies(api: httpx.AsyncClient, zone_id: str) -> None:
    bad_zone = await api.get("/zones/not-a-zone/dns_records")
    unknown_zone = await api.get(f"/zones/{'0' * 32}/dns_records")
    bad_record = await api.get(f"/zones/{zone_id}/dns_records/xyz")
    no_route = await api.get("/accounts")
    bad_json = await api.post(f"/zones/{zone_id}/dns_records", content=b"{oops")

    assert (bad_zone.status_code, error_code(bad_zone)) == (400, 7003)
    route = "Could not route to /zones/not-a-zone/dns_records, perhaps your object identifier is invalid?"
    assert bad_zone.json()["errors"] == [
        {"code": 7003, "message": route},
        {"code": 7000, "message": "No route for that URI"},
    ]
    # A well-formed id of no zone the token may use: the gateway refuses it, as for another account's.
    assert (unknown_zone.status_code, error_code(unknown_zone)) == (403, 10000)
    assert (bad_record.status_code, error_code(bad_record)) == (400, 7003)
    assert f"/zones/{zone_id}/dns_records/xyz" in bad_record.json()["errors"][0]["message"]
    assert (no_route.status_code, error_code(no_route)) == (400, 7000)
    assert (bad_json.status_code, error_code(bad_json)) == (400, 6007)


async def test_rate_limit_answers_429_envelope_with_retry_after(
    sandbox: CloudflareSandbox, api: httpx.AsyncClient
) -> None:
    await api.post(
        f"{sandbox.http.url}/_sandbox/faults",
        json={"rate_limit": {"limit": 2, "window_seconds": 300, "block_seconds": 300}},
    )
    statuses = [(await api.get("/zones")).status_code for _ in range(3)]
    limited = await api.get("/zones")

    assert statuses == [200, 200, 429]
    assert limited.headers["retry-after"] == "300"
    # The code and text of published 429 payloads.
    assert limited.json()["errors"] == [
        {"code": 971, "message": "Please wait and consider throttling your request speed"}
    ]
    assert limited.headers["ratelimit"] == '"default";r=0;t=300'
    assert limited.headers["ratelimit-policy"] == '"default";q=2;w=300'


async def test_injected_5xx_uses_the_envelope(sandbox: CloudflareSandbox, api: httpx.AsyncClient) -> None:
    await api.post(
        f"{sandbox.http.url}/_sandbox/faults", json={"faults": [{"kind": "status", "status": 502}]}
    )
    failed = await api.get("/zones")

    assert failed.status_code == 502
    assert failed.json() == {"success": False, "errors": [], "messages": [], "result": None}
    assert (await api.get("/zones")).status_code == 200


async def test_unimplemented_list_parameters_are_refused_not_ignored(
    api: httpx.AsyncClient, zone_id: str
) -> None:
    refused = [
        await api.get(f"/zones/{zone_id}/dns_records", params={"search": "www"}),
        await api.get(f"/zones/{zone_id}/dns_records", params={"tag_match": "any"}),
        await api.get(f"/zones/{zone_id}/dns_records", params={"name_exact": "typo.example"}),
        await api.get("/zones", params={"name": "contains:first"}),
        await api.get("/zones", params={"account.id": "0" * 32}),
    ]
    served = await api.get("/zones", params={"name": "firstovertheline.com", "status": "active"})

    assert [(r.status_code, error_code(r)) for r in refused] == [(400, 99999)] * 5
    assert all("not emulated" in r.json()["errors"][0]["message"] for r in refused)
    assert [z["name"] for z in served.json()["result"]] == ["firstovertheline.com"]
