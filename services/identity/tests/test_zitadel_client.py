"""The Zitadel client against the sandbox emulator over loopback: errors, retries, deadlines, auth.

The emulator (``zitadel``, from conftest) issues access tokens that live 600 s.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from a4c.common.deadline import Deadline
from a4c.common.retry import RetryPolicy
from a4c.devstack.emulators import RunningZitadel
from a4c.devstack.timing import ManualClock
from a4c.identity.credentials import (
    Credentials,
    JwtProfile,
    KeyFileError,
    PersonalAccessToken,
    ServiceAccountKey,
)
from a4c.identity.zitadel import ZitadelClient
from a4c.identity.zitadel_errors import (
    AlreadyExists,
    FailedPrecondition,
    IdTaken,
    ObjectMissing,
    PermissionDenied,
    RateLimited,
    Unauthenticated,
    Unavailable,
    parse_error,
)
from a4c.identity.zitadel_http import ZitadelTransport
from a4c.identity.zitadel_types import NewAdmin

FAST = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05, max_retry_after=1.0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def client_for(
    zitadel: RunningZitadel, http: httpx.AsyncClient, credentials: Credentials | None = None
) -> ZitadelClient:
    pat = PersonalAccessToken(zitadel.pat)
    transport = ZitadelTransport(http, base_url=zitadel.url, credentials=credentials or pat, retry=FAST)
    return ZitadelClient(transport)


def admin(user_id: str, email: str) -> NewAdmin:
    return NewAdmin(user_id, email, "Ada", "Admin")


async def test_create_read_and_delete_an_organization(
    zitadel: RunningZitadel, http: httpx.AsyncClient
) -> None:
    client = client_for(zitadel, http)

    created = await client.add_organization("org-1", "Acme", admin("adm-1", "ada@acme.test"))
    org = await client.get_organization("org-1")
    user = await client.get_user("adm-1")
    await client.delete_organization("org-1")

    assert created.admin_user_ids == ("adm-1",)
    assert org is not None
    assert (org.name, org.state) == ("Acme", "ACTIVE")
    assert org.created_at is not None
    assert user is not None
    assert (user.org_id, user.email) == ("org-1", "ada@acme.test")
    assert await client.get_organization("org-1") is None


async def test_errors_keep_zitadel_ids_in_both_dialects(
    zitadel: RunningZitadel, http: httpx.AsyncClient
) -> None:
    client = client_for(zitadel, http)
    await client.add_organization("org-1", "Acme", admin("adm-1", "ada@acme.test"))

    with pytest.raises(AlreadyExists) as rest:
        await client.add_organization("org-2", "ACME", admin("adm-2", "bob@acme.test"))
    await client.add_project_grant(
        zitadel.config.platform_org_id, zitadel.config.project_id, "org-1", ["provider_admin"]
    )
    with pytest.raises(PermissionDenied):
        await client.find_user_grant("no-such-org", "adm-1", zitadel.config.project_id)
    await client.send_invite_code("adm-1", "", "A4C")
    with zitadel.store.write() as state:
        state.users["adm-1"].initialized = True
    with pytest.raises(FailedPrecondition) as precondition:
        await client.send_invite_code("adm-1", "", "A4C")

    assert rest.value.error_id == "ORG-lapo2m"
    assert rest.value.status == 409
    assert rest.value.zitadel_message == "Organisation name already taken"
    assert "already initialized" in str(precondition.value)


async def test_bursts_of_429_and_503_are_ridden_out(zitadel: RunningZitadel, http: httpx.AsyncClient) -> None:
    zitadel.faults.configure(
        {
            "faults": [
                {"kind": "status", "status": 429, "count": 2, "retry_after": 0.05, "path": "/admin/*"},
                {"kind": "status", "status": 503, "count": 2, "path": "/admin/*"},
            ]
        }
    )
    client = client_for(zitadel, http)

    assert await client.get_organization(zitadel.config.platform_org_id) is not None
    assert zitadel.faults.snapshot()["injected"] == {"429": 2, "503": 2}


async def test_a_retry_after_beyond_the_limit_is_not_waited_for(
    zitadel: RunningZitadel, http: httpx.AsyncClient
) -> None:
    zitadel.faults.configure({"faults": [{"kind": "status", "status": 429, "count": 1, "retry_after": 120}]})
    client = client_for(zitadel, http)

    with pytest.raises(RateLimited) as caught:
        await client.get_organization("org-x")

    assert caught.value.retry_after == 120


async def test_the_deadline_bounds_every_attempt(zitadel: RunningZitadel, http: httpx.AsyncClient) -> None:
    zitadel.faults.configure({"faults": [{"kind": "latency", "seconds": 1, "path": "/admin/*"}]})
    client = client_for(zitadel, http)

    with pytest.raises(Unavailable) as caught:
        await client.get_organization("org-x", deadline=Deadline.after(0.2))

    assert "ReadTimeout" in str(caught.value)


async def test_a_lost_answer_is_retried_only_when_repeating_is_safe(
    zitadel: RunningZitadel, http: httpx.AsyncClient
) -> None:
    client = client_for(zitadel, http)
    await client.add_organization("org-1", "Acme", admin("adm-1", "ada@acme.test"))
    # The change is applied, then the connection drops before the answer.
    zitadel.faults.configure({"faults": [{"kind": "drop", "count": 1, "after": True}]})

    with pytest.raises(Unavailable):
        await client.send_invite_code("adm-1", "", "A4C")
    assert len(zitadel.emails()) == 1  # not mailed twice

    zitadel.faults.configure({"faults": [{"kind": "drop", "count": 1, "after": True}]})
    with pytest.raises(AlreadyExists) as caught:
        await client.add_organization("org-2", "Globex", admin("adm-2", "gil@globex.test"))
    assert caught.value.after_uncertain_attempt  # the lost attempt created it; the repeat says 409


async def test_a_wrong_pat_is_unauthenticated_and_never_echoed(
    zitadel: RunningZitadel, http: httpx.AsyncClient, captured: pytest.LogCaptureFixture
) -> None:
    wrong = "wrong-pat-0123456789-secret"
    client = client_for(zitadel, http, PersonalAccessToken(wrong))

    with pytest.raises(Unauthenticated) as caught:
        await client.get_organization("org-x")

    assert wrong not in str(caught.value)
    assert wrong not in repr(client)
    assert wrong not in captured.text


async def test_jwt_profile_token_is_cached_then_refreshed_before_expiry(
    zitadel: RunningZitadel, http: httpx.AsyncClient, tmp_path: Path, captured: pytest.LogCaptureFixture
) -> None:
    key = ServiceAccountKey.from_file(zitadel.write_key_file(tmp_path / "key.json"))
    clock = ManualClock(1000.0)
    credentials = JwtProfile(key, zitadel.url, clock=clock)
    client = client_for(zitadel, http, credentials)

    for _ in range(3):
        assert await client.get_organization(zitadel.config.platform_org_id) is not None
    assert zitadel.store.token_grants == 1

    clock.advance(600 - 60)  # within the refresh margin before the 600 s expiry
    await client.get_organization(zitadel.config.platform_org_id)
    assert zitadel.store.token_grants == 2
    assert key.private_key_pem not in repr(credentials)
    assert "BEGIN RSA PRIVATE KEY" not in captured.text


async def test_a_revoked_token_is_replaced_once(
    zitadel: RunningZitadel, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    key = ServiceAccountKey.from_file(zitadel.write_key_file(tmp_path / "key.json"))
    client = client_for(zitadel, http, JwtProfile(key, zitadel.url))
    await client.get_organization(zitadel.config.platform_org_id)

    with zitadel.store.write() as state:
        state.tokens.clear()  # revoked on the server, still cached by the client
    assert await client.get_organization(zitadel.config.platform_org_id) is not None
    assert zitadel.store.token_grants == 2


async def test_a_key_zitadel_does_not_know_fails_the_exchange(
    zitadel: RunningZitadel, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    key = ServiceAccountKey.from_file(zitadel.write_key_file(tmp_path / "key.json"))
    with zitadel.store.write() as state:
        state.keys.clear()
    client = client_for(zitadel, http, JwtProfile(key, zitadel.url))

    with pytest.raises(Unauthenticated) as caught:
        await client.get_organization("org-x")

    assert "invalid_grant" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("not json", "not JSON"),
        ('{"type": "application", "keyId": "1", "key": "k", "userId": "u"}', "type must be serviceaccount"),
        ('{"type": "serviceaccount", "keyId": "1", "userId": "u"}', "lacks key"),
        ('{"type": "serviceaccount", "keyId": "1", "key": "secret-material", "userId": "u"}', "not a PEM"),
    ],
)
def test_bad_key_files_are_refused_without_quoting_the_key(
    tmp_path: Path, content: str, problem: str
) -> None:
    path = tmp_path / "key.json"
    path.write_text(content)

    with pytest.raises(KeyFileError, match=problem) as caught:
        ServiceAccountKey.from_file(path)

    assert "secret-material" not in str(caught.value)
    with pytest.raises(KeyFileError, match="cannot read"):
        ServiceAccountKey.from_file(tmp_path / "missing.json")


async def test_commands_on_a_missing_user_are_object_missing_answered_once(zitadel: RunningZitadel) -> None:
    sent: list[str] = []

    async def count(request: httpx.Request) -> None:
        sent.append(request.url.path)

    async with httpx.AsyncClient(event_hooks={"request": [count]}) as http:
        client = client_for(zitadel, http)
        with pytest.raises(ObjectMissing) as invite:
            await client.send_invite_code("no-such-user", "", "A4C")
        with pytest.raises(ObjectMissing) as grant:
            await client.add_user_grant(
                zitadel.config.platform_org_id,
                "no-such-user",
                zitadel.config.project_id,
                "",
                ["provider_admin"],
            )

    # Zitadel's FailedPrecondition (400): a fact about the state, not lag, so never retried.
    assert (invite.value.status, invite.value.error_id) == (400, "COMMAND-Wgvn4")
    assert (grant.value.status, grant.value.error_id) == (400, "COMMAND-4f8sg")
    assert isinstance(invite.value, FailedPrecondition)
    assert sent == ["/v2/users/no-such-user/invite_code", "/management/v1/users/no-such-user/grants"]


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        # REST (grpc-gateway) and Connect bodies as Zitadel sends them for FailedPrecondition.
        (
            {"code": 9, "message": "x (COMMAND-7yiox1isql)", "details": [{"id": "COMMAND-7yiox1isql"}]},
            IdTaken,
        ),
        ({"code": "failed_precondition", "details": [{"debug": {"id": "COMMAND-QXPGs"}}]}, ObjectMissing),
        ({"code": 9, "message": "Errors.User.AlreadyInitialised (COMMAND-EF34g)"}, FailedPrecondition),
    ],
)
def test_failed_preconditions_are_told_apart_by_zitadel_error_id(
    body: dict[str, object], kind: type[FailedPrecondition]
) -> None:
    error = parse_error("POST", "/v2/users/human", httpx.Response(400, json=body))

    assert type(error) is kind
    assert error.status == 400
