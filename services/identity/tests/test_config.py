"""Settings: defaults, exactly one credential, every bad value named, secrets registered and hidden."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from a4c.common.config import SettingsError
from a4c.devstack.emulators import RunningZitadel
from a4c.devstack.wiring import Wiring
from a4c.identity.config import Settings

BASE = {
    "ZITADEL_URL": "https://acme.zitadel.cloud/",
    "ZITADEL_PAT": "pat-0123456789abcdef",
    "ZITADEL_PROJECT_ID": "300000000000000001",
    "A4C_AUTH_PRINCIPALS": "worker:read+write:caller-token-0123456789",
}


def test_defaults_and_secrets() -> None:
    settings = Settings.from_env(BASE)

    assert settings.zitadel_url == "https://acme.zitadel.cloud"
    assert settings.admin_role_keys == ("provider_admin",)
    assert (settings.application_name, settings.invite_url_template) == ("A4C", "")
    assert (settings.timeout_seconds, settings.consistency_wait_seconds, settings.max_attempts) == (
        30.0,
        5.0,
        5,
    )
    assert set(settings.secrets) == {
        "pat-0123456789abcdef",
        "caller-token-0123456789",
        BASE["A4C_AUTH_PRINCIPALS"],  # the whole list too: redacted wherever it appears
    }
    assert "pat-0123456789abcdef" not in repr(settings)


def test_every_setting_is_read(tmp_path: Path, zitadel: RunningZitadel) -> None:
    key_file = zitadel.write_key_file(tmp_path / "key.json")
    env = {
        **BASE,
        "ZITADEL_PAT": "",
        "ZITADEL_KEY_FILE": str(key_file),
        "ZITADEL_ADMIN_ROLE_KEYS": "provider_admin, billing:read",
        "ZITADEL_INVITE_URL_TEMPLATE": "https://app.test/invite?c={{.Code}}&u={{.UserID}}",
        "ZITADEL_APPLICATION_NAME": "Analytics4Change",
        "ZITADEL_TIMEOUT_SECONDS": "12.5",
        "ZITADEL_CONSISTENCY_WAIT_SECONDS": "0",
        "ZITADEL_MAX_ATTEMPTS": "3",
    }

    settings = Settings.from_env(env)

    assert settings.service_account_key is not None
    assert settings.service_account_key.key_id == json.loads(key_file.read_text())["keyId"]
    assert settings.admin_role_keys == ("provider_admin", "billing:read")
    assert settings.application_name == "Analytics4Change"
    assert (settings.timeout_seconds, settings.consistency_wait_seconds, settings.max_attempts) == (
        12.5,
        0,
        3,
    )
    assert settings.service_account_key.private_key_pem in settings.secrets
    assert "PRIVATE KEY" not in repr(settings)


@pytest.mark.parametrize(
    ("changes", "key", "problem"),
    [
        ({"ZITADEL_URL": ""}, "ZITADEL_URL", "required"),
        ({"ZITADEL_URL": "zitadel.cloud"}, "ZITADEL_URL", "http(s)"),
        ({"ZITADEL_URL": "https://z.test/?x=1"}, "ZITADEL_URL", "without query"),
        ({"ZITADEL_URL": "http://z.test", "A4C_ENVIRONMENT": "production"}, "ZITADEL_URL", "https"),
        ({"ZITADEL_PAT": ""}, "ZITADEL_PAT", "unless ZITADEL_KEY_FILE"),
        ({"ZITADEL_KEY_FILE": "/nowhere/key.json"}, "ZITADEL_KEY_FILE", "not both"),
        ({"ZITADEL_PAT": "", "ZITADEL_KEY_FILE": "/nowhere/key.json"}, "ZITADEL_KEY_FILE", "cannot read"),
        ({"ZITADEL_PROJECT_ID": ""}, "ZITADEL_PROJECT_ID", "required"),
        ({"ZITADEL_PROJECT_ID": "a/b"}, "ZITADEL_PROJECT_ID", "not a Zitadel id"),
        ({"ZITADEL_ADMIN_ROLE_KEYS": " , "}, "ZITADEL_ADMIN_ROLE_KEYS", "at least one"),
        ({"ZITADEL_ADMIN_ROLE_KEYS": "admin,two words"}, "ZITADEL_ADMIN_ROLE_KEYS", "two words"),
        (
            {"ZITADEL_INVITE_URL_TEMPLATE": "https://x.test/invite"},
            "ZITADEL_INVITE_URL_TEMPLATE",
            "{{.Code}}",
        ),
        ({"ZITADEL_INVITE_URL_TEMPLATE": "/invite/{{.Code}}"}, "ZITADEL_INVITE_URL_TEMPLATE", "http(s)"),
        ({"ZITADEL_APPLICATION_NAME": "x" * 201}, "ZITADEL_APPLICATION_NAME", "200"),
        # Both go into the invitation email: no header injection through the configuration either.
        ({"ZITADEL_APPLICATION_NAME": "A4C\r\nBcc: x@evil.test"}, "ZITADEL_APPLICATION_NAME", "control"),
        (
            {"ZITADEL_INVITE_URL_TEMPLATE": "https://x.test/i?c={{.Code}}\r\nX: y"},
            "ZITADEL_INVITE_URL_TEMPLATE",
            "control",
        ),
        ({"ZITADEL_TIMEOUT_SECONDS": "0"}, "ZITADEL_TIMEOUT_SECONDS", "at least"),
        ({"ZITADEL_MAX_ATTEMPTS": "many"}, "ZITADEL_MAX_ATTEMPTS", "integer"),
        ({"A4C_AUTH_PRINCIPALS": ""}, "A4C_AUTH_PRINCIPALS", "required"),
    ],
)
def test_bad_settings_name_the_variable(changes: dict[str, str], key: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, **changes})

    assert caught.value.key == key
    assert problem in caught.value.problem
    assert "pat-0123456789abcdef" not in str(caught.value)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "a4c.identity", *args],
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def test_help_lists_the_settings_without_needing_any() -> None:
    result = _run({}, "--help")

    assert result.returncode == 0
    for name in ("ZITADEL_URL", "ZITADEL_PAT", "ZITADEL_KEY_FILE", "ZITADEL_PROJECT_ID", "A4C_GRPC_PORT"):
        assert name in result.stdout


def test_a_bad_setting_exits_2_naming_it_before_binding() -> None:
    result = _run({**BASE, "ZITADEL_PROJECT_ID": ""})

    assert result.returncode == 2
    assert "config error: ZITADEL_PROJECT_ID" in result.stderr
    assert "pat-0123456789abcdef" not in result.stderr


async def test_the_process_serves_health_and_stops_on_sigterm(zitadel: RunningZitadel) -> None:
    port = _free_port()
    env = (
        Wiring.for_emulators("caller-token-0123456789", zitadel=zitadel)
        .at(identity=f"127.0.0.1:{port}")
        .env("identity")
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "a4c.identity"],
        env={"PATH": os.environ.get("PATH", ""), **env, "A4C_SHUTDOWN_GRACE_SECONDS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            health = health_pb2_grpc.HealthStub(channel)
            request = health_pb2.HealthCheckRequest(service="a4c.api.identity.v1.IdentityService")
            reply = await health.Check(request, timeout=20, wait_for_ready=True)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert zitadel.pat not in stdout
    assert '"level": "info"' in stdout  # JSON log lines
