"""How the `a4c` CLI prints: aligned tables for people, JSON (`--json`) for scripts."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message

from a4c.api.provisioning.v1 import provisioning_pb2 as pb
from a4c.eventstore import EventType

# Short names for enum values, e.g. SUBDOMAIN_STATUS_ACTIVE → active.
_PREFIXES = ("BOOTSTRAP_STATUS_", "SUBDOMAIN_STATUS_", "STEP_STATE_")

# One line of progress per event type, as a person would say it (a test checks every type has one).
EVENT_TEXT: dict[str, str] = {
    EventType.TEMPORAL_INITIATED: "bootstrap started",
    EventType.ZITADEL_CREATED: "identity organization and admin user created",
    EventType.CREATED: "organization recorded",
    EventType.USER_ROLE_ASSIGNED: "admin role granted",
    EventType.USER_INVITATION_SENT: "invitation sent to the admin",
    EventType.BOOTSTRAP_COMPLETED: "bootstrap completed",
    EventType.BOOTSTRAP_FAILED: "bootstrap FAILED",
    EventType.BOOTSTRAP_CANCELLED: "bootstrap cancelled",
    EventType.BOOTSTRAP_COMPENSATED: "cleanup done",
    EventType.SUBDOMAIN_DRIFT_DETECTED: "subdomain drifted (reconciler)",
    EventType.SUBDOMAIN_DRIFT_REPAIRED: "subdomain record restored (reconciler)",
    EventType.IDENTITY_DRIFT_DETECTED: "identity organization drifted (reconciler)",
    EventType.SUBDOMAIN_ORPHAN_DETECTED: "orphaned DNS record found (reconciler)",
    EventType.IDENTITY_ORPHAN_DETECTED: "orphaned identity organization found (reconciler)",
    EventType.SUBDOMAIN_DNS_RECORD_CREATED: "DNS record created",
    EventType.SUBDOMAIN_VERIFICATION_STARTED: "verifying the subdomain resolves",
    EventType.SUBDOMAIN_VERIFIED: "subdomain active",
    EventType.SUBDOMAIN_VERIFICATION_FAILED: "subdomain verification FAILED",
    EventType.SUBDOMAIN_DNS_RECORD_DELETED: "DNS record removed",
    EventType.OFFBOARDING_STARTED: "offboarding started",
    EventType.OFFBOARDING_SUBDOMAIN_STOPPED: "subdomain workflow stopped",
    EventType.OFFBOARDING_DNS_RECORDS_REMOVED: "DNS records removed",
    EventType.OFFBOARDING_IDENTITY_DEACTIVATED: "identity organization deactivated",
    EventType.OFFBOARDING_DELETION_STARTED: "grace period over: deleting",
    EventType.OFFBOARDING_IDENTITY_DELETED: "identity organization deleted",
    EventType.OFFBOARDED: "offboarded",
    EventType.OFFBOARDING_CANCELLED: "offboarding cancelled",
    EventType.OFFBOARDING_IDENTITY_REACTIVATED: "identity organization reactivated",
}
# The failures whose line carries the event's `error`.
_WITH_ERROR = (EventType.BOOTSTRAP_FAILED, EventType.SUBDOMAIN_VERIFICATION_FAILED)


def short(enum_name: str) -> str:
    for prefix in _PREFIXES:
        if enum_name.startswith(prefix):
            return enum_name[len(prefix) :].lower()
    return enum_name.lower()


def bootstrap_status(value: int) -> str:
    return short(pb.BootstrapStatus.Name(value))  # type: ignore[arg-type]


def subdomain_status(value: int) -> str:
    return short(pb.SubdomainStatus.Name(value))  # type: ignore[arg-type]


def lifecycle_status(value: int) -> str:
    return short(pb.LifecycleStatus.Name(value))  # type: ignore[arg-type]


def step_state(value: int) -> str:
    return short(pb.StepState.Name(value))  # type: ignore[arg-type]


def as_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True)


def print_json(value: Any, out: TextIO) -> None:
    out.write(json.dumps(value, ensure_ascii=False, sort_keys=False) + "\n")
    out.flush()


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Left-aligned columns separated by two spaces; the last column is not padded."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out.write(line(headers) + "\n")
    for row in rows:
        out.write(line(row) + "\n")


def when(message: Any) -> str:
    """A Timestamp field as `YYYY-MM-DD HH:MM:SS` (UTC), empty when unset."""
    if not message.seconds and not message.nanos:
        return ""
    return str(message.ToDatetime().strftime("%Y-%m-%d %H:%M:%S"))


def organizations(items: Sequence[pb.Organization], out: TextIO) -> None:
    rows = [
        [
            o.slug,
            o.name,
            bootstrap_status(o.bootstrap_status),
            subdomain_status(o.subdomain_status),
            o.subdomain_fqdn,
            when(o.created_at),
            o.id,
        ]
        for o in items
    ]
    table(["SLUG", "NAME", "BOOTSTRAP", "SUBDOMAIN", "FQDN", "CREATED (UTC)", "ID"], rows, out)


def events(items: Sequence[pb.Event], out: TextIO) -> None:
    rows = [[str(e.stream_version), when(e.created_at), e.event_type, str(e.sequence)] for e in items]
    table(["#", "TIME (UTC)", "EVENT", "SEQUENCE"], rows, out)


def bootstrap(view: pb.Bootstrap, out: TextIO) -> None:
    out.write(f"organization  {view.name} ({view.slug})  {view.organization_id}\n")
    out.write(f"workflow      {view.workflow_id}\n")
    out.write(f"bootstrap     {bootstrap_status(view.status)}")
    out.write(f"  (step: {view.current_step})\n" if view.current_step else "\n")
    out.write(f"subdomain     {view.subdomain_fqdn}  {subdomain_status(view.subdomain_status)}\n")
    if view.error:
        out.write(f"error         {view.error}\n")
    out.write("\n")
    rows = [
        [s.name, step_state(s.state), when(s.started_at), when(s.finished_at), s.error] for s in view.steps
    ]
    table(["STEP", "STATE", "STARTED (UTC)", "FINISHED (UTC)", "ERROR"], rows, out)


def progress_line(item: pb.WatchBootstrapResponse) -> str:
    event = item.event
    text = EVENT_TEXT.get(event.event_type, event.event_type)
    detail = ""
    if event.event_type in _WITH_ERROR:
        error = event.data.fields.get("error")
        detail = f": {error.string_value}" if error is not None and error.string_value else ""
    stamp = event.created_at.ToDatetime().strftime("%H:%M:%S")
    boot, sub = bootstrap_status(item.bootstrap_status), subdomain_status(item.subdomain_status)
    return f"{stamp}  {text}{detail}  [bootstrap {boot}, subdomain {sub}]"


def drift(reply: pb.PreviewDriftResponse, out: TextIO) -> None:
    """What the reconciler would act on, then what the comparison cost; a preview changes nothing."""
    if reply.findings:
        rows = [(f.slug or "-", f.kind, f.action, f.subject, f.organization_id) for f in reply.findings]
        table(("SLUG", "DRIFT", "WOULD", "SUBJECT", "ORGANIZATION"), rows, out)
    more = " (list truncated)" if reply.truncated else ""
    out.write(
        f"{len(reply.findings)} finding(s){more} in {reply.organizations_checked} active organization(s); "
        f"{reply.dns_calls} DNS and {reply.identity_calls} identity call(s); nothing was changed\n"
    )
