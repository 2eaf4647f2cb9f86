"""Human users' passwords: Zitadel's default complexity policy, hashing, SetPassword (v2 and v1).

Rules kept from Zitadel: the instance's default complexity policy (at least 8 characters with a
lower-case letter, an upper-case letter, a digit and a symbol) refuses a weak password with
InvalidArgument and the policy rule's id; setting a password gives the user a login method (an
invitation then fails); a missing user is NotFound. The emulator keeps only a salted scrypt hash
(hashlib), so neither the state file nor a log ever holds a password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from typing import Any

from a4c.sandbox.zitadel.api import Call, Handler, Rest, connect_path
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import User
from a4c.sandbox.zitadel.wire import change_details, flag, obj, text

USER_SERVICE = "zitadel.user.v2.UserService"  # users.py imports this module, not the reverse

MIN_LENGTH = 8
# (rule, error id, message) in the order Zitadel's PasswordComplexityPolicy.Check tests them.
_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = (
    (re.compile(r"[a-z]"), "DOMAIN-co3Xw", "Errors.User.PasswordComplexityPolicy.HasLower"),
    (re.compile(r"[A-Z]"), "DOMAIN-VoaRj", "Errors.User.PasswordComplexityPolicy.HasUpper"),
    (re.compile(r"[0-9]"), "DOMAIN-ZBv4H", "Errors.User.PasswordComplexityPolicy.HasNumber"),
    (re.compile(r"[^A-Za-z0-9]"), "DOMAIN-ZDLwA", "Errors.User.PasswordComplexityPolicy.HasSymbol"),
)
# scrypt cost: cheap enough for tests that log in often, still a real key-derivation function.
_N, _R, _P = 2**12, 8, 1


def check_complexity(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ApiError("invalid_argument", "Errors.User.PasswordComplexityPolicy.MinLength", "DOMAIN-HuJf6")
    for pattern, error_id, message in _RULES:
        if not pattern.search(password):
            raise ApiError("invalid_argument", message, error_id)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P)
    return f"scrypt${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def password_matches(user: User, password: str) -> bool:
    """Whether ``password`` is the user's; False for users without one."""
    scheme, _, rest = user.password_hash.partition("$")
    salt_b64, _, digest_b64 = rest.partition("$")
    if scheme != "scrypt" or not digest_b64:
        return False
    digest = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt_b64), n=_N, r=_R, p=_P)
    return hmac.compare_digest(digest, base64.b64decode(digest_b64))


def set_password(call: Call, user_id: str, password: str) -> dict[str, Any]:
    if not password:
        raise ApiError("invalid_argument", "Errors.User.Password.Empty", "COMMAND-3M0fs")
    check_complexity(password)
    hashed = hash_password(password)  # outside the lock: scrypt takes a few milliseconds
    with call.store.write() as state:
        user = state.users.get(user_id)
        if user is None or user.machine:
            raise ApiError("not_found", "Errors.User.NotFound", "SANDBOX-pw404")
        user.password_hash, user.initialized = hashed, True
        user.changed, user.sequence = call.store.now(), call.store.next_sequence()
        user.invite = None  # a login method makes a pending invitation pointless
    return {"details": change_details(user.sequence, user.changed, user.org_id)}


def v2_set_password(call: Call) -> dict[str, Any]:
    """SetPassword (POST /v2/users/{userId}/password): {newPassword: {password, changeRequired}}."""
    new = obj(call.body, "newPassword")
    return set_password(call, text(call.body, "userId"), raw_password(new))


def v1_set_human_password(call: Call) -> dict[str, Any]:
    """SetHumanPassword (POST /management/v1/users/{userId}/password): {password, noChangeRequired}."""
    flag(call.body, "noChangeRequired")  # accepted; a forced change is not modelled
    return set_password(call, text(call.body, "userId"), raw_password(call.body))


def raw_password(body: dict[str, Any]) -> str:
    """The password field as sent: unlike other text fields, blanks in it are significant."""
    value = body.get("password")
    return value if isinstance(value, str) else ""


REST = [
    Rest("POST", "/v2/users/{userId}/password", v2_set_password),
    Rest("POST", "/management/v1/users/{userId}/password", v1_set_human_password),
]
CONNECT: dict[str, Handler] = {connect_path(USER_SERVICE, "SetPassword"): v2_set_password}
