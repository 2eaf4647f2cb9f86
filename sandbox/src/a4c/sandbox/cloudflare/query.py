"""List queries the way Cloudflare reads them: dotted filters, match=all|any, order, pagination."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from a4c.sandbox.cloudflare.store import Record, Zone
from a4c.sandbox.cloudflare.validation import ApiError, not_emulated

T = TypeVar("T")
Predicate = Callable[[Record], bool]

_TEXT_FIELDS = ("name", "content", "comment")
_OPERATORS: dict[str, Callable[[str, str], bool]] = {
    "exact": lambda value, wanted: value == wanted,
    "contains": lambda value, wanted: wanted in value,
    "startswith": lambda value, wanted: value.startswith(wanted),
    "endswith": lambda value, wanted: value.endswith(wanted),
}
_ORDER_KEYS: dict[str, Callable[[Record], Any]] = {
    "type": lambda r: r.type,
    "name": lambda r: r.name,
    "content": lambda r: r.content,
    "ttl": lambda r: r.ttl,
    "proxied": lambda r: r.proxied,
}


@dataclass(frozen=True)
class Page:
    number: int
    size: int

    def slice(self, items: Sequence[T]) -> tuple[list[T], dict[str, int]]:
        start = (self.number - 1) * self.size
        chunk = list(items[start : start + self.size])
        total = len(items)
        info = {
            "page": self.number,
            "per_page": self.size,
            "count": len(chunk),
            "total_count": total,
            "total_pages": -(-total // self.size),  # 0 for an empty list, as Cloudflare answers
        }
        return chunk, info


def parse_page(params: Mapping[str, str], default_size: int, max_size: int) -> Page:
    number = _positive_int(params, "page", 1, 1 << 31)
    size = _positive_int(params, "per_page", default_size, max_size)
    return Page(number, size)


def _positive_int(params: Mapping[str, str], key: str, default: int, maximum: int) -> int:
    raw = params.get(key)
    if raw is None:
        return default
    try:
        value = int(float(raw))  # the official SDK types page numbers as floats
    except ValueError:
        value = 0
    if not 1 <= value <= maximum:
        raise ApiError(400, 1004, f"{key} must be an integer between 1 and {maximum}.")
    return value


# Parameters of GET /zones/{id}/dns_records that are not filters.
_LIST_PARAMS = frozenset({"match", "order", "direction", "page", "per_page"})
# GET /zones parameters served; every other one (account.*, order, match...) is refused.
_ZONE_PARAMS = frozenset({"name", "status", "page", "per_page"})


def record_filter(params: Mapping[str, str]) -> Predicate:
    """One predicate for every filter present, combined with match=all (default) or any.
    Text filters are case-insensitive, as Cloudflare documents. A parameter the emulator does not
    implement (search, tag.*, tag_match, a misspelt filter) is refused: ignoring it would answer
    every record where Cloudflare answers a few."""
    predicates: list[Predicate] = []
    for key, wanted in params.items():
        field_name, _, operator = key.partition(".")
        if field_name in _TEXT_FIELDS:
            predicates.append(_text_predicate(field_name, operator or "exact", wanted))
        elif key == "type":
            predicates.append(_field_equals("type", wanted.upper()))
        elif key == "proxied":
            if wanted not in ("true", "false"):
                raise ApiError(400, 1004, "proxied must be true or false.")
            predicates.append(_field_equals("proxied", wanted == "true"))
        elif key not in _LIST_PARAMS:
            raise not_emulated(f"the DNS records list parameter {key!r}")
    match = params.get("match", "all")
    if match not in ("all", "any"):
        raise ApiError(400, 1004, "match must be all or any.")
    if not predicates:
        return lambda _r: True
    combine = all if match == "all" else any
    return lambda r: combine(p(r) for p in predicates)


def _field_equals(field_name: str, wanted: object) -> Predicate:
    return lambda r: bool(getattr(r, field_name) == wanted)


def _text_predicate(field_name: str, operator: str, wanted: str) -> Predicate:
    if field_name == "comment" and operator in ("present", "absent"):
        return lambda r: (r.comment is not None) == (operator == "present")
    compare = _OPERATORS.get(operator)
    if compare is None:
        raise not_emulated(f"the DNS records list parameter {field_name}.{operator!r}")
    wanted = wanted.lower()
    if field_name == "name":
        wanted = wanted.rstrip(".")

    def predicate(record: Record) -> bool:
        value = getattr(record, field_name)
        return value is not None and compare(value.lower(), wanted)

    return predicate


def order_records(records: list[Record], params: Mapping[str, str]) -> list[Record]:
    order = params.get("order", "name")
    key = _ORDER_KEYS.get(order)
    if key is None:
        raise ApiError(400, 1004, f"order must be one of {', '.join(_ORDER_KEYS)}.")
    direction = params.get("direction", "asc")
    if direction not in ("asc", "desc"):
        raise ApiError(400, 1004, "direction must be asc or desc.")
    # Stable tie-break so pages never overlap or skip a record between calls.
    ordered = sorted(records, key=lambda r: (r.created_on, r.id))
    return sorted(ordered, key=key, reverse=direction == "desc")


def zone_filter(params: Mapping[str, str]) -> Callable[[Zone], bool]:
    """GET /zones filters: ``name`` (exact; Cloudflare's ``contains:``-style operators are refused)
    and ``status`` (every sandbox zone is active)."""
    unknown = sorted(set(params) - _ZONE_PARAMS)
    if unknown:
        raise not_emulated(f"the zones list parameter {unknown[0]!r}")
    name = params.get("name")
    if name is not None and ":" in name:
        raise not_emulated(f"the zones name operator {name.partition(':')[0]!r}")
    status = params.get("status")
    wanted = name.lower().rstrip(".") if name is not None else None
    return lambda zone: (wanted is None or zone.name == wanted) and status in (None, "active")
