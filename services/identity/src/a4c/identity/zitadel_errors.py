"""What can go wrong talking to Zitadel, as a small hierarchy the servicer maps to gRPC once
(a4c.identity.errors).

Both error dialects are parsed: the REST (grpc-gateway) google.rpc.Status ``{"code": 6, "message":
"... (V3-DKcYh)", "details": [{"id": ...}]}`` and Connect's ``{"code": "already_exists", ...,
"details": [{"debug": {"id": ...}}]}``. Messages carry Zitadel's own text and error id, never a
request header, token or key.
"""

from __future__ import annotations

import re

import httpx

from a4c.common.retry import parse_retry_after
from a4c.common.upstream import UpstreamError

_TRAILING_ID = re.compile(r"\(([A-Za-z0-9]+-[A-Za-z0-9]+)\)\s*$")

# gRPC code numbers (REST bodies) and names (Connect bodies) → our classes, filled below.
_BY_CODE: dict[int | str, type[ZitadelError]] = {}


class ZitadelError(UpstreamError):
    """Base of every client error. ``status`` is the HTTP status (None: no answer), ``error_id``
    Zitadel's error id (e.g. ``V3-DKcYh``), ``zitadel_message`` its text without the id."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_id: str = "",
        zitadel_message: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, status=status, retry_after=retry_after)
        self.error_id = error_id
        self.zitadel_message = zitadel_message


class InvalidArgument(ZitadelError):
    """Zitadel refused the input (400 InvalidArgument)."""


class FailedPrecondition(ZitadelError):
    """The request is valid but the state forbids it (400 FailedPrecondition, e.g. already initialized)."""


class ObjectMissing(FailedPrecondition):
    """A command names a user, org, project or grant that does not exist. Zitadel says so with
    FailedPrecondition (400), not NotFound, and it is never read-after-write lag: commands check
    their preconditions in the event store, which a create has already reached."""


class IdTaken(FailedPrecondition):
    """A create with a caller-chosen id that another object already has (AddHumanUser: 400)."""


class Unauthenticated(ZitadelError):
    """The PAT or access token is missing, unknown or expired, or the key-file exchange failed."""


class PermissionDenied(ZitadelError):
    """The service account may not do this, or the org context (x-zitadel-orgid) is unknown."""


class NotFound(ZitadelError):
    """No such organization, user, project or grant."""


class AlreadyExists(ZitadelError):
    """409: an organization name or id, a username, or a grant already exists."""


class Aborted(ZitadelError):
    """409 Aborted: a concurrent change won; the same call may succeed when retried."""

    retryable = True


class RateLimited(ZitadelError):
    """429 from Zitadel; ``retry_after`` is its hint in seconds, when it gave one."""

    retryable = True


class Unavailable(ZitadelError):
    """5xx, a transport error or a timeout: worth retrying later."""

    retryable = True


class UnexpectedResponse(ZitadelError):
    """An answer this client cannot use (unimplemented, malformed JSON): a bug or a version gap."""


_BY_CODE.update(
    {
        3: InvalidArgument, "invalid_argument": InvalidArgument,
        11: InvalidArgument, "out_of_range": InvalidArgument,
        9: FailedPrecondition, "failed_precondition": FailedPrecondition,
        16: Unauthenticated, "unauthenticated": Unauthenticated,
        7: PermissionDenied, "permission_denied": PermissionDenied,
        5: NotFound, "not_found": NotFound,
        6: AlreadyExists, "already_exists": AlreadyExists,
        10: Aborted, "aborted": Aborted,
        8: RateLimited, "resource_exhausted": RateLimited,
        12: UnexpectedResponse, "unimplemented": UnexpectedResponse,
    }
)  # fmt: skip
# FailedPrecondition ids that say more than the code (from Zitadel's command code).
_PRECONDITIONS: dict[str, type[FailedPrecondition]] = {
    "COMMAND-Wgvn4": ObjectMissing,  # CreateInviteCode: user not found
    "COMMAND-H3b2a": ObjectMissing,  # ResendInviteCode: user not found
    "COMMAND-4f8sg": ObjectMissing,  # AddUserGrant: user not found
    "COMMAND-3n77S": ObjectMissing,  # AddUserGrant: project not found
    "COMMAND-4m9ff": ObjectMissing,  # AddUserGrant: project grant not found
    "COMMAND-QXPGs": ObjectMissing,  # a command into an organization that does not exist
    "COMMAND-7yiox1isql": IdTaken,  # AddHumanUser: a user with this id exists
}
_BY_STATUS: dict[int, type[ZitadelError]] = {
    400: InvalidArgument,
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
    409: AlreadyExists,
    429: RateLimited,
}


def parse_error(method: str, path: str, response: httpx.Response) -> ZitadelError:
    """The error a non-2xx answer stands for, from its body when it has Zitadel's shape."""
    code, text, error_id = _read_body(response)
    status = response.status_code
    cls = _BY_CODE.get(code) if code is not None else None
    if cls is FailedPrecondition:
        cls = _PRECONDITIONS.get(error_id, FailedPrecondition)
    if cls is None:
        cls = _BY_STATUS.get(status) or (Unavailable if status >= 500 else UnexpectedResponse)
    described = f"{text} ({error_id})" if error_id else text or response.reason_phrase
    message = f"zitadel {method} {path}: {status} {described}"
    if cls is RateLimited:
        return RateLimited(
            message,
            retry_after=parse_retry_after(response.headers.get("retry-after")),
            status=status,
            error_id=error_id,
            zitadel_message=text,
        )
    return cls(message, status=status, error_id=error_id, zitadel_message=text)


def _read_body(response: httpx.Response) -> tuple[int | str | None, str, str]:
    """(code, message without the id, error id) from either dialect; empty when not Zitadel's shape."""
    try:
        body = response.json()
    except ValueError:
        return None, "", ""
    if not isinstance(body, dict):
        return None, "", ""
    if isinstance(body.get("error"), str) and "code" not in body:  # OAuth: the token endpoint
        return None, f"{body['error']}: {body.get('error_description', '')}".rstrip(": "), ""
    code = body.get("code")
    message = str(body.get("message") or "")
    error_id = ""
    for detail in body.get("details") or []:
        if isinstance(detail, dict):
            debug = detail.get("debug")
            from_debug = debug.get("id") if isinstance(debug, dict) else None
            error_id = str(detail.get("id") or from_debug or "")
            if error_id:
                break
    match = _TRAILING_ID.search(message)
    if match:
        error_id = error_id or match.group(1)
        message = message[: match.start()].rstrip()
    valid_code = code if isinstance(code, int | str) and not isinstance(code, bool) else None
    return valid_code, message, error_id
