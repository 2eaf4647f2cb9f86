"""Per-principal limits a service declares for some of its methods; the auth interceptor enforces them.

- :class:`RateLimit`: a token bucket per principal (``per_minute`` sustained, ``burst`` at once). A
  refused call gets RESOURCE_EXHAUSTED with RetryInfo saying when the next token is due.
- :class:`StreamCap`: concurrent calls (long-lived streams) per principal and per server.

State is per process: with N replicas a principal may get N times the rate. That bounds the damage
of one credential (each bootstrap sends an email and spends Cloudflare budget) without a shared
store; a global quota would need one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RateLimit:
    per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, tuple[float, float]] = field(default_factory=dict, repr=False)

    def take(self, principal: str) -> float:
        """0 when the call may go ahead (a token is spent), else the seconds until one is due."""
        now = self.clock()
        rate = self.per_minute / 60.0
        tokens, at = self._buckets.get(principal, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * rate)
        if tokens >= 1.0:
            self._buckets[principal] = (tokens - 1.0, now)
            return 0.0
        self._buckets[principal] = (tokens, now)
        return (1.0 - tokens) / rate if rate > 0 else 60.0


@dataclass
class StreamCap:
    per_principal: int
    per_server: int
    _open: dict[str, int] = field(default_factory=dict, repr=False)

    @property
    def total(self) -> int:
        return sum(self._open.values())

    def acquire(self, principal: str) -> str | None:
        """None when a slot was taken (release it later), else which cap is reached."""
        if self.total >= self.per_server:
            return f"the server's limit of {self.per_server} concurrent calls"
        if self._open.get(principal, 0) >= self.per_principal:
            return f"the limit of {self.per_principal} concurrent calls per principal"
        self._open[principal] = self._open.get(principal, 0) + 1
        return None

    def release(self, principal: str) -> None:
        left = self._open.get(principal, 0) - 1
        if left > 0:
            self._open[principal] = left
        else:
            self._open.pop(principal, None)


Limit = RateLimit | StreamCap
