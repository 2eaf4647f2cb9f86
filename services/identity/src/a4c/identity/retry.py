"""Bounded retries with jittered exponential backoff, and the deadline a whole operation runs under."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    """``max_attempts`` in all; between them ``base_delay`` doubling up to ``max_delay``, jittered."""

    max_attempts: int = 5
    base_delay: float = 0.2
    max_delay: float = 5.0
    # A retry-after longer than this is not waited for: the caller hears RESOURCE_EXHAUSTED instead.
    max_retry_after: float = 30.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Delay before attempt ``attempt + 1`` (attempts count from 1). Half fixed, half random, so
        many callers spread out yet never retry at once."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)
