"""Invalid settings fail at start-up, naming the environment variable."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from a4c.common.auth import Credentials
from a4c.common.config import EnvReader, ServerSettings, SettingsError

GOOD = {"A4C_AUTH_PRINCIPALS": "console:read:a-token-that-is-long-enough"}


def settings(**env: str) -> ServerSettings:
    return ServerSettings.from_env(EnvReader({**GOOD, **env}))


def test_defaults() -> None:
    s = settings()
    assert (s.host, s.port, s.environment, s.max_concurrent_rpcs) == ("0.0.0.0", 50051, "development", 500)
    assert [(c.principal.name, c.principal.scopes) for c in s.principals] == [("console", {"read"})]


def test_the_health_port_is_off_unless_set() -> None:
    assert settings().health_port is None
    assert settings(A4C_HEALTH_PORT="8081").health_port == 8081
    assert settings(A4C_HEALTH_PORT="0", A4C_GRPC_PORT="0").health_port == 0  # both pick free ports


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"A4C_GRPC_PORT": "http"}, "A4C_GRPC_PORT"),
        ({"A4C_GRPC_PORT": "70000"}, "A4C_GRPC_PORT"),
        ({"A4C_AUTH_PRINCIPALS": ""}, "A4C_AUTH_PRINCIPALS"),
        ({"A4C_AUTH_PRINCIPALS": "console:read:short"}, "A4C_AUTH_PRINCIPALS"),
        ({"A4C_AUTH_PRINCIPALS": "console:a-token-that-is-long-enough"}, "A4C_AUTH_PRINCIPALS"),
        ({"A4C_AUTH_PRINCIPALS": "Console!:read:a-token-that-is-long-enough"}, "A4C_AUTH_PRINCIPALS"),
        ({"A4C_AUTH_PRINCIPALS": "console::a-token-that-is-long-enough"}, "A4C_AUTH_PRINCIPALS"),
        (
            {"A4C_AUTH_PRINCIPALS": "a:read:a-token-that-is-long-enough,a:read:b-token-that-is-long-enough"},
            "A4C_AUTH_PRINCIPALS",
        ),
        (
            {"A4C_AUTH_PRINCIPALS": "a:read:a-token-that-is-long-enough,b:read:a-token-that-is-long-enough"},
            "A4C_AUTH_PRINCIPALS",
        ),
        ({"A4C_AUTH_PRINCIPALS": "a:read:sha256=abc"}, "A4C_AUTH_PRINCIPALS"),
        ({"A4C_AUTH_PRINCIPALS_FILE": "/nonexistent/principals"}, "A4C_AUTH_PRINCIPALS_FILE"),
        ({"A4C_AUTH_TOKENS": "a-token-that-is-long-enough"}, "A4C_AUTH_TOKENS"),  # replaced: migrate
        ({"A4C_GRPC_MAX_CONCURRENT_RPCS": "0"}, "A4C_GRPC_MAX_CONCURRENT_RPCS"),
        ({"A4C_PAGE_TOKEN_KEY": "too-short"}, "A4C_PAGE_TOKEN_KEY"),
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
    assert settings(A4C_AUTH_PRINCIPALS="", A4C_AUTH_DISABLED="true").auth_enabled is False


def test_tokens_never_appear_in_repr_and_are_known_as_secrets() -> None:
    reader = EnvReader(GOOD)
    s = ServerSettings.from_env(reader)
    assert "a-token-that-is-long-enough" not in repr(s)
    assert "a-token-that-is-long-enough" in reader.secrets
    assert "console" in repr(s)


def test_principals_may_come_from_a_file_and_as_digests(tmp_path: Path) -> None:
    digest = hashlib.sha256(b"operator-token-0123456789").hexdigest()
    listed = tmp_path / "principals"
    listed.write_text(
        f"# who may call\nconsole:read:a-token-that-is-long-enough\noperator:read+bootstrap:sha256={digest}\n"
    )
    s = ServerSettings.from_env(EnvReader({"A4C_AUTH_PRINCIPALS_FILE": str(listed)}))
    assert {c.principal.name: c.principal.scopes for c in s.principals} == {
        "console": {"read"},
        "operator": {"read", "bootstrap"},
    }
    assert Credentials(s.principals).principal_of("operator-token-0123456789") == s.principals[1].principal
    with pytest.raises(SettingsError, match="not both"):
        ServerSettings.from_env(EnvReader({**GOOD, "A4C_AUTH_PRINCIPALS_FILE": str(listed)}))


def test_the_page_token_key_is_shared_when_set_and_random_per_process_otherwise() -> None:
    assert settings(A4C_PAGE_TOKEN_KEY="k" * 32).page_token_key == b"k" * 32
    assert settings().page_token_key != settings().page_token_key


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
    result = run([], {**GOOD, "A4C_GRPC_PORT": "not-a-port"})
    assert result.returncode == 2
    assert "config error: A4C_GRPC_PORT: not an integer" in result.stderr


def test_help_lists_the_settings_without_starting() -> None:
    result = run(["--help"], {})
    assert result.returncode == 0
    assert "DEMO_KEY" in result.stdout
    assert "what it is (default 7)" in result.stdout
    assert "secret: callers as name:scope+scope:token entries" in result.stdout


def test_required_secret_names_a_missing_variable_and_is_redacted_when_present() -> None:
    with pytest.raises(SettingsError) as caught:
        EnvReader({"DATABASE_URL": " "}).required_secret("DATABASE_URL")
    assert caught.value.key == "DATABASE_URL"
    reader = EnvReader({"DATABASE_URL": "postgresql://u:pw@db/a4c"})
    assert reader.required_secret("DATABASE_URL") == "postgresql://u:pw@db/a4c"
    assert reader.secrets == ["postgresql://u:pw@db/a4c"]
