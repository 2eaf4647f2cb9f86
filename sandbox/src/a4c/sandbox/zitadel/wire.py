"""Zitadel's JSON conventions, in and out.

Out: camelCase, 64-bit numbers as strings, timestamps as RFC 3339 in UTC, and zero values and empty
lists left out (protojson). In: both camelCase and the proto's snake_case names are accepted, as
grpc-gateway and Connect do, and unknown fields are ignored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

_SNAKE = re.compile(r"_([a-z0-9])")


def ts(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def i64(value: int) -> str | None:
    """A 64-bit integer as protojson writes it: a string, or nothing when zero."""
    return str(value) if value else None


def compact(value: Any) -> Any:
    """Drop the fields protojson leaves out: None, "", False, 0, empty lists and objects."""
    if isinstance(value, Mapping):
        out = {k: compact(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if not _is_zero(v)}
    if isinstance(value, list):
        return [compact(v) for v in value]
    return value


def _is_zero(value: Any) -> bool:
    if value is None or value is False:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value == 0
    return isinstance(value, str | list | dict) and len(value) == 0


def camel_keys(value: Any) -> Any:
    """Accept snake_case field names as Zitadel does, by turning every key into camelCase."""
    if isinstance(value, Mapping):
        return {_SNAKE.sub(lambda m: m.group(1).upper(), str(k)): camel_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [camel_keys(v) for v in value]
    return value


def details(sequence: int, created: float, changed: float, owner: str) -> dict[str, Any]:
    """zitadel.object.v2.Details / v1 ObjectDetails."""
    return {
        "sequence": i64(sequence),
        "creationDate": ts(created),
        "changeDate": ts(changed),
        "resourceOwner": owner,
    }


def list_details(total: int, sequence: int, now: float) -> dict[str, Any]:
    return {"totalResult": i64(total), "processedSequence": i64(sequence), "timestamp": ts(now)}


# Small typed accessors for request bodies (after camel_keys): wrong types count as absent, like
# protojson would reject them; the handlers then report the missing field.
def obj(body: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    return dict(value) if isinstance(value, Mapping) else {}


def text(body: Mapping[str, Any], key: str) -> str:
    value = body.get(key)
    return value.strip() if isinstance(value, str) else ""


def texts(body: Mapping[str, Any], key: str) -> list[str]:
    value = body.get(key)
    if not isinstance(value, list):
        return []
    return [v.strip() for v in value if isinstance(v, str) and v.strip()]


def flag(body: Mapping[str, Any], key: str) -> bool:
    return body.get(key) is True


def number(body: Mapping[str, Any], key: str, default: int) -> int:
    value = body.get(key)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return default


def change_details(sequence: int, when: float, owner: str) -> dict[str, Any]:
    """The details a command answers with: the event's sequence and date, and its owner."""
    return {"sequence": i64(sequence), "changeDate": ts(when), "resourceOwner": owner}


def text_matches(value: str, wanted: str, method: str) -> bool:
    """Zitadel's TEXT_QUERY_METHOD_* comparisons (EQUALS when unspecified)."""
    name = method.removeprefix("TEXT_QUERY_METHOD_") or "EQUALS"
    if name.endswith("_IGNORE_CASE"):
        name, value, wanted = name.removesuffix("_IGNORE_CASE"), value.casefold(), wanted.casefold()
    if name == "STARTS_WITH":
        return value.startswith(wanted)
    if name == "CONTAINS":
        return wanted in value
    if name == "ENDS_WITH":
        return value.endswith(wanted)
    return value == wanted
