"""Page tokens: opaque to callers, signed, bound to the query they continue, refused otherwise.

A token is base64url (unpadded) JSON of a version, a fingerprint of the query (filters, zone, page
size, ...) and the position to continue from, then "." and its HMAC-SHA256. A caller cannot forge
a position (the signature), and reusing a token with another query would silently skip or repeat
rows, so it is refused; so is anything too long or that does not decode. Every refusal is
InvalidFields on the token's field (INVALID_ARGUMENT), never an internal error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from a4c.common.errors import InvalidFields

T = TypeVar("T")
_VERSION = 1
FIELD = "page_token"
# Positions are a few short values; anything longer was not issued here.
MAX_TOKEN_LENGTH = 1024


def _fingerprint(query: Sequence[object]) -> str:
    canonical = json.dumps([None if part is None else str(part) for part in query], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


class PageTokens:
    """Issues and checks page tokens signed with ``key`` (HMAC-SHA256).

    The key is a secret setting (A4C_PAGE_TOKEN_KEY); unset, each process draws a random one, so a
    token works only on the replica that issued it (and not after a restart): replicas behind one
    Service need the shared key.
    """

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, body: bytes) -> str:
        return _b64(hmac.new(self._key, body, hashlib.sha256).digest())

    def encode(self, position: Mapping[str, Any], query: Sequence[object]) -> str:
        """A token continuing `query` at `position` (JSON values: str, int, ...)."""
        payload = {"v": _VERSION, "q": _fingerprint(query), "p": dict(position)}
        body = _b64(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode())
        return f"{body}.{self._mac(body.encode())}"

    def decode(
        self,
        token: str,
        query: Sequence[object],
        parse: Callable[[Mapping[str, Any]], T],
        *,
        field: str = FIELD,
    ) -> T:
        """`parse(position)` of a token this key issued for the same query.

        `parse` may raise ValueError, KeyError or TypeError on a position it does not accept: that
        is a malformed token as well. Nothing unsigned is ever parsed, and the size is bounded
        before anything else, so deep JSON or huge numbers cannot reach the JSON parser.
        """
        body, _, mac = token.partition(".")
        if len(token) > MAX_TOKEN_LENGTH or not hmac.compare_digest(
            mac.encode(), self._mac(body.encode()).encode()
        ):
            raise InvalidFields.one(field, "malformed page token") from None
        try:
            payload: Any = json.loads(_unb64(body))
            if not isinstance(payload, dict) or payload.get("v") != _VERSION:
                raise ValueError("not a token of this version")
            fingerprint, position = payload["q"], payload["p"]
            if not isinstance(position, dict) or not all(map(_bounded, position.values())):
                raise TypeError("position")
        except (ValueError, KeyError, TypeError, RecursionError, binascii.Error, UnicodeDecodeError):
            raise InvalidFields.one(field, "malformed page token") from None
        if fingerprint != _fingerprint(query):
            raise InvalidFields.one(field, "page token was issued for another query")
        try:
            return parse(position)
        except (ValueError, KeyError, TypeError, OverflowError):
            raise InvalidFields.one(field, "malformed page token") from None


def _bounded(value: object) -> bool:
    """Positions are flat: strings and integers a database column can hold."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return True
    return isinstance(value, int) and -(2**63) <= value < 2**63


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text.isascii():
        raise ValueError("not base64")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
