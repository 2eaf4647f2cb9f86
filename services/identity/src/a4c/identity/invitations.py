"""At most one invitation email per request id: the id is recorded on the user once Zitadel mailed.

Zitadel cannot tell whether an invite code was sent (sandbox/FIDELITY.md), so the service keeps its
own record in Zitadel user metadata, key ``a4c.invitation.<request id>``, on the user itself:

1. read the key (fresh: Zitadel updates the metadata projection before a read by key); present →
   answer ``already_sent`` and mail nothing;
2. CreateInviteCode with sendCode (never repeated after an attempt that may have been applied);
3. set the key (repeatable: setting the value it holds is a no-op in Zitadel).

Why the record comes after the send, not before: written first, an attempt that never reached
Zitadel's command (refused, 429, 503, a crash between the two) would leave the id "served" with no
email ever sent — the admin locked out, and no retry could fix it. Written after, every case the
service can see ends with at most one email: a send that failed is retried freely, and a send that
succeeded is recorded before the answer. If the record cannot be written after a send that
succeeded, the call still answers success (logged): the caller has no reason to call again.

The window that remains is the one no record can close: CreateInviteCode was applied but its answer
was lost (timeout, dropped connection, 500/502/504 after the commit), or this process was killed
between the send and the record — the service fails the call,
the caller retries with the same id, nothing was recorded, and a second email goes out (the
second code replaces the first). Also: the send succeeded, the record failed, and then the answer
to the caller was lost too. Both are stated with their measured frequency in the README.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass

from a4c.common.deadline import Deadline
from a4c.identity.zitadel import ZitadelClient
from a4c.identity.zitadel_errors import ZitadelError
from a4c.identity.zitadel_types import User

log = logging.getLogger(__name__)

MARKER_PREFIX = "a4c.invitation."


@dataclass(frozen=True)
class Invitation:
    """What SendInvitation did: the address, and whether an earlier call had already mailed it."""

    email: str
    already_sent: bool


def marker_key(request_id: str) -> str:
    return MARKER_PREFIX + request_id


async def send_once(
    client: ZitadelClient,
    user: User,
    request_id: str,
    *,
    url_template: str,
    application_name: str,
    deadline: Deadline,
) -> Invitation:
    """Mail the invitation unless ``request_id`` was already served for this user."""
    key = marker_key(request_id)
    if await client.get_user_metadata(user.org_id, user.id, key, deadline=deadline) is not None:
        return Invitation(user.email, already_sent=True)
    await client.send_invite_code(user.id, url_template, application_name, deadline=deadline)
    record = json.dumps({"sentAt": dt.datetime.now(dt.UTC).isoformat()}).encode()
    try:
        await client.set_user_metadata(user.org_id, user.id, key, record, deadline=deadline)
    except ZitadelError as exc:
        # Mailed, so answer success: failing here would make the caller retry and mail again.
        log.warning(
            "invitation sent but its request id was not recorded",
            extra={"user_id": user.id, "request_id": request_id, "error": type(exc).__name__},
        )
    return Invitation(user.email, already_sent=False)
