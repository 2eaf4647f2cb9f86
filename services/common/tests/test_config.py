"""Invalid settings fail at start-up, naming the environment variable."""

from __future__ import annotations

import subprocess
import sys

import pytest

from a4c.common.config import EnvReader, ServerSettings, SettingsError

GOOD = {"A4C_AUTH_TOKENS": "a-token-that-is-long-enough"}


def settings(**env: str) -> ServerSettings:
    return ServerSettings.from_env(EnvReader({**GOOD, **env}))


def test_defaults() -> None:
    s = settings()
    assert (s.host, s.port, s.environment, s.auth_tokens) == (
        "0.0.0.0",
        50051,
        "development",
        ("a-token-that-is-long-enough",),
    )


def test_the_health_port_is_off_unless_set() -> None:
    assert settings().health_port is None
    assert settings(A4C_HEALTH_PORT="8081").health_port == 8081
    assert settings(A4C_HEALTH_PORT="0", A4C_GRPC_PORT="0").health_port == 0  # both pick free ports


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"A4C_GRPC_PORT": "http"}, "A4C_GRPC_PORT"),
        ({"A4C_GRPC_PORT": "70000"}, "A4C_GRPC_PORT"),
        ({"A4C_AUTH_TOKENS": ""}, "A4C_AUTH_TOKENS"),
        ({"A4C_AUTH_TOKENS": "short"}, "A4C_AUTH_TOKENS"),
        ({"A4C_TLS_CERT_FILE": "/tmp/cert.pem"}, "A4C_TLS_KEY_FILE"),
        ({"A4C_TLS_CLIENT_CA_FILE": "/tmp/ca.pem"}, "A4C_TLS_CLIENT_CA_FILE"),
        ({"A4C_HEALTH_PORT": "probe"}, "A4C_HEALTH_PORT"),
        ({"A4C_HEALTH_PORT": "50051"}, "A4C_HEALTH_PORT"),  # the serving port itself
        ({"A4C_LOG_LEVEL": "LOUD"}, "A4C_LOG_LEVEL"),
        ({"A4C_ENVIRONMENT": "staging"}, "A4C_ENVIRONMENT"),
        ({"A4C_SHUTDOWN_GRACE_SECONDS": "-1"}, "A4C_SHUTDOWN_GRACE_SECONDS"),
        ({"A4C_AUTH_DISABLED": "maybe"}, "A4C_AUTH_DISABLED"),
    ],
)
def test_invalid_setting_names_the_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        settings(**env)
    assert caught.value.key == key
    assert str(caught.value).startswith(f"{key}: ")


def test_auth_can_be_disabled_explicitly_for_local_use() -> None:
    assert settings(A4C_AUTH_TOKENS="", A4C_AUTH_DISABLED="true").auth_enabled is False


def test_tokens_never_appear_in_repr_and_are_known_as_secrets() -> None:
    reader = EnvReader(GOOD)
    s = ServerSettings.from_env(reader)
    assert "a-token-that-is-long-enough" not in repr(s)
    assert "a-token-that-is-long-enough" in reader.secrets


PROGRAM = """
from a4c.common.config import SERVER_SETTINGS, EnvReader, ServerSettings
from a4c.common.main import Service, run_service
from a4c.common.settings import Int

DEMO = Int(name="DEMO_KEY", help="what it is", value=7)

async def build(env):
    return Service(bindings=[], settings=ServerSettings.from_env(EnvReader(env)))

run_service("a4c.demo", "A demo service.", (DEMO, *SERVER_SETTINGS), build)
"""


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", PROGRAM, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_process_exits_2_naming_the_variable_before_binding() -> None:
    result = run([], {"A4C_AUTH_TOKENS": GOOD["A4C_AUTH_TOKENS"], "A4C_GRPC_PORT": "not-a-port"})
    assert result.returncode == 2
    assert "config error: A4C_GRPC_PORT: not an integer" in result.stderr


def test_help_lists_the_settings_without_starting() -> None:
    result = run(["--help"], {})
    assert result.returncode == 0
    assert "DEMO_KEY" in result.stdout
    assert "what it is (default 7)" in result.stdout
    assert "secret: comma-separated bearer tokens" in result.stdout


def test_required_secret_names_a_missing_variable_and_is_redacted_when_present() -> None:
    with pytest.raises(SettingsError) as caught:
        EnvReader({"DATABASE_URL": " "}).required_secret("DATABASE_URL")
    assert caught.value.key == "DATABASE_URL"
    reader = EnvReader({"DATABASE_URL": "postgresql://u:pw@db/a4c"})
    assert reader.required_secret("DATABASE_URL") == "postgresql://u:pw@db/a4c"
    assert reader.secrets == ["postgresql://u:pw@db/a4c"]
