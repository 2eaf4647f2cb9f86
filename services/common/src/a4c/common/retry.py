"""Bounded retries with jittered exponential backoff, and the Retry-After header, for upstream APIs.

Each upstream client (Cloudflare, Zitadel) keeps its own numbers — how many attempts, how long a
retry-after it will wait for — but the shape of a retry is the same everywhere, so it lives here
(the loop itself is :mod:`a4c.common.upstream`).
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` in all; between them ``base_delay`` doubling up to ``max_delay``, jittered."""

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    # One call never waits longer than this for a retry-after: it fails with the retry-after instead
    # (RESOURCE_EXHAUSTED with RetryInfo), so the caller's own retry policy decides.
    max_retry_after: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt ``attempt + 1`` (attempts count from 1): equal jitter, half fixed and
        half random, so many callers spread out yet never come back immediately."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


def parse_retry_after(value: str | None, *, now: Callable[[], float] = time.time) -> float | None:
    """A Retry-After header (RFC 9110 §10.2.3) as seconds from ``now()`` (wall clock: the date form
    is absolute), in either form: delta-seconds (``"120"``; fractions are accepted too, as the
    sandboxes send them) or an HTTP-date (``"Wed, 21 Oct 2026 07:28:00 GMT"``, 0 once past).
    None when absent or unreadable: the caller then falls back to its own backoff."""
    raw = (value or "").strip()
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        return _seconds_until(raw, now)
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _seconds_until(http_date: str, now: Callable[[], float]) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000": RFC 5322's "UTC, origin unknown"; HTTP-dates are always GMT
        when = when.replace(tzinfo=UTC)
    return max(when.timestamp() - now(), 0.0)
