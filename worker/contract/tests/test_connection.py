"""Temporal connection settings: the SDK's envconfig, our defaults, and start-up errors by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from a4c.workflows.codec import PayloadKeys
from a4c.workflows.connection import TemporalConnection, TemporalSettings, TemporalSettingsError

KEYS = PayloadKeys.generate("k1")


def test_nothing_set_means_the_local_dev_server_in_plaintext() -> None:
    connection = TemporalConnection.from_env({})
    assert (connection.address, connection.namespace, connection.tls, connection.api_key) == (
        "localhost:7233",
        "default",
        False,
        None,
    )


def test_an_api_key_turns_tls_on_and_stays_out_of_repr() -> None:
    env = {
        "TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233",
        "TEMPORAL_NAMESPACE": "ns.acct",
        "TEMPORAL_API_KEY": "k-123",
    }
    connection = TemporalConnection.from_env(env)
    assert (connection.address, connection.namespace, connection.api_key) == (
        env["TEMPORAL_ADDRESS"],
        "ns.acct",
        "k-123",
    )
    assert connection.tls_enabled
    assert "k-123" not in repr(connection)
    assert connection.secrets == ("k-123",)


def test_tls_files_are_read_at_start(tmp_path: Path) -> None:
    for name in ("ca.pem", "client.pem", "client.key"):
        (tmp_path / name).write_text(name)
    connection = TemporalConnection.from_env(
        {
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH": str(tmp_path / "ca.pem"),
            "TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem"),
            "TEMPORAL_TLS_CLIENT_KEY_PATH": str(tmp_path / "client.key"),
            "TEMPORAL_TLS_SERVER_NAME": "temporal.internal",
        }
    )
    assert connection.tls == TLSConfig(
        server_root_ca_cert=b"ca.pem",
        client_cert=b"client.pem",
        client_private_key=b"client.key",
        domain="temporal.internal",
    )


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/nonexistent/ca.pem"}, "TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
        ({"TEMPORAL_CONFIG_FILE": "/nonexistent/temporal.toml"}, "TEMPORAL_CONFIG_FILE"),
        ({"TEMPORAL_TLS": "maybe"}, "TEMPORAL_TLS"),
        ({"TEMPORAL_TLS_DISABLE_HOST_VERIFICATION": "true"}, "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION"),
    ],
)
def test_what_the_sdk_would_let_pass_is_a_start_up_error_by_name(env: dict[str, str], key: str) -> None:
    with pytest.raises(TemporalSettingsError) as caught:
        TemporalConnection.from_env(env)
    assert caught.value.key == key


def test_a_client_certificate_needs_its_key(tmp_path: Path) -> None:
    (tmp_path / "client.pem").write_text("cert")
    with pytest.raises(TemporalSettingsError, match="TEMPORAL_TLS_CLIENT_CERT_PATH"):
        TemporalConnection.from_env({"TEMPORAL_TLS_CLIENT_CERT_PATH": str(tmp_path / "client.pem")})


def test_a_profile_comes_from_the_config_file_and_variables_override_it(tmp_path: Path) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text(
        '[profile.default]\naddress = "file:7233"\n'
        '[profile.cloud]\naddress = "cloud:7233"\nnamespace = "prod.acct"\napi_key = "from-file"\n'
    )
    env = {"TEMPORAL_CONFIG_FILE": str(config)}
    assert TemporalConnection.from_env(env).address == "file:7233"
    cloud = TemporalConnection.from_env({**env, "TEMPORAL_PROFILE": "cloud", "TEMPORAL_NAMESPACE": "other"})
    assert (cloud.address, cloud.namespace, cloud.api_key, cloud.tls_enabled) == (
        "cloud:7233",
        "other",
        "from-file",
        True,
    )
    with pytest.raises(TemporalSettingsError) as caught:
        TemporalConnection.from_env({**env, "TEMPORAL_PROFILE": "missing"})
    assert caught.value.key == "TEMPORAL_PROFILE"


def test_a_broken_config_file_is_named_without_quoting_it(tmp_path: Path) -> None:
    config = tmp_path / "temporal.toml"
    config.write_text('bad = [toml\napi_key = "do-not-print-me"\n')
    with pytest.raises(TemporalSettingsError) as caught:
        TemporalConnection.from_env({"TEMPORAL_CONFIG_FILE": str(config)})
    assert caught.value.key == "TEMPORAL_CONFIG_FILE"
    assert "do-not-print-me" not in str(caught.value)


def test_production_needs_payload_keys_and_names_the_setting() -> None:
    with pytest.raises(TemporalSettingsError) as caught:
        TemporalSettings.from_env({}, require_keys=True)
    assert caught.value.key == "A4C_PAYLOAD_KEYS"
    assert TemporalSettings.from_env({}, require_keys=False).payload_keys is None


def test_payload_keys_come_inline_or_from_a_file_not_both(tmp_path: Path) -> None:
    keyfile = tmp_path / "keys"
    keyfile.write_text(KEYS + "\n")
    from_file = TemporalSettings.from_env({"A4C_PAYLOAD_KEYS_FILE": str(keyfile)}, require_keys=True)
    inline = TemporalSettings.from_env({"A4C_PAYLOAD_KEYS": KEYS}, require_keys=True)
    assert from_file.payload_keys == inline.payload_keys == PayloadKeys.parse(KEYS)
    assert KEYS.partition(":")[2] in inline.secrets
    with pytest.raises(TemporalSettingsError, match="not both"):
        TemporalSettings.from_env(
            {"A4C_PAYLOAD_KEYS": KEYS, "A4C_PAYLOAD_KEYS_FILE": str(keyfile)}, require_keys=False
        )
    with pytest.raises(TemporalSettingsError) as caught:
        TemporalSettings.from_env({"A4C_PAYLOAD_KEYS_FILE": str(tmp_path / "missing")}, require_keys=False)
    assert caught.value.key == "A4C_PAYLOAD_KEYS_FILE"
    with pytest.raises(TemporalSettingsError) as caught:
        TemporalSettings.from_env({"A4C_PAYLOAD_KEYS": "k1:short"}, require_keys=False)
    assert caught.value.key == "A4C_PAYLOAD_KEYS"
