"""Bad input, upstream trouble, both auth modes, and secrets kept out of logs."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import grpc
import pytest

from a4c.api.identity.v1 import identity_pb2 as pb
from a4c.api.identity.v1.identity_pb2_grpc import IdentityServiceStub
from a4c.common.errors import details_of
from a4c.devstack.emulators import RunningZitadel

from .conftest import TOKEN, identity_service, service_env


def new_org(name: str = "Acme", email: str = "ada@acme.test") -> pb.CreateOrganizationRequest:
    return pb.CreateOrganizationRequest(
        organization_id=str(uuid.uuid4()),
        name=name,
        admin=pb.Admin(email=email, given_name="Ada", family_name="Lovelace"),
    )


def all_logged(caplog: pytest.LogCaptureFixture) -> str:
    """Every record's message, arguments and extra fields, as text."""
    return "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)


@pytest.mark.parametrize(
    ("request_", "fields"),
    [
        (pb.CreateOrganizationRequest(), {"organization_id", "name", "admin"}),
        (
            pb.CreateOrganizationRequest(
                organization_id="../../admin/v1/orgs",
                name="x" * 201,
                admin=pb.Admin(email="not-an-email", username="has space"),
            ),
            {
                "organization_id",
                "name",
                "admin.email",
                "admin.given_name",
                "admin.family_name",
                "admin.username",
            },
        ),
        (
            pb.GrantRoleRequest(organization_id="o", user_id="u/x", project_id="p q"),
            {"user_id", "project_id"},
        ),
        (pb.SendInvitationRequest(user_id="u"), {"organization_id", "request_id"}),
        (pb.SendInvitationRequest(organization_id="o", user_id="u", request_id="r" * 129), {"request_id"}),
        (pb.SendInvitationRequest(organization_id="o", user_id="u", request_id="a/b"), {"request_id"}),
        (pb.SendInvitationRequest(organization_id="o", user_id="u", request_id="bad\x00id"), {"request_id"}),
        (pb.SendInvitationRequest(organization_id="o", user_id="u", request_id="-leading"), {"request_id"}),
        (pb.DeleteOrganizationRequest(), {"organization_id"}),
        (pb.GetOrganizationRequest(organization_id="a b"), {"organization_id"}),
    ],
)
async def test_bad_input_names_every_bad_field_and_writes_nothing(
    zitadel: RunningZitadel, identity: IdentityServiceStub, request_: object, fields: set[str]
) -> None:
    method = getattr(identity, type(request_).__name__.removesuffix("Request"))
    before = zitadel.store.state.sequence

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await method(request_, timeout=10)

    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(caught.value).fields == fields
    assert zitadel.store.state.sequence == before


async def test_bursts_of_429_and_503_are_ridden_out(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    zitadel.faults.configure(
        {
            "faults": [
                {"kind": "status", "status": 429, "count": 3, "retry_after": 0.05},
                {"kind": "status", "status": 503, "count": 2},
            ]
        }
    )

    reply = await identity.CreateOrganization(new_org(), timeout=10)

    assert reply.created
    assert zitadel.faults.snapshot()["injected"] == {"429": 3, "503": 2}


async def test_sustained_throttling_is_resource_exhausted_with_a_retry_delay(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    zitadel.faults.configure({"faults": [{"kind": "status", "status": 429, "count": 1, "retry_after": 90}]})

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await identity.CreateOrganization(new_org(), timeout=10)

    assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    details = details_of(caught.value)
    assert (details.reason, details.retry_delay) == ("ZITADEL_RATE_LIMITED", 90)
    assert "zitadel_error_id" not in details.metadata  # Zitadel's ids stay in the log


async def test_an_outage_is_unavailable_and_leaves_nothing_half_done(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    zitadel.faults.configure({"faults": [{"kind": "status", "status": 503, "count": 50}]})
    request = new_org()

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await identity.CreateOrganization(request, timeout=10)
    zitadel.faults.clear()
    retried = await identity.CreateOrganization(request, timeout=10)

    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
    assert details_of(caught.value).reason == "ZITADEL_UNAVAILABLE"
    assert retried.created


async def test_the_callers_deadline_bounds_the_zitadel_calls(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    zitadel.faults.configure({"faults": [{"kind": "latency", "seconds": 1, "path": "/admin/*"}]})

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await identity.GetOrganization(pb.GetOrganizationRequest(organization_id="org-slow"), timeout=0.5)

    assert caught.value.code() in (grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.UNAVAILABLE)


async def test_jwt_profile_auth_works_end_to_end(zitadel: RunningZitadel, tmp_path: Path) -> None:
    key_file = zitadel.write_key_file(tmp_path / "key.json")
    env = service_env(zitadel, ZITADEL_KEY_FILE=str(key_file))
    del env["ZITADEL_PAT"]

    async with identity_service(env) as identity:
        org = await identity.CreateOrganization(new_org(), timeout=10)
        grant = await identity.GrantRole(
            pb.GrantRoleRequest(organization_id=org.organization.id, user_id=org.admin_user_id), timeout=10
        )

    assert (org.created, grant.created) == (True, True)
    assert zitadel.store.token_grants == 1  # one token exchange, then the cached token


async def test_a_rejected_pat_is_unauthenticated(zitadel: RunningZitadel) -> None:
    async with identity_service(service_env(zitadel, ZITADEL_PAT="revoked-pat-0123456789")) as identity:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await identity.CreateOrganization(new_org(), timeout=10)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
    details = details_of(caught.value)
    assert details.reason == "ZITADEL_CREDENTIALS_REJECTED"
    assert details.metadata == {"http_status": "401"}
    assert "revoked-pat" not in caught.value.details()


async def test_callers_without_the_service_token_are_turned_away(identity_port: int) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{identity_port}") as channel:
        stub = IdentityServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.GetOrganization(pb.GetOrganizationRequest(organization_id="x"), timeout=5)

    assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED


async def test_secrets_never_reach_the_logs_or_errors(
    zitadel: RunningZitadel, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key_file = zitadel.write_key_file(tmp_path / "key.json")
    key_text = key_file.read_text()
    jwt_env = service_env(zitadel, ZITADEL_KEY_FILE=str(key_file))
    del jwt_env["ZITADEL_PAT"]
    errors: list[str] = []

    for env in (service_env(zitadel), jwt_env, service_env(zitadel, ZITADEL_PAT="wrong-pat-0123456789")):
        async with identity_service(env) as identity:
            zitadel.faults.configure({"faults": [{"kind": "status", "status": 503, "count": 2}]})
            try:
                org = await identity.CreateOrganization(
                    new_org(email=f"{uuid.uuid4().hex}@a.test", name=uuid.uuid4().hex), timeout=10
                )
                await identity.SendInvitation(
                    pb.SendInvitationRequest(
                        organization_id=org.organization.id, user_id=org.admin_user_id, request_id="i-1"
                    )
                )
                await identity.CreateOrganization(new_org(name=org.organization.name), timeout=10)
            except grpc.aio.AioRpcError as exc:
                errors.append(f"{exc.details()} {details_of(exc)}")

    logged = all_logged(caplog) + "\n".join(errors)
    with zitadel.store.read() as state:
        assert state.tokens  # a token was issued...
    assert len(errors) == 3  # every round ended in an error (ALREADY_EXISTS or UNAUTHENTICATED)
    assert "zitadel" in logged.lower()
    for secret in (
        zitadel.pat,
        "wrong-pat-0123456789",
        TOKEN,
        key_text.split('"key": "')[1][:60],
        "PRIVATE KEY",
    ):
        assert secret not in logged
