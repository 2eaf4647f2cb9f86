"""Which task queue each activity runs on, and how fast Temporal may hand out each upstream's tasks.

Workflow tasks and the event-store appends (local activities, run by the workflow's own worker) stay
on the main queue (TEMPORAL_TASK_QUEUE). Activities that reach an upstream through our services run
on a queue of that upstream: Cloudflare (the DNS service's record calls), Zitadel (the identity
service) and the zone's nameservers (the DNS service's propagation checks). Each upstream queue
carries Temporal's server-side rate limit (the worker option `max_task_queue_activities_per_second`):
the matching service dispatches at most that many of the queue's activity tasks per second to all
its workers together, however many replicas poll it. The services' own per-process budgets
(CLOUDFLARE_MAX_REQUESTS_PER_5MIN...) stay as the second line.

This module is the one place that routes: workflows schedule through `activity_queue` (the worker's
a4c.worker.tracking does), and workers pick what to serve with `served_by` — a new activity is
added to ACTIVITY_UPSTREAMS or it runs nowhere (a worker test checks every registered activity is
routed).

Queue names derive from the workflow's own queue (`<main>-cloudflare`...), so a workflow finds its
upstream queues from `workflow.info().task_queue` (deterministic: it is in the history) and two
stacks on one Temporal server (the tests) never share a queue.

Temporal's determinism check compares an activity command's type and id with the history, not its
task queue (the replay tests replay histories recorded on the main queue), so moving activities to
these queues needs no patch: a running workflow schedules its next activities on the new queues.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from temporalio import activity


class Queue(StrEnum):
    """The task queues a worker can serve (A4C_WORKER_QUEUES names them)."""

    MAIN = "main"  # workflow tasks; the appends and policy checks run in them as local activities
    CLOUDFLARE = "cloudflare"
    ZITADEL = "zitadel"
    NAMESERVERS = "nameservers"


UPSTREAM_QUEUES = (Queue.CLOUDFLARE, Queue.ZITADEL, Queue.NAMESERVERS)

# Every activity by its registered name. Local activities run inside the workflow task, so they are
# MAIN whatever they touch (they reach only PostgreSQL).
ACTIVITY_UPSTREAMS: dict[str, Queue] = {
    "record_event": Queue.MAIN,
    "check_bootstrap_policy": Queue.MAIN,
    "check_subdomain_policy": Queue.MAIN,
    "check_offboarding_policy": Queue.MAIN,
    # Offboarding cancels the subdomain workflow through the worker's Temporal client: no upstream.
    "stop_subdomain_workflow": Queue.MAIN,
    "create_identity_organization": Queue.ZITADEL,
    "grant_admin_role": Queue.ZITADEL,
    "send_invitation": Queue.ZITADEL,
    "send_admin_invitation": Queue.ZITADEL,
    "delete_identity_organization": Queue.ZITADEL,
    "deactivate_identity_organization": Queue.ZITADEL,
    "reactivate_identity_organization": Queue.ZITADEL,
    "delete_offboarded_identity_organization": Queue.ZITADEL,
    "create_dns_record": Queue.CLOUDFLARE,
    "remove_dns_record": Queue.CLOUDFLARE,
    "remove_owned_dns_records": Queue.CLOUDFLARE,
    "check_propagation": Queue.NAMESERVERS,
    # The drift reconciler: a batch is one or a few Cloudflare list pages (plus a Zitadel search page
    # or two), so it queues behind Cloudflare's limit, the scarcer of the two.
    "reconcile_batch": Queue.CLOUDFLARE,
    "reconcile_orphans": Queue.CLOUDFLARE,
}


class UnroutedActivity(LookupError):
    """An activity nobody said a queue for: add it to ACTIVITY_UPSTREAMS."""


def task_queue(main: str, queue: Queue) -> str:
    """The Temporal task queue of `queue` for workflows on `main`."""
    return main if queue is Queue.MAIN else f"{main}-{queue.value}"


def activity_name(method: Callable[..., Any]) -> str:
    """The registered name of an `@activity.defn` function or method."""
    # The SDK's own lookup (execute_activity_method resolves names the same way); a dynamic
    # activity (no name) could be anything, so it is routed nowhere.
    name = activity._Definition.must_from_callable(method).name
    if name is None:
        raise UnroutedActivity("a dynamic activity has no name to route by")
    return name


def queue_of(name: str) -> Queue:
    try:
        return ACTIVITY_UPSTREAMS[name]
    except KeyError:
        raise UnroutedActivity(f"activity {name!r} has no task queue in a4c.workflows.queues") from None


def activity_queue(method: Callable[..., Any], main: str) -> str:
    """Where a workflow on `main` schedules `method` (an activity)."""
    return task_queue(main, queue_of(activity_name(method)))


def served_by(activities: Iterable[Callable[..., Any]], queue: Queue) -> list[Callable[..., Any]]:
    """The activities among `activities` that run on `queue`."""
    return [fn for fn in activities if queue_of(activity_name(fn)) is queue]


# -- the rate limits ------------------------------------------------------------------------------


@dataclass(frozen=True)
class UpstreamLimit:
    """An upstream's documented request limit and what one activity on its queue costs of it.

    activities/s = requests / window * share / requests_per_activity, rounded down to 0.01.
    `requests_per_activity` is the most upstream requests one attempt of any activity on the queue
    makes (counted from the sandbox's request log, `GET /_sandbox/requests`, over a bootstrap and
    a compensation); `share` keeps the rest of the limit for what the queue does not see: the
    services' own retries of a 429 or 5xx, their start-up lookups, and other clients of the same
    account or address.
    """

    requests: float
    window_seconds: float
    requests_per_activity: int
    share: float = 0.8

    @property
    def activities_per_second(self) -> float:
        rate = self.requests / self.window_seconds * self.share / self.requests_per_activity
        return math.floor(rate * 100) / 100


# Cloudflare: 1,200 requests per 5 minutes per user/token, every client together (then 5 minutes of
# 429 for everything); also 200 per second per IP, far above this. developers.cloudflare.com/api/limits.
# Per activity: create_dns_record lists the name and POSTs (2; a conflict lists again: 3),
# remove_dns_record lists, reads and DELETEs (3). 1200/300 * 0.8 / 3 = 1.06 activities/s, so all
# replicas together stay at or under 3.2 requests/s, 960 per 5 minutes.
CLOUDFLARE = UpstreamLimit(requests=1200, window_seconds=300, requests_per_activity=3)
# Zitadel Cloud: 50 requests per second per IP over a minute on every API path (then a one-minute
# ban; zitadel.com/docs/legal/policies/rate-limit-policy, Feb 2025; self-hosted has no limit). Per
# activity: create_identity_organization reads, adds, reads back and marks the org (4);
# grant_admin_role reads the org and its mark, the user, the project (once per identity process),
# then the project grant and the user grant (6); send_invitation reads the user and its record,
# invites and records (4). 50/1 * 0.8 / 6 = 6.66 activities/s, at most 40 requests/s.
ZITADEL = UpstreamLimit(requests=50, window_seconds=1, requests_per_activity=6)
# The zone's nameservers have no documented limit (Cloudflare's authoritative DNS publishes none per
# client). A check asks every nameserver once (a Cloudflare zone has 2): 20 checks/s keeps a backlog of
# verifications (hundreds of new tenants at once) from flooding them; it is policy, not a quota.
NAMESERVER_CHECKS_PER_SECOND = 20.0

DEFAULT_RATES: dict[Queue, float] = {
    Queue.CLOUDFLARE: CLOUDFLARE.activities_per_second,
    Queue.ZITADEL: ZITADEL.activities_per_second,
    Queue.NAMESERVERS: NAMESERVER_CHECKS_PER_SECOND,
}
