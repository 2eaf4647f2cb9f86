"""Settings: documented defaults, every bad value named by its variable, secrets kept out of sight."""

from __future__ import annotations

import asyncio
import sys
import uuid

import pytest
from temporalio.testing import WorkflowEnvironment

from a4c.common.config import SettingsError
from a4c.provisioning.config import DEFAULT_RESERVED_SLUGS, Settings
from a4c.workflows.codec import PayloadKeys
from a4c.workflows.models import TASK_QUEUE, StepTimeouts, VerificationPolicy

from .helpers import running_provisioning, service_env

MINIMAL = {
    "DATABASE_URL": "postgresql://app:s3cret-pw@db:5432/a4c",
    "A4C_AUTH_PRINCIPALS": "operator:read:" + "t" * 32,
}


def test_defaults_are_the_documented_ones() -> None:
    settings = Settings.from_env(MINIMAL)
    temporal = settings.temporal.connection
    assert (temporal.address, temporal.namespace, temporal.tls, settings.task_queue) == (
        "localhost:7233",
        "default",
        False,
        TASK_QUEUE,
    )
    assert settings.temporal.payload_keys is None  # development: payloads in clear unless keyed
    assert settings.base_domain is None  # asked from the database at start
    assert settings.reserved_slugs == frozenset(DEFAULT_RESERVED_SLUGS)
    assert settings.target_for("firstovertheline.com") == "app.firstovertheline.com"
    assert settings.subdomain_proxied is True
    assert settings.verification == VerificationPolicy(10, 10, 1.5, 60, 600)
    assert settings.step_timeouts == StepTimeouts(30, 300)
    assert settings.environment == "development"


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"DATABASE_URL": ""}, "DATABASE_URL"),
        ({"A4C_BASE_DOMAIN": "not a domain"}, "A4C_BASE_DOMAIN"),
        ({"A4C_SUBDOMAIN_TARGET": "https://app.example.com/"}, "A4C_SUBDOMAIN_TARGET"),
        ({"A4C_SUBDOMAIN_PROXIED": "maybe"}, "A4C_SUBDOMAIN_PROXIED"),
        ({"A4C_VERIFY_BACKOFF": "fast"}, "A4C_VERIFY_BACKOFF"),
        ({"A4C_VERIFY_DEADLINE_SECONDS": "0"}, "A4C_VERIFY_DEADLINE_SECONDS"),
        (
            {"A4C_VERIFY_INITIAL_INTERVAL_SECONDS": "30", "A4C_VERIFY_MAX_INTERVAL_SECONDS": "5"},
            "A4C_VERIFY_MAX_INTERVAL_SECONDS",
        ),
        ({"A4C_STEP_ATTEMPT_SECONDS": "60", "A4C_STEP_TOTAL_SECONDS": "30"}, "A4C_STEP_TOTAL_SECONDS"),
        ({"A4C_SLUG_CLAIM_STALE_SECONDS": "1"}, "A4C_SLUG_CLAIM_STALE_SECONDS"),
        ({"A4C_ENVIRONMENT": "staging"}, "A4C_ENVIRONMENT"),
        ({"A4C_AUTH_PRINCIPALS": ""}, "A4C_AUTH_PRINCIPALS"),
        ({"A4C_ENVIRONMENT": "production"}, "A4C_PAYLOAD_KEYS"),
        ({"A4C_PAYLOAD_KEYS": "k1:c2hvcnQ="}, "A4C_PAYLOAD_KEYS"),
        ({"TEMPORAL_TLS_SERVER_CA_CERT_PATH": "/nonexistent/ca.pem"}, "TEMPORAL_TLS_SERVER_CA_CERT_PATH"),
    ],
    ids=lambda v: v if isinstance(v, str) else None,
)
def test_a_bad_setting_names_its_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        Settings.from_env({**MINIMAL, **env})
    assert raised.value.key == key


def test_overrides_are_normalized() -> None:
    settings = Settings.from_env(
        {**MINIMAL, "A4C_RESERVED_SLUGS": "WWW, Billing ,", "A4C_BASE_DOMAIN": "Tenants.Example.org."}
    )
    assert settings.reserved_slugs == frozenset({"www", "billing"})
    assert settings.base_domain == "tenants.example.org"


def test_the_database_url_stays_out_of_reprs_and_is_a_secret() -> None:
    settings = Settings.from_env(MINIMAL)
    assert "s3cret-pw" not in repr(settings)
    assert MINIMAL["DATABASE_URL"] in settings.secrets


def test_the_temporal_api_key_and_payload_keys_are_secrets_kept_out_of_reprs() -> None:
    keys = PayloadKeys.generate("k1")
    settings = Settings.from_env(
        {
            **MINIMAL,
            "A4C_ENVIRONMENT": "production",
            "TEMPORAL_API_KEY": "cloud-key-123",
            "A4C_PAYLOAD_KEYS": keys,
        }
    )
    material = keys.partition(":")[2]
    assert settings.temporal.connection.tls_enabled
    assert {"cloud-key-123", material} <= set(settings.secrets)
    assert "cloud-key-123" not in repr(settings)
    assert material not in repr(settings)


async def test_the_entry_point_exits_2_naming_a_bad_variable_without_printing_secrets() -> None:
    env = {**MINIMAL, "A4C_VERIFY_BACKOFF": "fast", "PATH": ""}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "a4c.provisioning", env=env, stderr=asyncio.subprocess.PIPE
    )
    _, err = await process.communicate()
    assert process.returncode == 2
    assert b"A4C_VERIFY_BACKOFF" in err
    assert b"s3cret-pw" not in err


async def test_the_base_domain_comes_from_the_database_for_the_environment(
    database_url: str, temporal: WorkflowEnvironment
) -> None:
    env = service_env(
        database_url,
        f"config-{uuid.uuid4().hex[:8]}",
        A4C_ENVIRONMENT="production",
        A4C_PAYLOAD_KEYS=PayloadKeys.generate("k1"),  # production requires them
    )
    async with running_provisioning(env, temporal.client) as service:
        assert service.provisioning.deps.base_domain == "analytics4change.com"
