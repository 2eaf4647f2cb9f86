"""What reached an emulator, and when: the record a test reads to check an upstream's rate held.

A rate limit spread over many processes (every worker replica, every DNS or identity replica) can
only be checked where the requests arrive. Each emulator keeps the time, method, path and status of
every request (the control endpoints excluded), newest last, and serves them:

``GET /_sandbox/requests``            ``{"requests": [[unix_time, method, path, status], ...]}``
``GET /_sandbox/requests?since=T``    only those at or after unix time T
``DELETE /_sandbox/requests``         forget them

Requests the emulator refused (its own 429s, injected faults) are kept too: they reached the
upstream, and a real one counts them against the caller. Paths carry ids but never a query string
or a header, so the log holds no credential.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import parse_qs

REQUESTS_PATH = "/_sandbox/requests"
# Enough for a long local session; the oldest entries go first.
DEFAULT_CAPACITY = 200_000


@dataclass(frozen=True)
class LoggedRequest:
    at: float  # unix time the request arrived
    method: str
    path: str
    status: int  # 0: no answer was sent (a dropped connection)


class RequestLog:
    """A bounded, thread-safe list of the requests an emulator saw (tests read it from any thread)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY, clock: Callable[[], float] = time.time) -> None:
        self._entries: deque[LoggedRequest] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._clock = clock

    def now(self) -> float:
        return self._clock()

    def add(self, at: float, method: str, path: str, status: int) -> None:
        with self._lock:
            self._entries.append(LoggedRequest(at, method, path, status))

    def entries(self, since: float | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [e for e in self._entries if since is None or e.at >= since]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self, query_string: bytes = b"") -> dict[str, list[list[object]]]:
        """The control endpoint's answer; ``since`` (unix time) from the query string."""
        since_values = parse_qs(query_string.decode("latin-1")).get("since")
        since = float(since_values[0]) if since_values else None
        return {"requests": [[e.at, e.method, e.path, e.status] for e in self.entries(since)]}


def busiest_window(times: Iterable[float], window_seconds: float) -> int:
    """The most requests in any window of ``window_seconds`` (each window starting at a request)."""
    stamps = sorted(times)
    most, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamps[start] <= stamp - window_seconds:
            start += 1
        most = max(most, end - start + 1)
    return most
