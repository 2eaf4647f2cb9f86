"""The one page-token codec: signed, bound to its query, bounded, and every bad token is a bad field."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import pytest

from a4c.common.errors import FieldViolation, InvalidFields, Violations
from a4c.common.paging import MAX_TOKEN_LENGTH, PageTokens

QUERY = ("zone.example", "www", 50)
KEY = b"k" * 32
TOKENS = PageTokens(KEY)


def _after(position: Mapping[str, Any]) -> int:
    after = position["after"]
    if not isinstance(after, int):
        raise TypeError("after")
    return after


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _signed(body: bytes, key: bytes = KEY) -> str:
    """A token whose signature is right: what only a holder of the key can make."""
    encoded = _b64(body)
    return f"{encoded}.{_b64(hmac.new(key, encoded.encode(), hashlib.sha256).digest())}"


def _payload(position: object) -> bytes:
    fingerprint = TOKENS.encode({}, QUERY).split(".")[0]
    query = json.loads(base64.urlsafe_b64decode(fingerprint + "=" * (-len(fingerprint) % 4)))["q"]
    return json.dumps({"v": 1, "q": query, "p": position}).encode()


def test_a_token_round_trips_for_the_same_query_and_is_url_safe() -> None:
    token = TOKENS.encode({"after": 41}, QUERY)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    assert TOKENS.decode(token, QUERY, _after) == 41


def test_a_token_is_refused_for_another_query() -> None:
    token = TOKENS.encode({"after": 41}, QUERY)
    with pytest.raises(InvalidFields) as caught:
        TOKENS.decode(token, ("zone.example", "www", 51), _after)
    assert caught.value.violations == (
        FieldViolation("page_token", "page token was issued for another query"),
    )


def _forged_position() -> str:
    body, _, mac = TOKENS.encode({"after": 41}, QUERY).partition(".")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b"41", b"99")
    return f"{_b64(raw)}.{mac}"


# Tampering table: each is refused as a malformed token (INVALID_ARGUMENT), never an internal error.
TAMPERED = {
    "not a token": "not a token",
    "percent signs": "%%%",
    "no signature": _b64(_payload({"after": 1})),
    "empty signature": _b64(_payload({"after": 1})) + ".",
    "position changed, old signature": _forged_position(),
    "signed with another key": _signed(_payload({"after": 1}), b"x" * 32),
    "signature truncated": TOKENS.encode({"after": 41}, QUERY)[:-4],
    "too long": "A" * (MAX_TOKEN_LENGTH + 1),
    "non-ascii": "é" * 10 + ".é",
    "deep JSON, unsigned": _b64(b"[" * 100_000 + b"]" * 100_000),
    "huge integer, unsigned": _b64(b'{"v":1,"q":"x","p":{"after":' + b"9" * 5000 + b"}}"),
    # Signed with the right key: what a leaked key (or a bug) could produce; still a bad field.
    "signed bytes that are not UTF-8": _signed(b"\xff\xfe"),
    "signed list": _signed(b"[1, 2]"),
    "signed other version": _signed(json.dumps({"v": 2, "q": "x", "p": {}}).encode()),
    "signed without query": _signed(json.dumps({"v": 1, "p": {}}).encode()),
    "signed list position": _signed(_payload([])),
    "signed deep JSON": _signed(_payload({"after": [[[[[[[[[[[]]]]]]]]]]]})),
    "signed huge integer": _signed(_payload({"after": 10**600})),
    "signed integer beyond 64 bits": _signed(_payload({"after": 2**63})),
}


@pytest.mark.parametrize("token", list(TAMPERED.values()), ids=list(TAMPERED))
def test_a_tampered_or_hostile_token_is_a_bad_field(token: str) -> None:
    with pytest.raises(InvalidFields) as caught:
        TOKENS.decode(token, QUERY, _after)
    assert [v.field for v in caught.value.violations] == ["page_token"]


def test_a_token_from_another_process_without_the_shared_key_is_refused() -> None:
    token = PageTokens(b"a" * 32).encode({"after": 41}, QUERY)
    with pytest.raises(InvalidFields, match="malformed page token"):
        PageTokens(b"b" * 32).decode(token, QUERY, _after)
    assert PageTokens(b"a" * 32).decode(token, QUERY, _after) == 41  # replicas sharing the key


def test_a_position_the_caller_rejects_is_a_malformed_token_not_an_internal_error() -> None:
    token = TOKENS.encode({"after": "forty-one"}, QUERY)
    with pytest.raises(InvalidFields, match="malformed page token"):
        TOKENS.decode(token, QUERY, _after)


def test_the_field_name_is_the_callers() -> None:
    with pytest.raises(InvalidFields) as caught:
        TOKENS.decode("x", QUERY, _after, field="cursor")
    assert caught.value.violations[0].field == "cursor"


def test_violations_are_collected_and_raised_together() -> None:
    check = Violations().add("a", "is required").add("b", "is too long")
    with pytest.raises(InvalidFields) as caught:
        check.done()
    assert [v.field for v in caught.value.violations] == ["a", "b"]
    assert str(caught.value) == "a: is required; b: is too long"
    Violations().done()  # nothing added: no error
