"""One absolute deadline, built once at the edge and passed unchanged through every layer.

gRPC does not propagate deadlines across our own outbound HTTP or gRPC calls, and the channel's
service-config timeout fires early (grpc/grpc#34547), so the servicer turns the caller's deadline into
a :class:`Deadline` once, less a margin for our own reply, and hands that same value down: use case →
upstream client → retry loop → HTTP attempt. Only the last hop asks for ``remaining()`` seconds, the
form httpx, asyncpg and dnspython want. Converting at each hop instead lets every layer drift by its
own rounding and re-apply its own default.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

Clock = Callable[[], float]


class _HasTimeRemaining(Protocol):
    def time_remaining(self) -> float | None: ...


@dataclass(frozen=True)
class Deadline:
    """The moment ``at`` on ``clock`` (monotonic seconds by default; tests inject a fake clock)."""

    at: float
    clock: Clock = field(default=time.monotonic, compare=False, repr=False)

    @classmethod
    def after(cls, seconds: float, *, clock: Clock = time.monotonic) -> Deadline:
        return cls(clock() + seconds, clock)

    @classmethod
    def from_context(
        cls,
        context: _HasTimeRemaining,
        *,
        default: float,
        margin: float = 0.25,
        minimum: float = 0.05,
        clock: Clock = time.monotonic,
    ) -> Deadline:
        """The caller's deadline less ``margin`` for our own reply, never later than ``default``.

        When the caller set no deadline the default applies; the budget never drops below
        ``minimum``, so a nearly-expired call still fails fast downstream instead of passing a zero
        or negative timeout.
        """
        remaining = context.time_remaining()
        seconds = default if remaining is None else max(min(remaining - margin, default), minimum)
        return cls.after(seconds, clock=clock)

    def remaining(self) -> float:
        """Seconds left, never negative: the timeout to give the next (last-hop) call."""
        return max(self.at - self.clock(), 0.0)

    @property
    def expired(self) -> bool:
        return self.clock() >= self.at

    def allows(self, delay: float) -> bool:
        """Whether waiting ``delay`` seconds still leaves time for another attempt."""
        return self.clock() + delay < self.at

    def within(self, seconds: float) -> Deadline:
        """This deadline or ``seconds`` from now, whichever comes first (a shorter inner window)."""
        return Deadline(min(self.at, self.clock() + seconds), self.clock)
