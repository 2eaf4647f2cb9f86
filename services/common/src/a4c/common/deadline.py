"""Pass the caller's deadline on to downstream calls.

gRPC does not propagate deadlines across our own outbound HTTP or gRPC calls, and the channel's
service-config timeout fires early (grpc/grpc#34547), so each hop computes its own budget here.
"""

from __future__ import annotations

from typing import Protocol


class _HasTimeRemaining(Protocol):
    def time_remaining(self) -> float | None: ...


def downstream_timeout(
    context: _HasTimeRemaining, *, default: float, margin: float = 0.25, minimum: float = 0.05
) -> float:
    """Seconds a downstream call may take: the caller's remaining time less a margin for our own reply.

    When the caller set no deadline the default applies; the result never drops below `minimum`, so a
    nearly-expired call still fails fast downstream instead of passing a zero or negative timeout.
    """
    remaining = context.time_remaining()
    if remaining is None:
        return default
    return max(min(remaining - margin, default), minimum)
