"""User metadata: key/value pairs on a user that Zitadel stores and never interprets.

Rules kept from Zitadel (``internal/command/user_metadata.go``, ``internal/query/user_metadata.go``):
values are bytes, base64 in JSON; setting the value a key already holds pushes no event (the
answer is the same, nothing changes); an empty key or value is InvalidArgument ``META-2m00f``; a
bulk set without entries FailedPrecondition ``META-9mm2d``; a missing user (or, on the v1
management paths, one outside the ``x-zitadel-orgid`` org) FailedPrecondition ``COMMAND-uXHNj``
(checkUserExists reads the event store). A read by key that finds nothing is NotFound
``QUERY-Rgh32`` (404). Reads trigger the metadata projection first, so they never lag; deleting
the user removes its metadata.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from a4c.sandbox.zitadel.api import Call, Handler, Rest, connect_path
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.model import Metadatum, User
from a4c.sandbox.zitadel.store import State
from a4c.sandbox.zitadel.users import USER_SERVICE
from a4c.sandbox.zitadel.wire import change_details, details, obj, text, text_matches, ts

MAX_KEY = 200  # the proto's validate rule on key


def _user(call: Call, state: State, *, in_context_org: bool) -> User:
    user = state.users.get(text(call.body, "userId") or text(call.body, "id"))
    if user is None or (in_context_org and user.org_id != call.org_id):
        raise ApiError("failed_precondition", "User could not be found", "COMMAND-uXHNj")
    return user


def base64_value(raw: Any) -> str:
    """The base64 text of a bytes field, as protojson decodes it (both alphabets, padding optional)."""
    if not isinstance(raw, str) or not raw:
        return ""
    padded = raw + "=" * (-len(raw) % 4)
    try:
        decoded = base64.b64decode(padded.replace("-", "+").replace("_", "/"), validate=True)
    except (binascii.Error, ValueError):
        raise ApiError("invalid_argument", "value is not valid base64", "GATEWAY-b64dec") from None
    return base64.b64encode(decoded).decode() if decoded else ""


def _set(call: Call, state: State, user: User, key: str, value: str) -> Metadatum:
    if not key or len(key) > MAX_KEY or not value:
        raise ApiError("invalid_argument", "Metadata is invalid", "META-2m00f")
    store = call.store
    for entry in state.user_metadata:
        if entry.user_id == user.id and entry.key == key:
            if entry.value != value:  # an unchanged value pushes no event
                entry.value, entry.changed, entry.sequence = value, store.now(), store.next_sequence()
            return entry
    entry = Metadatum(user.id, user.org_id, key, value, store.now(), store.now(), store.next_sequence())
    state.user_metadata.append(entry)
    return entry


def _find(state: State, user_id: str, key: str) -> Metadatum | None:
    return next((m for m in state.user_metadata if m.user_id == user_id and m.key == key), None)


def v1_set(call: Call) -> dict[str, Any]:
    """POST /management/v1/users/{id}/metadata/{key} {value}: add or replace one entry."""
    with call.store.write() as state:
        user = _user(call, state, in_context_org=True)
        entry = _set(call, state, user, text(call.body, "key"), base64_value(call.body.get("value")))
    return {"details": change_details(entry.sequence, entry.changed, entry.org_id)}


def v1_get(call: Call) -> dict[str, Any]:
    """GET /management/v1/users/{id}/metadata/{key}: the entry, or 404 QUERY-Rgh32."""
    with call.store.read() as state:
        entry = _find(state, text(call.body, "id"), text(call.body, "key"))
        if entry is None or entry.org_id != call.org_id:  # the query is scoped to the context org
            raise ApiError("not_found", "Metadata not found", "QUERY-Rgh32")
        view = details(entry.sequence, entry.created, entry.changed, entry.org_id)
        return {"metadata": {"details": view, "key": entry.key, "value": entry.value}}


def v2_set(call: Call) -> dict[str, Any]:
    """SetUserMetadata: several entries at once (BulkSetUserMetadata underneath)."""
    entries = call.body.get("metadata")
    if not isinstance(entries, list) or not entries:
        raise ApiError("failed_precondition", "No metadata provided", "META-9mm2d")
    with call.store.write() as state:
        user = _user(call, state, in_context_org=False)
        for item in entries:
            item = item if isinstance(item, dict) else {}
            _set(call, state, user, text(item, "key"), base64_value(item.get("value")))
    return {"setDate": ts(call.store.now())}


def v2_list(call: Call) -> dict[str, Any]:
    """ListUserMetadata: the user's entries, filtered by key (the only filter emulated)."""
    filters = call.body.get("filters") or []
    keys: list[tuple[str, str]] = []
    for item in filters if isinstance(filters, list) else []:
        key_filter = obj(item if isinstance(item, dict) else {}, "keyFilter")
        if not key_filter:
            raise ApiError("unimplemented", "sandbox: only keyFilter is emulated", "SANDBOX-mdflt")
        method = text(key_filter, "method").replace("TEXT_FILTER_METHOD_", "TEXT_QUERY_METHOD_")
        keys.append((text(key_filter, "key"), method))
    with call.store.read() as state:
        user_id = text(call.body, "userId")
        chosen = [
            m
            for m in state.user_metadata
            if m.user_id == user_id and all(text_matches(m.key, k, how) for k, how in keys)
        ]
        answer = {
            "pagination": {"totalResult": str(len(chosen)) if chosen else None},
            "metadata": [
                {"creationDate": ts(m.created), "changeDate": ts(m.changed), "key": m.key, "value": m.value}
                for m in chosen
            ],
        }
    return answer


REST = [
    Rest("POST", "/management/v1/users/{id}/metadata/{key}", v1_set),
    Rest("GET", "/management/v1/users/{id}/metadata/{key}", v1_get),
    Rest("POST", "/v2/users/{userId}/metadata", v2_set),
    Rest("POST", "/v2/users/{userId}/metadata/search", v2_list),
]
CONNECT: dict[str, Handler] = {
    connect_path(USER_SERVICE, "SetUserMetadata"): v2_set,
    connect_path(USER_SERVICE, "ListUserMetadata"): v2_list,
}
