"""Organization metadata: key/value pairs on an organization, the v1 management way.

A4C marks the organizations it creates with one entry (the identity service reads and deletes only
those), so the emulator keeps Zitadel's rules for it (``internal/command/org_metadata.go``,
``internal/query/org_metadata.go``): the org is the call's context (``x-zitadel-orgid``; an unknown
one is refused while authorizing, as for every v1 management call); values are bytes, base64 in
JSON; an empty key or value is InvalidArgument ``META-2m00f``; setting the value a key already
holds changes nothing; a read by key that finds nothing is NotFound ``QUERY-Rph32`` (404); reads
trigger the projection first (``GetOrgMetadataByKey(ctx, shouldTriggerBulk=true, …)``), so they
never lag; deleting the organization removes its metadata. The search and bulk paths are not
emulated and say so.
"""

from __future__ import annotations

from typing import Any

from a4c.sandbox.zitadel.api import Call, Rest
from a4c.sandbox.zitadel.errors import ApiError
from a4c.sandbox.zitadel.metadata import MAX_KEY, base64_value
from a4c.sandbox.zitadel.model import OrgMetadatum
from a4c.sandbox.zitadel.wire import change_details, details, text

_NOT_EMULATED = ("_search", "_bulk")


def _key(call: Call) -> str:
    key = text(call.body, "key")
    if key in _NOT_EMULATED:
        raise ApiError("unimplemented", f"sandbox: metadata/{key} is not emulated", "SANDBOX-omd501")
    return key


def v1_set(call: Call) -> dict[str, Any]:
    """POST /management/v1/metadata/{key} {value}: add or replace one entry of the context org."""
    key, value = _key(call), base64_value(call.body.get("value"))
    if not key or len(key) > MAX_KEY or not value:
        raise ApiError("invalid_argument", "Metadata is invalid", "META-2m00f")
    store = call.store
    with store.write() as state:
        entry = next((m for m in state.org_metadata if m.org_id == call.org_id and m.key == key), None)
        if entry is None:
            now = store.now()
            entry = OrgMetadatum(call.org_id, key, value, now, now, store.next_sequence())
            state.org_metadata.append(entry)
        elif entry.value != value:  # an unchanged value pushes no event
            entry.value, entry.changed, entry.sequence = value, store.now(), store.next_sequence()
    return {"details": change_details(entry.sequence, entry.changed, entry.org_id)}


def v1_get(call: Call) -> dict[str, Any]:
    """GET /management/v1/metadata/{key}: the context org's entry, or 404 QUERY-Rph32."""
    key = _key(call)
    with call.store.read() as state:
        entry = next((m for m in state.org_metadata if m.org_id == call.org_id and m.key == key), None)
        if entry is None:
            raise ApiError("not_found", "Metadata not found", "QUERY-Rph32")
        view = details(entry.sequence, entry.created, entry.changed, entry.org_id)
        return {"metadata": {"details": view, "key": entry.key, "value": entry.value}}


REST = [
    Rest("POST", "/management/v1/metadata/{key}", v1_set),
    Rest("GET", "/management/v1/metadata/{key}", v1_get),
]
