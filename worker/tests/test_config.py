"""Worker settings: Temporal through the SDK's envconfig, payload keys required in production."""

from __future__ import annotations

import pytest

from a4c.common.config import SettingsError
from a4c.worker.config import Settings
from a4c.workflows.codec import PayloadKeys

MINIMAL = {
    "DATABASE_URL": "postgresql://app:pw@db:5432/a4c",
    "A4C_DNS_SERVICE_ADDRESS": "dns:50051",
    "A4C_IDENTITY_SERVICE_ADDRESS": "identity:50051",
}


def test_production_refuses_to_start_without_payload_keys() -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**MINIMAL, "A4C_ENVIRONMENT": "production"})
    assert raised.value.key == "A4C_PAYLOAD_KEYS"


def test_keys_make_the_worker_encrypt_and_are_redacted_from_logs() -> None:
    keys = PayloadKeys.generate("k1")
    settings = Settings.from_env({**MINIMAL, "A4C_ENVIRONMENT": "production", "A4C_PAYLOAD_KEYS": keys})
    assert settings.temporal.payload_keys == PayloadKeys.parse(keys)
    assert keys.partition(":")[2] in settings.secrets
    assert keys.partition(":")[2] not in repr(settings)


def test_temporal_settings_come_from_the_sdk_environment_configuration() -> None:
    settings = Settings.from_env(
        {
            **MINIMAL,
            "TEMPORAL_ADDRESS": "ns.acct.tmprl.cloud:7233",
            "TEMPORAL_NAMESPACE": "ns.acct",
            "TEMPORAL_API_KEY": "k",
        }
    )
    connection = settings.temporal.connection
    assert (connection.address, connection.namespace, connection.tls_enabled) == (
        "ns.acct.tmprl.cloud:7233",
        "ns.acct",
        True,
    )
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**MINIMAL, "TEMPORAL_TLS": "sometimes"})
    assert raised.value.key == "TEMPORAL_TLS"
