"""At most one invitation email per request id, counted in the emulator's mailbox.

The lost-answer matrix injects one lost answer (the request is applied, its answer replaced by a
502 or the connection dropped) into each Zitadel call SendInvitation makes, then retries the RPC
with the same request id as the worker would: only a lost CreateInviteCode answer mails twice.
"""

from __future__ import annotations

import base64
import json
import uuid

import grpc
import pytest

from a4c.api.identity.v1 import identity_pb2 as pb
from a4c.api.identity.v1.identity_pb2_grpc import IdentityServiceStub
from a4c.devstack.emulators import RunningZitadel
from a4c.identity.invitations import marker_key

INVITE = "/v2/users/*/invite_code"
MARKER = "/management/v1/users/*/metadata/*"


async def new_admin(identity: IdentityServiceStub) -> tuple[str, str]:
    org_id = str(uuid.uuid4())
    reply = await identity.CreateOrganization(
        pb.CreateOrganizationRequest(
            organization_id=org_id,
            name=f"Org {org_id[:8]}",
            admin=pb.Admin(email=f"{org_id[:8]}@acme.test", given_name="Ada", family_name="Lovelace"),
        ),
        timeout=10,
    )
    return org_id, reply.admin_user_id


def invitation(org_id: str, user_id: str, request_id: str) -> pb.SendInvitationRequest:
    return pb.SendInvitationRequest(organization_id=org_id, user_id=user_id, request_id=request_id)


async def test_the_same_request_id_twice_mails_once_and_the_repeat_says_already_sent(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org_id, user_id = await new_admin(identity)

    first = await identity.SendInvitation(invitation(org_id, user_id, "boot-1:invite"), timeout=10)
    second = await identity.SendInvitation(invitation(org_id, user_id, "boot-1:invite"), timeout=10)

    assert (first.sent, first.already_sent) == (True, False)
    assert (second.sent, second.already_sent, second.email) == (True, True, first.email)
    assert len(zitadel.emails()) == 1
    with zitadel.store.read() as state:
        (marker,) = [m for m in state.user_metadata if m.user_id == user_id]
    assert marker.key == marker_key("boot-1:invite")
    assert "sentAt" in json.loads(base64.b64decode(marker.value))


async def test_different_request_ids_are_deliberate_resends_and_the_newer_code_wins(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org_id, user_id = await new_admin(identity)

    first = await identity.SendInvitation(invitation(org_id, user_id, "first"), timeout=10)
    second = await identity.SendInvitation(invitation(org_id, user_id, "resend-1"), timeout=10)
    late_retry_of_first = await identity.SendInvitation(invitation(org_id, user_id, "first"), timeout=10)

    assert (first.already_sent, second.already_sent, late_retry_of_first.already_sent) == (False, False, True)
    emails = zitadel.emails()
    assert len(emails) == 2
    with zitadel.store.read() as state:
        invite = state.users[user_id].invite
    assert invite is not None
    assert invite.code == emails[1]["code"]  # only the newer link works


async def test_a_marker_whose_answers_are_all_lost_still_answers_sent_and_a_retry_mails_nothing(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org_id, user_id = await new_admin(identity)
    # Every write of the marker is applied but its answer lost, through all the client's retries.
    zitadel.faults.configure(
        {
            "faults": [
                {
                    "kind": "status",
                    "status": 502,
                    "after": True,
                    "count": 50,
                    "method": "POST",
                    "path": MARKER,
                }
            ]
        }
    )

    first = await identity.SendInvitation(invitation(org_id, user_id, "lost-marker"), timeout=10)
    zitadel.faults.clear()
    retry = await identity.SendInvitation(invitation(org_id, user_id, "lost-marker"), timeout=10)

    assert (first.sent, first.already_sent) == (True, False)  # mailed: failing would invite a retry
    assert retry.already_sent
    assert len(zitadel.emails()) == 1


async def test_a_failed_marker_read_mails_nothing_and_the_retry_mails_once(
    zitadel: RunningZitadel, identity: IdentityServiceStub
) -> None:
    org_id, user_id = await new_admin(identity)
    zitadel.faults.configure(
        {"faults": [{"kind": "status", "status": 503, "count": 50, "method": "GET", "path": MARKER}]}
    )

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await identity.SendInvitation(invitation(org_id, user_id, "read-fails"), timeout=3)
    mailed_meanwhile = len(zitadel.emails())
    zitadel.faults.clear()
    retry = await identity.SendInvitation(invitation(org_id, user_id, "read-fails"), timeout=10)

    assert caught.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    assert mailed_meanwhile == 0
    assert not retry.already_sent
    assert len(zitadel.emails()) == 1


# (where the answer is lost, how: 502 after the commit or a dropped connection) -> emails after
# the failed call and one retry with the same request id.
LOST_ANSWERS = [
    ("GET", "/v2/users/*", "status", 1),
    ("GET", "/v2/users/*", "drop", 1),
    ("GET", MARKER, "status", 1),
    ("GET", MARKER, "drop", 1),
    ("POST", INVITE, "status", 2),  # the window no record can close: applied, answer lost
    ("POST", INVITE, "drop", 2),
    ("POST", MARKER, "status", 1),
    ("POST", MARKER, "drop", 1),
]


@pytest.mark.parametrize(("method", "path", "kind", "emails"), LOST_ANSWERS)
async def test_one_lost_answer_in_each_zitadel_call_and_a_retry_with_the_same_id(
    zitadel: RunningZitadel,
    identity: IdentityServiceStub,
    method: str,
    path: str,
    kind: str,
    emails: int,
) -> None:
    org_id, user_id = await new_admin(identity)
    rule = {"kind": kind, "after": True, "count": 1, "method": method, "path": path}
    zitadel.faults.configure({"faults": [{**rule, "status": 502} if kind == "status" else rule]})
    request = invitation(org_id, user_id, "matrix")

    failed: grpc.StatusCode | None = None
    try:
        await identity.SendInvitation(request, timeout=10)
    except grpc.aio.AioRpcError as exc:  # the caller (the worker) retries what failed
        failed = exc.code()
    retry = await identity.SendInvitation(request, timeout=10)

    assert zitadel.faults.snapshot()["faults"] == []  # the fault did fire (spent rules are gone)
    assert failed in (None, grpc.StatusCode.UNAVAILABLE)  # only the invite call's loss surfaces
    assert (failed is not None) == (path == INVITE)
    assert retry.sent
    assert len(zitadel.emails()) == emails
