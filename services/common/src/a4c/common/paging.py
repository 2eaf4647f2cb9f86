"""Page tokens: opaque to callers, bound to the query they continue, refused as a bad field otherwise.

A token is base64url (unpadded) JSON of a version, a fingerprint of the query (filters, zone, page
size, ...) and the position to continue from. Reusing a token with another query would silently skip
or repeat rows, so it is refused; so is anything that does not decode. Every refusal is InvalidFields
on the token's field (INVALID_ARGUMENT), never an internal error.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from a4c.common.errors import InvalidFields

T = TypeVar("T")
_VERSION = 1
FIELD = "page_token"


def _fingerprint(query: Sequence[object]) -> str:
    canonical = json.dumps([None if part is None else str(part) for part in query], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_page_token(position: Mapping[str, Any], query: Sequence[object]) -> str:
    """A token continuing `query` at `position` (JSON values: str, int, ...)."""
    payload = {"v": _VERSION, "q": _fingerprint(query), "p": dict(position)}
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(
    token: str,
    query: Sequence[object],
    parse: Callable[[Mapping[str, Any]], T],
    *,
    field: str = FIELD,
) -> T:
    """`parse(position)` of a token made by `encode_page_token` for the same query.

    `parse` may raise ValueError, KeyError or TypeError on a position it does not accept: that is a
    malformed token as well.
    """
    try:
        payload: Any = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if not isinstance(payload, dict) or payload.get("v") != _VERSION:
            raise ValueError("not a token of this version")
        fingerprint, position = payload["q"], payload["p"]
        if not isinstance(position, dict):
            raise TypeError("position")
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidFields.one(field, "malformed page token") from None
    if fingerprint != _fingerprint(query):
        raise InvalidFields.one(field, "page token was issued for another query")
    try:
        return parse(position)
    except (ValueError, KeyError, TypeError):
        raise InvalidFields.one(field, "malformed page token") from None
