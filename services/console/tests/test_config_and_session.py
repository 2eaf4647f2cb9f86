"""Settings refuse what would be unsafe; a tampered or expired session cookie is nobody's session."""

from __future__ import annotations

import pytest

from a4c.common.config import SettingsError
from a4c.console.config import Settings
from a4c.console.oidc import Identity
from a4c.console.roles import Role
from a4c.console.session import Session, SessionCodec
from a4c.console.web import safe_next

KEY = "k" * 32
ENV = {
    "A4C_CONSOLE_PUBLIC_URL": "https://console.example",
    "A4C_CONSOLE_OIDC_ISSUER": "https://login.example",
    "A4C_CONSOLE_OIDC_CLIENT_ID": "c",
    "A4C_CONSOLE_OIDC_PROJECT_ID": "p",
    "A4C_PROVISIONING_TOKEN": "t" * 32,
    "A4C_CONSOLE_SESSION_KEY": KEY,
}


def test_defaults_are_secure_and_the_redirect_uri_follows_the_public_url() -> None:
    settings = Settings.from_env(ENV)
    assert settings.secure_cookies
    assert settings.redirect_uri == "https://console.example/auth/callback"
    assert "t" * 32 in settings.secrets


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"A4C_CONSOLE_SESSION_KEY": "short"}, "A4C_CONSOLE_SESSION_KEY"),
        (
            {"A4C_CONSOLE_SECURE_COOKIES": "false", "A4C_ENVIRONMENT": "production"},
            "A4C_CONSOLE_SECURE_COOKIES",
        ),
        ({"A4C_CONSOLE_PUBLIC_URL": "console.example"}, "A4C_CONSOLE_PUBLIC_URL"),
        ({"A4C_CONSOLE_OIDC_ISSUER": "https://login.example/?x=1"}, "A4C_CONSOLE_OIDC_ISSUER"),
        ({"A4C_PROVISIONING_TOKEN": ""}, "A4C_PROVISIONING_TOKEN"),
    ],
    ids=["short-key", "insecure-in-production", "no-scheme", "issuer-query", "no-token"],
)
def test_unsafe_or_missing_settings_are_refused_naming_the_variable(
    changes: dict[str, str], key: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**ENV, **changes})
    assert caught.value.key == key


def test_a_tampered_or_foreign_cookie_is_an_empty_session() -> None:
    codec = SessionCodec(KEY, 3600)
    cookie = codec.dumps(Session(login="rita", display_name="Rita", role=Role.READ))
    assert codec.loads(cookie).role is Role.READ
    payload, _, signature = cookie.rpartition(".")
    assert not codec.loads(payload + ".x" + signature[2:]).signed_in
    assert not SessionCodec("o" * 32, 3600).loads(cookie).signed_in
    assert not SessionCodec(KEY, -1).loads(cookie).signed_in  # expired
    assert not codec.loads("garbage").signed_in


def test_a_new_login_gets_a_new_csrf_token() -> None:
    session = Session()
    before = session.csrf
    session.sign_in(Identity("u1", "ada", "Ada", Role.OPERATE))
    assert session.csrf != before
    assert session.csrf_matches(session.csrf)
    assert not session.csrf_matches(before)
    assert not session.csrf_matches(None)


@pytest.mark.parametrize(
    ("asked", "kept"),
    [("/organizations/1", "/organizations/1"), ("//evil.example/", "/"), ("https://evil.example", "/"),
     ("/\\evil.example", "/"), (None, "/")],
)  # fmt: skip
def test_after_login_only_a_path_on_this_console_is_followed(asked: str | None, kept: str) -> None:
    assert safe_next(asked) == kept
