"""Fault injection middleware and the uvicorn runner, over real loopback sockets."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from a4c.sandbox.faults import (
    FaultConfigError,
    FaultMiddleware,
    FaultRule,
    Faults,
    RateLimit,
)
from a4c.sandbox.http import AsgiServer, ThreadedAsgiServer
from a4c.sandbox.request_log import busiest_window


async def _echo(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True, "method": request.method, "path": request.url.path})


def _error_body(status: int, reason: str) -> dict[str, Any]:
    return {"upstream_error": reason, "status": status}


def _app(faults: Faults) -> FaultMiddleware:
    routes = [Route("/{path:path}", _echo, methods=["GET", "POST", "DELETE"])]
    return FaultMiddleware(Starlette(routes=routes), faults, _error_body)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def served() -> AsyncIterator[tuple[Faults, httpx.AsyncClient]]:
    faults = Faults()
    async with AsgiServer(_app(faults), name="faults-test") as server:
        assert server.port > 0
        async with httpx.AsyncClient(base_url=server.url) as client:
            yield faults, client


async def test_status_rules_answer_n_times_with_the_upstream_body_then_pass(served: Any) -> None:
    _, client = served
    rules = [
        {"kind": "status", "status": 429, "count": 2, "retry_after": 0.5, "path": "/zones/*"},
        {"kind": "status", "status": 503, "count": 1, "path": "/zones/*"},
    ]
    assert (await client.post("/_sandbox/faults", json={"faults": rules})).status_code == 200

    first, second, third, fourth = [await client.get("/zones/abc") for _ in range(4)]
    assert (first.status_code, first.headers["retry-after"]) == (429, "0.5")
    assert first.json() == {"upstream_error": "rate_limited", "status": 429}
    assert second.status_code == 429
    assert third.status_code == 503
    assert "retry-after" not in third.headers
    assert third.json() == {"upstream_error": "server_error", "status": 503}
    assert fourth.json()["ok"] is True

    state = (await client.get("/_sandbox/faults")).json()
    assert state["faults"] == []
    assert state["injected"] == {"429": 2, "503": 1}


async def test_rules_only_hit_matching_method_and_path(served: Any) -> None:
    _, client = served
    rule = {"kind": "status", "status": 500, "count": 1, "method": "post", "path": "/zones/*/dns_records"}
    await client.post("/_sandbox/faults", json={"faults": [rule]})

    assert (await client.get("/zones/z/dns_records")).status_code == 200
    assert (await client.post("/zones/z/other")).status_code == 200
    assert (await client.post("/zones/z/dns_records")).status_code == 500
    assert (await client.post("/zones/z/dns_records")).status_code == 200


async def test_drop_closes_the_connection_without_an_answer(served: Any) -> None:
    _, client = served
    await client.post("/_sandbox/faults", json={"faults": [{"kind": "drop", "count": 1}]})

    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/anything", json={"payload": "x" * 1000})
    assert (await client.get("/anything")).status_code == 200


async def test_after_rules_serve_the_request_then_lose_its_answer() -> None:
    served: list[str] = []

    async def record(request: Request) -> JSONResponse:
        served.append(request.url.path)
        return JSONResponse({"ok": True})

    rules = [
        FaultRule(kind="status", status=502, count=1, after=True),
        FaultRule(kind="drop", count=1, after=True),
    ]
    app = FaultMiddleware(
        Starlette(routes=[Route("/{p:path}", record, methods=["POST"])]), Faults(rules), _error_body
    )
    async with AsgiServer(app) as server, httpx.AsyncClient(base_url=server.url) as client:
        lost = await client.post("/first")
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/second")

    assert lost.status_code == 502
    assert served == ["/first", "/second"]


async def test_bad_control_body_is_rejected_naming_the_field_and_changes_nothing(served: Any) -> None:
    _, client = served
    body = {"faults": [{"kind": "status", "status": 503}, {"kind": "status", "status": 404}]}
    answer = await client.post("/_sandbox/faults", json=body)

    assert answer.status_code == 400
    assert "status" in answer.json()["error"]
    assert (await client.get("/_sandbox/faults")).json()["faults"] == []
    assert (await client.post("/_sandbox/faults", content=b"[1]")).status_code == 400
    assert (await client.post("/_sandbox/faults", content=b"{nope")).status_code == 400
    assert (await client.put("/_sandbox/faults")).status_code == 405


async def test_delete_clears_rules_and_restores_the_start_rate_limit() -> None:
    faults = Faults(rate_limit=RateLimit(limit=1, window_seconds=60))
    async with AsgiServer(_app(faults)) as server, httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/a")).status_code == 200
        limited = await client.get("/a")
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "60"

        body = {"faults": [{"kind": "status", "status": 502, "count": 5}], "rate_limit": None}
        await client.post("/_sandbox/faults", json=body)
        assert (await client.get("/a")).status_code == 502

        state = (await client.delete("/_sandbox/faults")).json()
        start_limit = {"limit": 1, "window_seconds": 60, "block_seconds": 0.0}
        assert state == {
            "faults": [],
            "rate_limit": start_limit,
            "ip_rate_limit": None,
            "injected": {},
            "delays": [],
        }
        assert (await client.get("/a")).status_code == 200
        assert (await client.get("/a")).status_code == 429


def test_rate_limit_is_a_sliding_window_per_credential() -> None:
    clock = FakeClock()
    faults = Faults(rate_limit=RateLimit(limit=2, window_seconds=10), clock=clock)

    assert faults.decide("GET", "/x", "token-a").action == "pass"
    clock.now += 4
    assert faults.decide("GET", "/x", "token-a").action == "pass"
    refused = faults.decide("GET", "/x", "token-a")
    assert (refused.status, refused.retry_after) == (429, 6.0)  # the first call leaves the window in 6 s
    assert faults.decide("GET", "/x", "token-b").action == "pass"
    clock.now += 6
    assert faults.decide("GET", "/x", "token-a").action == "pass"
    assert faults.decide("GET", "/x", "token-a").status == 429


def test_rate_limit_with_a_block_refuses_everything_until_the_block_ends() -> None:
    clock = FakeClock()
    faults = Faults(rate_limit=RateLimit(limit=1, window_seconds=1, block_seconds=300), clock=clock)

    assert faults.decide("GET", "/x", "t").action == "pass"
    assert faults.decide("GET", "/x", "t").retry_after == 300
    clock.now += 299
    assert faults.decide("GET", "/x", "t").retry_after == 1
    clock.now += 1
    assert faults.decide("GET", "/x", "t").action == "pass"


def test_latency_is_fixed_or_drawn_from_the_range_and_applies_until_cleared() -> None:
    faults = Faults(rng=random.Random(7))
    faults.configure({"faults": [{"kind": "latency", "path": "/slow", "seconds": 0.25}]})
    faults.configure({"faults": [{"kind": "latency", "min_seconds": 0.1, "max_seconds": 0.2}]})

    assert [faults.decide("GET", "/slow", "t").delay for _ in range(3)] == [0.25] * 3
    drawn = [faults.decide("GET", "/other", "t").delay for _ in range(20)]
    assert all(0.1 <= d <= 0.2 for d in drawn)
    assert len(set(drawn)) > 1
    faults.clear()
    assert faults.decide("GET", "/slow", "t").delay == 0


def test_every_injected_delay_is_reported_with_its_request_and_start_until_cleared() -> None:
    wall = FakeClock()
    wall.now = 1_700_000_000.0
    faults = Faults(rng=random.Random(7), wall=wall)
    faults.configure({"faults": [{"kind": "latency", "path": "/slow", "method": "POST", "seconds": 2}]})

    faults.decide("POST", "/slow", "t")
    wall.now += 5
    faults.decide("GET", "/slow", "t")  # not matched: nothing injected, nothing reported
    faults.decide("POST", "/slow", "t")

    assert faults.snapshot()["delays"] == [
        {"method": "POST", "path": "/slow", "seconds": 2.0, "at": 1_700_000_000.0},
        {"method": "POST", "path": "/slow", "seconds": 2.0, "at": 1_700_000_005.0},
    ]
    faults.clear()
    assert faults.snapshot()["delays"] == []


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "teleport"}, "kind"),
        ({"kind": "drop", "count": 0}, "count"),
        ({"kind": "latency", "min_seconds": 2, "max_seconds": 1}, "max_seconds"),
        ({"kind": "latency", "seconds": -1}, "seconds"),
        ({"kind": "status", "status": 429, "retry_after": "soon"}, "retry_after"),
        ({"kind": "drop", "path": ""}, "path"),
        ({"kind": "drop", "after": "yes"}, "after"),
    ],
)
def test_invalid_rules_name_the_field(rule: dict[str, Any], field: str) -> None:
    with pytest.raises(FaultConfigError, match=field):
        FaultRule.from_json(rule)


def test_invalid_rate_limit_names_the_field() -> None:
    with pytest.raises(FaultConfigError, match=r"rate_limit\.limit"):
        Faults().configure({"rate_limit": {"limit": 0, "window_seconds": 1}})


def test_threaded_server_serves_sync_clients_and_stops_cleanly() -> None:
    faults = Faults([FaultRule(kind="status", status=500, count=1)])
    server = ThreadedAsgiServer(_app(faults))
    with server:
        assert httpx.get(f"{server.url}/x").status_code == 500
        assert httpx.get(f"{server.url}/x").json()["ok"] is True
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{server.url}/x")


async def test_stopped_server_refuses_connections_and_stop_is_idempotent() -> None:
    server = AsgiServer(_app(Faults()))
    port = await server.start()
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"http://127.0.0.1:{port}/x")).status_code == 200
    await server.stop()
    await server.stop()
    async with httpx.AsyncClient() as client:
        with pytest.raises(httpx.ConnectError):
            await client.get(f"http://127.0.0.1:{port}/x")


def test_ip_rate_limit_counts_per_client_address_whatever_the_credential() -> None:
    clock = FakeClock()
    faults = Faults(ip_rate_limit=RateLimit(limit=2, window_seconds=1), clock=clock)
    assert faults.decide("GET", "/a", "token-a", "10.0.0.1").action == "pass"
    assert faults.decide("GET", "/a", "token-b", "10.0.0.1").action == "pass"
    refused = faults.decide("GET", "/a", "token-c", "10.0.0.1")
    assert (refused.status, refused.retry_after) == (429, 1.0)
    assert faults.decide("GET", "/a", "token-a", "10.0.0.2").action == "pass"  # another address
    clock.now += 1.0
    assert faults.decide("GET", "/a", "token-a", "10.0.0.1").action == "pass"  # the second is over


def test_decisions_report_the_credential_quota_left_and_its_reset() -> None:
    clock = FakeClock()
    faults = Faults(rate_limit=RateLimit(limit=3, window_seconds=300, block_seconds=300), clock=clock)
    first = faults.decide("GET", "/a", "token", "10.0.0.1").quota
    assert first is not None
    assert (first.remaining, first.reset_seconds) == (2, 300)
    clock.now += 100
    faults.decide("GET", "/a", "token", "10.0.0.1")
    faults.decide("GET", "/a", "token", "10.0.0.1")
    blocked = faults.decide("GET", "/a", "token", "10.0.0.1")
    assert blocked.status == 429
    assert blocked.quota is not None
    assert (blocked.quota.remaining, blocked.quota.reset_seconds) == (0, 300)


async def test_the_request_log_keeps_every_upstream_request_with_its_status(served: Any) -> None:
    faults, client = served
    faults.add(FaultRule(kind="status", status=429, count=1, path="/zones/b"))
    for path in ("/zones/a", "/zones/b", "/zones/c"):
        await client.get(path)
    await client.get("/_sandbox/emails")  # the emulator's own endpoints are not the upstream's traffic

    logged = (await client.get("/_sandbox/requests")).json()["requests"]
    assert [(method, path, status) for _, method, path, status in logged] == [
        ("GET", "/zones/a", 200),
        ("GET", "/zones/b", 429),
        ("GET", "/zones/c", 200),
    ]
    since = logged[2][0]
    later = (await client.get("/_sandbox/requests", params={"since": since})).json()["requests"]
    assert [path for _, _, path, _ in later] == ["/zones/c"]
    assert (await client.delete("/_sandbox/requests")).json() == {"requests": []}


def test_the_busiest_window_counts_the_most_requests_any_window_holds() -> None:
    assert busiest_window([], 1.0) == 0
    assert busiest_window([0.0, 0.5, 0.99, 1.0, 1.2, 5.0], 1.0) == 4  # 0.5 .. 1.2
    assert busiest_window([3.0, 1.0, 2.0], 0.5) == 1
