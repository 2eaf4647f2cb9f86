"""How statuses read on a page: a word for each (status is text, not colour alone) and a badge tone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp

from a4c.api.provisioning.v1 import provisioning_pb2 as pb

__all__ = ["Badge", "pb"]


@dataclass(frozen=True)
class Badge:
    text: str
    tone: str  # a CSS class: ok, busy, bad, idle

    @property
    def css(self) -> str:
        return f"badge badge-{self.tone}"


BOOTSTRAP = {
    pb.BOOTSTRAP_STATUS_UNSPECIFIED: Badge("unknown", "idle"),
    pb.BOOTSTRAP_STATUS_INITIATED: Badge("initiated", "busy"),
    pb.BOOTSTRAP_STATUS_RUNNING: Badge("running", "busy"),
    pb.BOOTSTRAP_STATUS_COMPLETED: Badge("completed", "ok"),
    pb.BOOTSTRAP_STATUS_FAILED: Badge("failed", "bad"),
    pb.BOOTSTRAP_STATUS_CANCELLED: Badge("cancelled", "idle"),
}
SUBDOMAIN = {
    pb.SUBDOMAIN_STATUS_UNSPECIFIED: Badge("unknown", "idle"),
    pb.SUBDOMAIN_STATUS_PENDING: Badge("pending", "idle"),
    pb.SUBDOMAIN_STATUS_DNS_RECORD_CREATED: Badge("dns record created", "busy"),
    pb.SUBDOMAIN_STATUS_VERIFYING: Badge("verifying", "busy"),
    pb.SUBDOMAIN_STATUS_ACTIVE: Badge("active", "ok"),
    pb.SUBDOMAIN_STATUS_FAILED: Badge("failed", "bad"),
    pb.SUBDOMAIN_STATUS_REMOVED: Badge("removed", "idle"),
}
STEP = {
    pb.STEP_STATE_UNSPECIFIED: Badge("unknown", "idle"),
    pb.STEP_STATE_PENDING: Badge("pending", "idle"),
    pb.STEP_STATE_RUNNING: Badge("running", "busy"),
    pb.STEP_STATE_COMPLETED: Badge("completed", "ok"),
    pb.STEP_STATE_FAILED: Badge("failed", "bad"),
    pb.STEP_STATE_COMPENSATED: Badge("undone", "idle"),
}
_BY_NUMBER: dict[str, dict[int, Badge]] = {
    "bootstrap": {int(n): b for n, b in BOOTSTRAP.items()},
    "subdomain": {int(n): b for n, b in SUBDOMAIN.items()},
    "step": {int(n): b for n, b in STEP.items()},
}
LIFECYCLE = {
    pb.LIFECYCLE_STATUS_UNSPECIFIED: Badge("unknown", "idle"),
    pb.LIFECYCLE_STATUS_ACTIVE: Badge("active", "ok"),
    pb.LIFECYCLE_STATUS_OFFBOARDING: Badge("offboarding", "busy"),
    pb.LIFECYCLE_STATUS_OFFBOARDED: Badge("offboarded", "idle"),
}
_BY_NUMBER["lifecycle"] = {int(n): b for n, b in LIFECYCLE.items()}
# Filter choices on the list page: (query value, label, enum number).
BOOTSTRAP_FILTERS = [(b.text, b.text, int(n)) for n, b in BOOTSTRAP.items() if n]
SUBDOMAIN_FILTERS = [(b.text.replace(" ", "_"), b.text, int(n)) for n, b in SUBDOMAIN.items() if n]
FINAL_BOOTSTRAP: set[int] = {
    pb.BOOTSTRAP_STATUS_COMPLETED,
    pb.BOOTSTRAP_STATUS_FAILED,
    pb.BOOTSTRAP_STATUS_CANCELLED,
}
FINAL_SUBDOMAIN: set[int] = {
    pb.SUBDOMAIN_STATUS_ACTIVE,
    pb.SUBDOMAIN_STATUS_FAILED,
    pb.SUBDOMAIN_STATUS_REMOVED,
}


def bootstrap_badge(status: int) -> Badge:
    return _BY_NUMBER["bootstrap"].get(status, BOOTSTRAP[pb.BOOTSTRAP_STATUS_UNSPECIFIED])


def subdomain_badge(status: int) -> Badge:
    return _BY_NUMBER["subdomain"].get(status, SUBDOMAIN[pb.SUBDOMAIN_STATUS_UNSPECIFIED])


def lifecycle_badge(status: int) -> Badge:
    return _BY_NUMBER["lifecycle"].get(status, LIFECYCLE[pb.LIFECYCLE_STATUS_UNSPECIFIED])


def step_badge(state: int) -> Badge:
    return _BY_NUMBER["step"].get(state, STEP[pb.STEP_STATE_UNSPECIFIED])


def is_final(bootstrap_status: int, subdomain_status: int) -> bool:
    """Nothing more will change without an operator (the watch ends here too)."""
    if bootstrap_status in (pb.BOOTSTRAP_STATUS_FAILED, pb.BOOTSTRAP_STATUS_CANCELLED):
        return True
    return bootstrap_status in FINAL_BOOTSTRAP and subdomain_status in FINAL_SUBDOMAIN


def when(stamp: Timestamp, *, has: bool = True) -> str:
    """A timestamp as operators read it (UTC, to the second); "" when unset."""
    if not has or (stamp.seconds == 0 and stamp.nanos == 0):
        return ""
    return datetime.fromtimestamp(stamp.seconds, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def step_title(name: str) -> str:
    return name.replace("_", " ").capitalize()
