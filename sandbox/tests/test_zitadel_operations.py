"""Zitadel emulator: fault bodies per URL style, the seed latency profile, settings and persistence."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from a4c.devstack.emulators import RunningZitadel, run_zitadel
from a4c.sandbox.zitadel import ZitadelConfig, create_app
from a4c.sandbox.zitadel.config import ConfigError


@pytest.fixture
async def api(zitadel: RunningZitadel) -> AsyncIterator[httpx.AsyncClient]:
    async with zitadel.client() as client:
        yield client


async def test_injected_faults_answer_in_the_style_of_the_path(api: httpx.AsyncClient) -> None:
    rules = [
        {"kind": "status", "status": 429, "count": 1, "retry_after": 2, "path": "/v2/*"},
        {"kind": "status", "status": 503, "count": 1, "path": "/zitadel.*"},
    ]
    assert (await api.post("/_sandbox/faults", json={"faults": rules})).status_code == 200

    rest = await api.post("/v2/organizations/_search", json={})
    connect = await api.post("/zitadel.org.v2.OrganizationService/ListOrganizations", json={})

    assert (rest.status_code, rest.headers["retry-after"], rest.json()["code"]) == (429, "2", 8)
    assert rest.json()["details"][0]["@type"] == "type.googleapis.com/zitadel.v1.ErrorDetail"
    assert (connect.status_code, connect.json()["code"]) == (503, "unavailable")
    assert (await api.post("/v2/organizations/_search", json={})).status_code == 200


async def test_a_dropped_connection_is_a_transport_error(api: httpx.AsyncClient) -> None:
    await api.post("/_sandbox/faults", json={"faults": [{"kind": "drop", "count": 1, "path": "/v2/*"}]})

    with pytest.raises(httpx.RemoteProtocolError):
        await api.post("/v2/organizations/_search", json={})


def test_seed_profile_slows_writes_not_reads() -> None:
    faults = create_app(ZitadelConfig(latency_profile="seed")).faults

    def delay(method: str, path: str) -> float:
        return faults.decide(method, path, "token").delay

    assert 5 <= delay("POST", "/v2/organizations") <= 10
    assert 5 <= delay("POST", "/zitadel.user.v2.UserService/AddHumanUser") <= 10
    assert delay("POST", "/management/v1/users/u1/grants") == 2
    assert delay("POST", "/v2/users/u1/invite_code") == 2
    assert delay("GET", "/admin/v1/orgs/o1") == 0
    assert delay("POST", "/v2/organizations/_search") == 0
    assert create_app().faults.decide("POST", "/v2/organizations", "token").delay == 0


async def test_behaviour_can_be_changed_at_run_time(zitadel: RunningZitadel, api: httpx.AsyncClient) -> None:
    changed = await api.put(
        "/_sandbox/zitadel/behaviour", json={"search_lag_seconds": 1.5, "duplicateOrgIdQuirk": True}
    )
    refused = await api.put("/_sandbox/zitadel/behaviour", json={"searchLagSeconds": -1})
    # Commands never lag in Zitadel, so the former user lag is refused, not silently ignored.
    invented = await api.put("/_sandbox/zitadel/behaviour", json={"userLagSeconds": 1})

    assert changed.json() == {"searchLagSeconds": 1.5, "duplicateOrgIdQuirk": True}
    assert zitadel.store.behaviour.search_lag_seconds == 1.5
    assert refused.status_code == 400
    assert "searchLagSeconds" in refused.json()["error"]
    assert invented.status_code == 400
    assert "userLagSeconds" in invented.json()["error"]
    assert (await api.get("/debug/healthz")).text == "ok"


def test_config_from_env_reads_every_setting(tmp_path: Path) -> None:
    config = ZitadelConfig.from_env(
        {
            "SANDBOX_ZITADEL_PAT": "pat-from-env",
            "SANDBOX_ZITADEL_PROJECT_ID": "42",
            "SANDBOX_ZITADEL_ROLE_KEYS": " admin , viewer ,",
            "SANDBOX_ZITADEL_SEARCH_LAG_SECONDS": "0.5",
            "SANDBOX_ZITADEL_TOKEN_TTL_SECONDS": "120",
            "SANDBOX_ZITADEL_DUPLICATE_ORG_ID_QUIRK": "true",
            "SANDBOX_ZITADEL_KEY_FILE": str(tmp_path / "key.json"),
            "SANDBOX_LATENCY_PROFILE": "seed",
            "SANDBOX_STATE_DIR": str(tmp_path),
        }
    )

    assert (config.pat, config.project_id, config.role_keys) == ("pat-from-env", "42", ("admin", "viewer"))
    assert (config.search_lag_seconds, config.access_token_ttl_seconds) == (0.5, 120)
    assert config.duplicate_org_id_quirk
    assert config.latency_profile == "seed"
    assert config.state_file == tmp_path / "zitadel.json"
    assert "pat-from-env" not in repr(config)
    assert ZitadelConfig.from_env({}) == ZitadelConfig()


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("SANDBOX_ZITADEL_SEARCH_LAG_SECONDS", "soon"),
        ("SANDBOX_ZITADEL_TOKEN_TTL_SECONDS", "0"),
        ("SANDBOX_ZITADEL_DUPLICATE_ORG_ID_QUIRK", "maybe"),
        ("SANDBOX_LATENCY_PROFILE", "slow"),
    ],
)
def test_bad_settings_name_the_variable(key: str, value: str) -> None:
    with pytest.raises(ConfigError, match=key):
        ZitadelConfig.from_env({key: value})


async def test_state_and_the_key_file_survive_a_restart(tmp_path: Path) -> None:
    config = ZitadelConfig(state_file=tmp_path / "state" / "zitadel.json", key_file=tmp_path / "key.json")
    async with run_zitadel(config) as first, first.client() as api:
        body = {"name": "Persisted", "organizationId": "org-p", "admins": []}
        assert (await api.post("/v2/organizations", json=body)).status_code == 201
    key_id = json.loads(config.key_file.read_text())["keyId"]  # type: ignore[union-attr]
    state_text = config.state_file.read_text()  # type: ignore[union-attr]
    assert config.pat not in state_text

    async with run_zitadel(config) as second, second.client() as api:
        assert (await api.get("/admin/v1/orgs/org-p")).json()["org"]["name"] == "Persisted"
        assert json.loads(config.key_file.read_text())["keyId"] == key_id  # type: ignore[union-attr]
        with second.store.read() as state:
            assert key_id in state.keys
