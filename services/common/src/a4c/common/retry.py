"""Bounded retries with jittered exponential backoff, for the clients of upstream HTTP APIs.

Each upstream client (Cloudflare, Zitadel) keeps its own numbers — how many attempts, how long a
retry-after it will wait for — but the shape of a retry is the same everywhere, so it lives here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


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
