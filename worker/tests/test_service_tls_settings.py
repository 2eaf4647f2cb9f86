"""The worker's TLS settings for calls to dns and identity: a client certificate needs its key and a CA."""

from __future__ import annotations

import pytest

from a4c.common.config import SettingsError
from a4c.worker.config import Settings

REQUIRED = {
    "DATABASE_URL": "postgresql://localhost/a4c",
    "A4C_DNS_SERVICE_ADDRESS": "dns:50051",
    "A4C_IDENTITY_SERVICE_ADDRESS": "identity:50051",
}


def test_mtls_settings_are_read_together() -> None:
    settings = Settings.from_env(
        REQUIRED
        | {
            "A4C_SERVICE_TLS_CA_FILE": "/tls/ca.crt",
            "A4C_SERVICE_TLS_CERT_FILE": "/tls/tls.crt",
            "A4C_SERVICE_TLS_KEY_FILE": "/tls/tls.key",
        }
    )
    assert (settings.service_tls_ca_file, settings.service_tls_cert_file, settings.service_tls_key_file) == (
        "/tls/ca.crt",
        "/tls/tls.crt",
        "/tls/tls.key",
    )


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"A4C_SERVICE_TLS_CA_FILE": "/ca", "A4C_SERVICE_TLS_CERT_FILE": "/c"}, "A4C_SERVICE_TLS_KEY_FILE"),
        ({"A4C_SERVICE_TLS_CA_FILE": "/ca", "A4C_SERVICE_TLS_KEY_FILE": "/k"}, "A4C_SERVICE_TLS_CERT_FILE"),
        ({"A4C_SERVICE_TLS_CERT_FILE": "/c", "A4C_SERVICE_TLS_KEY_FILE": "/k"}, "A4C_SERVICE_TLS_CERT_FILE"),
    ],
)
def test_an_incomplete_client_certificate_names_the_setting(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(REQUIRED | env)
    assert caught.value.key == key
