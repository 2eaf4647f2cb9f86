"""`python -m a4c.sandbox` as a real process: settings, readiness line, signals, persisted state."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import dns.asyncquery
import dns.message
import dns.rcode
import httpx
import pytest

TOKEN = "main-test-cloudflare-token"


def sandbox_env(state_dir: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "SANDBOX_CLOUDFLARE_PORT": "0",
        "SANDBOX_DNS_PORT": "0",
        "SANDBOX_ZITADEL_PORT": "0",
        "SANDBOX_CLOUDFLARE_TOKEN": TOKEN,
        "SANDBOX_STATE_DIR": str(state_dir),
        **extra,
    }


@asynccontextmanager
async def sandbox_process(env: dict[str, str]) -> AsyncIterator[dict[str, Any]]:
    """Start the process, yield its readiness line, then SIGTERM it and expect a clean exit."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "a4c.sandbox",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        assert line, (await process.stderr.read()).decode() if process.stderr else "no output"
        yield json.loads(line)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0


async def query(nameserver: str, name: str) -> dns.message.Message:
    host, port = nameserver.rsplit(":", 1)
    return await dns.asyncquery.udp(dns.message.make_query(name, "A"), host, port=int(port), timeout=2)


async def test_help_and_bad_settings_exit_before_binding(tmp_path: Path) -> None:
    shown = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "a4c.sandbox", "--help", stdout=asyncio.subprocess.PIPE
    )
    help_text, _ = await shown.communicate()
    refused = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "a4c.sandbox",
        env=sandbox_env(tmp_path, SANDBOX_CLOUDFLARE_RATE_LIMIT="lots"),
        stderr=asyncio.subprocess.PIPE,
    )
    _, error = await refused.communicate()

    assert shown.returncode == 0
    for name in (
        "SANDBOX_ZONES",
        "SANDBOX_PROPAGATION_DELAY_SECONDS",
        "SANDBOX_STATE_DIR",
        "SANDBOX_ZITADEL_PORT",
    ):
        assert name.encode() in help_text
    assert refused.returncode == 2
    assert b"SANDBOX_CLOUDFLARE_RATE_LIMIT" in error


async def test_records_survive_a_restart_with_a_state_dir(tmp_path: Path) -> None:
    name = "kept.analytics4change.com"
    headers = {"authorization": f"Bearer {TOKEN}"}
    env = sandbox_env(tmp_path, SANDBOX_ZONES="analytics4change.com")

    async with (
        sandbox_process(env) as ready,
        httpx.AsyncClient(base_url=ready["cloudflare_api"], headers=headers) as api,
    ):
        zone_id = (await api.get("/zones", params={"name": "analytics4change.com"})).json()["result"][0]["id"]
        created = await api.post(
            f"/zones/{zone_id}/dns_records", json={"type": "A", "name": name, "content": "192.0.2.9"}
        )
        assert created.status_code == 200
        async with httpx.AsyncClient() as plain:
            assert (await plain.get(ready["zitadel_api"] + "/debug/healthz")).status_code == 200
    assert (tmp_path / "cloudflare.json").exists()

    async with (
        sandbox_process(env) as ready,
        httpx.AsyncClient(base_url=ready["cloudflare_api"], headers=headers) as api,
    ):
        listed = (await api.get(f"/zones/{zone_id}/dns_records", params={"name": name})).json()["result"]
        answer = await query(ready["dns"], name)

    assert [r["id"] for r in listed] == [created.json()["result"]["id"]]
    assert answer.rcode() == dns.rcode.NOERROR
    assert [rd.to_text() for rd in answer.answer[0]] == ["192.0.2.9"]


def test_the_zones_creation_date_and_a_set_quota_are_read_and_bad_ones_named() -> None:
    from a4c.sandbox.__main__ import ConfigError, SandboxSettings

    settings = SandboxSettings.from_env(
        {"SANDBOX_CLOUDFLARE_ZONE_CREATED_ON": "2023-05-02", "SANDBOX_CLOUDFLARE_RECORD_QUOTA": "5000"}
    )
    assert settings.cloudflare.zone_created_on == "2023-05-02T00:00:00.000000Z"
    assert settings.cloudflare.record_quota == 5000
    for key, bad in (
        ("SANDBOX_CLOUDFLARE_ZONE_CREATED_ON", "May 2023"),
        ("SANDBOX_CLOUDFLARE_RECORD_QUOTA", "0"),
    ):
        with pytest.raises(ConfigError, match=f"^{key}"):
            SandboxSettings.from_env({key: bad})
