"""The one page-token codec: opaque, bound to its query, and every bad token is a bad field."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

import pytest

from a4c.common.errors import FieldViolation, InvalidFields, Violations
from a4c.common.paging import decode_page_token, encode_page_token

QUERY = ("zone.example", "www", 50)


def _after(position: Mapping[str, Any]) -> int:
    after = position["after"]
    if not isinstance(after, int):
        raise TypeError("after")
    return after


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_a_token_round_trips_for_the_same_query_and_is_url_safe() -> None:
    token = encode_page_token({"after": 41}, QUERY)
    assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert decode_page_token(token, QUERY, _after) == 41


def test_a_token_is_refused_for_another_query() -> None:
    token = encode_page_token({"after": 41}, QUERY)
    with pytest.raises(InvalidFields) as caught:
        decode_page_token(token, ("zone.example", "www", 51), _after)
    assert caught.value.violations == (
        FieldViolation("page_token", "page token was issued for another query"),
    )


@pytest.mark.parametrize(
    "token",
    [
        "not a token",
        "%%%",
        _b64(b"\xff\xfe"),
        _b64(b"[1, 2]"),
        _b64(json.dumps({"v": 2, "q": "x", "p": {}}).encode()),
        _b64(json.dumps({"v": 1, "p": {}}).encode()),
        _b64(json.dumps({"v": 1, "q": "x", "p": []}).encode()),
    ],
)
def test_anything_that_does_not_decode_is_a_malformed_token(token: str) -> None:
    with pytest.raises(InvalidFields) as caught:
        decode_page_token(token, QUERY, _after)
    assert [v.field for v in caught.value.violations] == ["page_token"]


def test_a_position_the_caller_rejects_is_a_malformed_token_not_an_internal_error() -> None:
    token = encode_page_token({"after": "forty-one"}, QUERY)
    with pytest.raises(InvalidFields, match="malformed page token"):
        decode_page_token(token, QUERY, _after)


def test_the_field_name_is_the_callers() -> None:
    with pytest.raises(InvalidFields) as caught:
        decode_page_token("x", QUERY, _after, field="cursor")
    assert caught.value.violations[0].field == "cursor"


def test_violations_are_collected_and_raised_together() -> None:
    check = Violations().add("a", "is required").add("b", "is too long")
    with pytest.raises(InvalidFields) as caught:
        check.done()
    assert [v.field for v in caught.value.violations] == ["a", "b"]
    assert str(caught.value) == "a: is required; b: is too long"
    Violations().done()  # nothing added: no error
