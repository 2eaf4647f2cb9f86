"""The declarative specs: one declaration gives the read, its validation, the help line and the default."""

from __future__ import annotations

import pytest

from a4c.common.config import SERVER_SETTINGS, ServerSettings
from a4c.common.env import EnvReader, SettingsError
from a4c.common.settings import Bool, Choice, Float, Int, List, Optional, Required, Text, describe, help_text

PORT = Int("X_PORT", "port", 80, min=1, max=9)
RATE = Float("X_RATE", "rate", 1.5, min=1.0)
ON = Bool("X_ON", "on", True)
NAMES = List("X_NAMES", "names", ("a", "b"))
MODE = Choice("X_MODE", "mode", "fast", ("fast", "slow"))
TOKEN = Required("X_TOKEN", "token", secret=True)
HOST = Text("X_HOST", "host", "localhost")
CA = Optional("X_CA", "CA bundle", shown_default="none: plaintext")


def test_unset_or_blank_values_give_the_declared_default() -> None:
    reader = EnvReader({"X_HOST": "  "})
    assert [s.read(reader) for s in (RATE, ON, NAMES, MODE, HOST, CA)] == [
        1.5,
        True,
        ("a", "b"),
        "fast",
        "localhost",
        None,
    ]


def test_set_values_are_parsed_by_type() -> None:
    env = {"X_PORT": "8", "X_RATE": "2", "X_ON": "off", "X_NAMES": " c, ,d ", "X_MODE": "slow", "X_CA": "/ca"}
    reader = EnvReader(env)
    assert [s.read(reader) for s in (PORT, RATE, ON, NAMES, MODE, CA)] == [
        8,
        2.0,
        False,
        ("c", "d"),
        "slow",
        "/ca",
    ]


@pytest.mark.parametrize(
    ("setting", "raw", "problem"),
    [
        (PORT, "x", "not an integer"),
        (PORT, "10", "at most 9"),
        (RATE, "0.5", "at least 1.0"),
        (ON, "maybe", "not a boolean"),
        (MODE, "medium", "must be one of fast, slow"),
        (TOKEN, "", "is required"),
    ],
    ids=lambda v: v.name if hasattr(v, "name") else None,
)
def test_a_bad_value_names_the_variable(setting: Int, raw: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        setting.read(EnvReader({setting.name: raw}))
    assert caught.value.key == setting.name
    assert problem in caught.value.problem


def test_secrets_are_collected_for_redaction() -> None:
    reader = EnvReader({"X_TOKEN": "s3cret-value"})
    assert TOKEN.read(reader) == "s3cret-value"
    assert reader.secrets == ["s3cret-value"]


def test_help_shows_secrecy_and_the_default_from_the_declaration() -> None:
    assert describe(TOKEN) == "secret: token (required)"
    assert describe(PORT) == "port (default 80; 1 to 9)"
    assert describe(RATE) == "rate (default 1.5; at least 1)"
    assert describe(CA) == "CA bundle (none: plaintext)"
    text = help_text("Demo.", (PORT, TOKEN))
    assert text.splitlines()[2:] == [
        "Settings (environment variables):",
        "  X_PORT   port (default 80; 1 to 9)",
        "  X_TOKEN  secret: token (required)",
    ]


def test_a_variant_keeps_the_name_and_changes_the_default() -> None:
    slower = PORT.but(value=5)
    assert (slower.name, slower.default, PORT.default) == ("X_PORT", 5, 80)


def test_the_server_settings_dataclass_defaults_are_the_specs() -> None:
    defaults = ServerSettings()
    by_name = {s.name: s.default for s in SERVER_SETTINGS}
    assert (defaults.host, defaults.port, defaults.shutdown_grace_seconds) == (
        by_name["A4C_GRPC_HOST"],
        by_name["A4C_GRPC_PORT"],
        by_name["A4C_SHUTDOWN_GRACE_SECONDS"],
    )
    assert (defaults.log_level, defaults.environment) == (
        by_name["A4C_LOG_LEVEL"],
        by_name["A4C_ENVIRONMENT"],
    )
