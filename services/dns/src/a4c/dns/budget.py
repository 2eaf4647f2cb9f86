"""Rate-limit discipline for the Cloudflare client: a request budget and jittered backoff.

Cloudflare allows 1,200 requests per 5 minutes per token across all clients and, once exceeded,
blocks every call for 5 minutes. So the client counts its own requests (retries included) in a
sliding window and waits for a free slot instead of sending; after a 429 it pauses every caller
until ``retry-after`` has passed. The budget is per process: with several replicas sharing a token,
give each a share (CLOUDFLARE_MAX_REQUESTS_PER_5MIN) so their sum stays under Cloudflare's limit.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque

from a4c.common.deadline import Clock, Deadline
from a4c.common.metrics import Metrics
from a4c.common.upstream import Sleep

WINDOW_SECONDS = 300.0


class BudgetExhausted(Exception):
    """No request slot frees up before the caller's deadline; ``wait`` says when one will."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"client-side request budget exhausted; next slot in {wait:.1f}s")
        self.wait = wait


class RequestBudget:
    """At most ``limit`` requests in any ``window`` seconds, shared by every call of the process."""

    def __init__(
        self,
        limit: int,
        window: float = WINDOW_SECONDS,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        metrics: Metrics | None = None,
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._paused_until = 0.0
        self._lock = asyncio.Lock()
        self._observed = _BudgetMetrics(self, metrics) if metrics is not None else None

    @property
    def used(self) -> int:
        self._expire(self._clock())
        return len(self._sent)

    def pause(self, seconds: float) -> None:
        """Hold every caller back for ``seconds`` (the upstream said 429 + retry-after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        if self._observed is not None:
            self._observed.pauses.inc()

    async def acquire(self, deadline: Deadline | None = None) -> None:
        """Take one slot, waiting for it when that fits before ``deadline``."""
        waited = 0.0
        try:
            async with self._lock:  # one waiter at a time keeps slots first come, first served
                while True:
                    now = self._clock()
                    wait = self._wait(now)
                    if wait <= 0:
                        self._sent.append(now)
                        return
                    if deadline is not None and wait > deadline.remaining():
                        if self._observed is not None:
                            self._observed.exhausted.inc()
                        raise BudgetExhausted(wait)
                    await self._sleep(wait)
                    waited += wait
        finally:
            if self._observed is not None and waited:
                self._observed.waits.observe(waited)

    def _wait(self, now: float) -> float:
        self._expire(now)
        paused = self._paused_until - now
        full = self._sent[0] + self.window - now if len(self._sent) >= self.limit else 0.0
        return max(paused, full, 0.0)

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0] <= now - self.window:
            self._sent.popleft()


class _BudgetMetrics:
    """The budget as an operator sees it: slots used of the limit (read at scrape time), waits, pauses."""

    def __init__(self, budget: RequestBudget, metrics: Metrics) -> None:
        used = metrics.gauge(
            "a4c_cloudflare_budget_requests_used", "Cloudflare requests sent in the last 5 minutes"
        )
        used.set_function(lambda: budget.used)
        limit = metrics.gauge(
            "a4c_cloudflare_budget_requests_limit", "This replica's Cloudflare request budget per 5 minutes"
        )
        limit.set(budget.limit)
        self.waits = metrics.histogram(
            "a4c_cloudflare_budget_wait_seconds",
            "Time a request waited for a budget slot or a 429 pause (only requests that waited)",
        )
        self.exhausted = metrics.counter(
            "a4c_cloudflare_budget_exhausted", "Requests refused: no slot before the caller's deadline"
        )
        self.pauses = metrics.counter(
            "a4c_cloudflare_rate_limit_pauses", "429 answers that paused every caller for its retry-after"
        )
