"""Settings from the environment, and `python -m a4c.dns` before it binds anything."""

from __future__ import annotations

import subprocess
import sys

import pytest

from a4c.common.config import SettingsError
from a4c.dns.config import DEFAULT_BASE_URL, Nameserver, Settings

BASE = {
    "CLOUDFLARE_API_TOKEN": "cf-secret-token-value",
    "CLOUDFLARE_ZONE_NAME": "firstovertheline.com",
    "A4C_AUTH_DISABLED": "true",
}


def settings(**env: str) -> Settings:
    return Settings.from_env({**BASE, **env})


def test_defaults() -> None:
    s = settings()

    assert s.cloudflare_base_url == DEFAULT_BASE_URL
    assert (s.zone_name, s.zone_id, s.nameservers) == ("firstovertheline.com", None, ())
    # The policy's defaults: a subdomain is a proxied CNAME to the zone's application host.
    assert (s.subdomain_targets, s.subdomain_proxied) == (("app.firstovertheline.com",), True)
    assert (s.max_requests_per_5min, s.cloudflare_timeout_seconds, s.dns_query_timeout_seconds) == (
        1000,
        30.0,
        2.0,
    )
    assert s.server.port == 50051


def test_all_settings_are_read_and_normalized() -> None:
    s = settings(
        CLOUDFLARE_BASE_URL="http://127.0.0.1:8787/client/v4/",
        CLOUDFLARE_ZONE_NAME="FirstOverTheLine.com.",
        CLOUDFLARE_ZONE_ID="0123456789abcdef0123456789abcdef",
        CLOUDFLARE_MAX_REQUESTS_PER_5MIN="400",
        A4C_DNS_NAMESERVERS="127.0.0.1:5353, [::1]:5300, ns1.example.net, ::1",
        A4C_SUBDOMAIN_TARGETS="App.FirstOverTheLine.com., edge.cdn.example.net",
        A4C_SUBDOMAIN_PROXIED="false",
        A4C_RESERVED_SLUGS="Billing, acme-internal",
        A4C_GRPC_PORT="0",
    )

    assert s.cloudflare_base_url == "http://127.0.0.1:8787/client/v4"
    assert (s.zone_name, s.zone_id) == ("firstovertheline.com", "0123456789abcdef0123456789abcdef")
    assert s.max_requests_per_5min == 400
    assert {"billing", "acme-internal", "smtp"} <= s.reserved_slugs  # added to the built-in list
    assert (s.subdomain_targets, s.subdomain_proxied) == (
        ("app.firstovertheline.com", "edge.cdn.example.net"),
        False,
    )
    assert s.nameservers == (
        Nameserver("127.0.0.1", 5353),
        Nameserver("::1", 5300),
        Nameserver("ns1.example.net", 53),
        Nameserver("::1", 53),
    )
    assert str(s.nameservers[1]) == "[::1]:5300"


def test_the_token_is_a_secret_kept_out_of_repr() -> None:
    s = settings()

    assert "cf-secret-token-value" in s.secrets
    assert "cf-secret-token-value" not in repr(s)


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"CLOUDFLARE_API_TOKEN": ""}, "CLOUDFLARE_API_TOKEN"),
        ({"CLOUDFLARE_BASE_URL": "ftp://cloudflare"}, "CLOUDFLARE_BASE_URL"),
        (
            {"CLOUDFLARE_BASE_URL": "http://api.example", "A4C_ENVIRONMENT": "production"},
            "CLOUDFLARE_BASE_URL",
        ),
        ({"CLOUDFLARE_ZONE_NAME": "not a zone"}, "CLOUDFLARE_ZONE_NAME"),
        ({"CLOUDFLARE_ZONE_NAME": ""}, "CLOUDFLARE_ZONE_NAME"),
        ({"A4C_SUBDOMAIN_TARGETS": "https://app.example.com/"}, "A4C_SUBDOMAIN_TARGETS"),
        ({"A4C_SUBDOMAIN_PROXIED": "maybe"}, "A4C_SUBDOMAIN_PROXIED"),
        ({"A4C_RESERVED_SLUGS": "ok,_dmarc"}, "A4C_RESERVED_SLUGS"),
        ({"CLOUDFLARE_ZONE_NAME": "a4c.example", "CLOUDFLARE_ZONE_ID": "xyz"}, "CLOUDFLARE_ZONE_ID"),
        ({"CLOUDFLARE_MAX_REQUESTS_PER_5MIN": "1500"}, "CLOUDFLARE_MAX_REQUESTS_PER_5MIN"),
        ({"A4C_DNS_NAMESERVERS": "127.0.0.1:abc"}, "A4C_DNS_NAMESERVERS"),
        ({"A4C_DNS_NAMESERVERS": "127.0.0.1:70000"}, "A4C_DNS_NAMESERVERS"),
        ({"A4C_AUTH_DISABLED": "false"}, "A4C_AUTH_PRINCIPALS"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as raised:
        settings(**env)

    assert raised.value.key == key


def test_main_help_lists_the_settings_without_touching_the_network() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "a4c.dns", "--help"], capture_output=True, text=True, timeout=30, check=False
    )

    assert done.returncode == 0
    for name in ("CLOUDFLARE_API_TOKEN", "CLOUDFLARE_ZONE_NAME", "A4C_DNS_NAMESERVERS", "A4C_GRPC_PORT"):
        assert name in done.stdout


def test_main_exits_2_naming_the_missing_setting() -> None:
    env = {"A4C_AUTH_DISABLED": "true", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "a4c.dns"], capture_output=True, text=True, timeout=30, check=False, env=env
    )

    assert done.returncode == 2
    assert "CLOUDFLARE_API_TOKEN" in done.stderr
