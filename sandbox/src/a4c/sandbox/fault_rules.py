"""Fault rules, the rate limiter and the decisions they make, for :mod:`a4c.sandbox.faults`.

Kept apart from the ASGI middleware so the rules can be built, parsed and decided on (with a fake
clock) without a server.
"""

from __future__ import annotations

import fnmatch
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

FaultKind = Literal["latency", "status", "drop"]


class FaultConfigError(ValueError):
    """A fault rule or rate limit that cannot be applied; the message names the field."""


@dataclass
class FaultRule:
    """One injected behaviour for requests matching ``method`` and the ``path`` pattern."""

    kind: FaultKind
    path: str = "*"
    method: str | None = None
    # Requests left to affect; None means until cleared (the default for latency only).
    count: int | None = None
    status: int = 0
    retry_after: float | None = None
    # Status and drop rules: let the request reach the app first and lose its answer (the change
    # is applied, the client never hears of it), to test that retries never act twice.
    after: bool = False
    min_seconds: float = 0.0
    max_seconds: float = 0.0

    def matches(self, method: str, path: str) -> bool:
        if self.count is not None and self.count <= 0:
            return False
        if self.method is not None and self.method != method:
            return False
        return fnmatch.fnmatchcase(path, self.path)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FaultRule:
        """Parse and validate one rule as documented in the module docstring."""
        kind = data.get("kind")
        if kind not in ("latency", "status", "drop"):
            raise FaultConfigError("kind: must be one of latency, status, drop")
        method = data.get("method")
        rule = cls(
            kind=kind,
            path=_str(data, "path", "*"),
            method=method.upper() if isinstance(method, str) else None,
            count=_opt_int(data, "count", 1 if kind != "latency" else None),
            after=_bool(data, "after"),
        )
        if kind == "latency":
            if "seconds" in data:
                rule.min_seconds = rule.max_seconds = _seconds(data, "seconds")
            else:
                rule.min_seconds = _seconds(data, "min_seconds")
                rule.max_seconds = _seconds(data, "max_seconds")
            if rule.max_seconds < rule.min_seconds:
                raise FaultConfigError("max_seconds: must not be below min_seconds")
        elif kind == "status":
            status = data.get("status")
            if not isinstance(status, int) or not (status == 429 or 500 <= status <= 599):
                raise FaultConfigError("status: must be 429 or a 5xx code")
            rule.status = status
            if status == 429:
                rule.retry_after = _seconds(data, "retry_after", 1.0)
        return rule


@dataclass(frozen=True)
class RateLimit:
    """At most ``limit`` requests per credential in any ``window_seconds``; once exceeded, every call
    is refused for ``block_seconds`` when that is set (Cloudflare blocks for five minutes)."""

    limit: int
    window_seconds: float
    block_seconds: float = 0.0

    @classmethod
    def from_json(cls, data: Mapping[str, Any], name: str = "rate_limit") -> RateLimit:
        limit = data.get("limit")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise FaultConfigError(f"{name}.limit: must be a positive integer")
        window = _seconds(data, "window_seconds")
        if window <= 0:
            raise FaultConfigError(f"{name}.window_seconds: must be positive")
        return cls(limit, window, _seconds(data, "block_seconds", 0.0))


@dataclass(frozen=True)
class Quota:
    """Where a caller stands in the per-credential limit after a request, for rate-limit headers:
    the policy, the requests left in the window and the seconds until the window frees a slot."""

    limit: RateLimit
    remaining: int
    reset_seconds: int


@dataclass(frozen=True)
class Decision:
    """What the middleware does with one request: wait ``delay`` then answer, drop, or pass on."""

    delay: float = 0.0
    action: Literal["pass", "respond", "drop"] = "pass"
    status: int = 0
    reason: str = ""
    retry_after: float | None = None
    after: bool = False
    # The per-credential limit's state after this request (None when no such limit is set).
    quota: Quota | None = None


@dataclass(frozen=True)
class InjectedDelay:
    """One latency the sandbox added: to which request, how long, from when (wall clock, so a
    benchmark on the same host can place it on its own timeline)."""

    method: str
    path: str
    seconds: float
    at: float


# The injected delays kept for GET /_sandbox/faults (the oldest go first): a benchmark's runs.
DELAY_LOG_SIZE = 10_000


@dataclass
class _Window:
    stamps: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


class Faults:
    """The fault state of one emulator. Thread-safe: tests may change it while the server runs
    in another thread."""

    def __init__(
        self,
        rules: Iterable[FaultRule] = (),
        rate_limit: RateLimit | None = None,
        *,
        ip_rate_limit: RateLimit | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = list(rules)
        self._initial_rate_limit = rate_limit
        self._rate_limit = rate_limit
        # A second limit counted per client address, whatever the credential (Cloudflare: 200/s per IP).
        self._initial_ip_rate_limit = ip_rate_limit
        self._ip_rate_limit = ip_rate_limit
        self._windows: dict[str, _Window] = {}
        self._clock = clock
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.injected: dict[str, int] = {}
        self._wall = wall
        self.delays: deque[InjectedDelay] = deque(maxlen=DELAY_LOG_SIZE)

    def add(self, *rules: FaultRule) -> None:
        with self._lock:
            self._rules.extend(rules)

    def set_rate_limit(self, rate_limit: RateLimit | None) -> None:
        with self._lock:
            self._rate_limit = rate_limit
            self._windows.clear()

    def set_ip_rate_limit(self, rate_limit: RateLimit | None) -> None:
        with self._lock:
            self._ip_rate_limit = rate_limit
            self._windows.clear()

    def clear(self) -> None:
        """Drop every rule and the rate-limit history; the rate limit from start stays in force."""
        with self._lock:
            self._rules.clear()
            self._rate_limit = self._initial_rate_limit
            self._ip_rate_limit = self._initial_ip_rate_limit
            self._windows.clear()
            self.injected.clear()
            self.delays.clear()

    def configure(self, data: Mapping[str, Any]) -> None:
        """Apply a control-endpoint body: validated as a whole before anything changes."""
        raw_rules = data.get("faults", [])
        if not isinstance(raw_rules, list) or not all(isinstance(r, Mapping) for r in raw_rules):
            raise FaultConfigError("faults: must be a list of objects")
        rules = [FaultRule.from_json(r) for r in raw_rules]
        limits = {key: _limit(data, key) for key in ("rate_limit", "ip_rate_limit")}
        self.add(*rules)
        if limits["rate_limit"] is not ...:
            self.set_rate_limit(limits["rate_limit"])
        if limits["ip_rate_limit"] is not ...:
            self.set_ip_rate_limit(limits["ip_rate_limit"])

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "faults": [asdict(r) for r in self._rules if r.count is None or r.count > 0],
                "rate_limit": asdict(self._rate_limit) if self._rate_limit else None,
                "ip_rate_limit": asdict(self._ip_rate_limit) if self._ip_rate_limit else None,
                "injected": dict(self.injected),
                "delays": [asdict(d) for d in self.delays],
            }

    def decide(self, method: str, path: str, credential: str, client: str = "") -> Decision:
        """Consume the matching rules for one request and say what to do with it."""
        with self._lock:
            delay = 0.0
            for rule in self._rules:
                if rule.kind == "latency" and rule.matches(method, path):
                    delay = self._rng.uniform(rule.min_seconds, rule.max_seconds)
                    self._consume(rule)
                    self.delays.append(InjectedDelay(method, path, delay, self._wall()))
                    break
            for rule in self._rules:
                if rule.kind != "latency" and rule.matches(method, path):
                    self._consume(rule)
                    if rule.kind == "drop":
                        return Decision(delay, "drop", after=rule.after)
                    reason = "rate_limited" if rule.status == 429 else "server_error"
                    return Decision(delay, "respond", rule.status, reason, rule.retry_after, rule.after)
            for limit, key in ((self._ip_rate_limit, f"ip:{client}"), (self._rate_limit, credential)):
                wait = self._over_limit(limit, key)
                if wait is not None:
                    self._count("rate_limited")
                    retry = float(max(1, math.ceil(wait)))
                    return Decision(
                        delay, "respond", 429, "rate_limited", retry, quota=self._quota(credential)
                    )
            return Decision(delay, quota=self._quota(credential))

    def _quota(self, credential: str) -> Quota | None:
        limit = self._rate_limit
        if limit is None:
            return None
        window = self._windows.get(credential, _Window())
        now = self._clock()
        if now < window.blocked_until:
            return Quota(limit, 0, math.ceil(window.blocked_until - now))
        remaining = max(0, limit.limit - len(window.stamps))
        oldest = window.stamps[0] if window.stamps else now
        return Quota(limit, remaining, max(0, math.ceil(oldest + limit.window_seconds - now)))

    def _consume(self, rule: FaultRule) -> None:
        if rule.count is not None:
            rule.count -= 1
        self._count(rule.kind if rule.kind != "status" else str(rule.status))

    def _count(self, what: str) -> None:
        self.injected[what] = self.injected.get(what, 0) + 1

    def _over_limit(self, limit: RateLimit | None, key: str) -> float | None:
        """Sliding window per key; returns the seconds to wait when over the limit."""
        if limit is None:
            return None
        now = self._clock()
        window = self._windows.setdefault(key, _Window())
        if now < window.blocked_until:
            return window.blocked_until - now
        while window.stamps and window.stamps[0] <= now - limit.window_seconds:
            window.stamps.popleft()
        if len(window.stamps) >= limit.limit:
            if limit.block_seconds > 0:
                window.blocked_until = now + limit.block_seconds
                return limit.block_seconds
            return window.stamps[0] + limit.window_seconds - now
        window.stamps.append(now)
        return None


def _limit(data: Mapping[str, Any], key: str) -> Any:
    """The rate limit under ``key``: a RateLimit, None (off) or ... (not given: leave as is)."""
    raw = data.get(key, ...)
    if raw is ... or raw is None:
        return raw
    if not isinstance(raw, Mapping):
        raise FaultConfigError(f"{key}: must be an object or null")
    return RateLimit.from_json(raw, key)


def _str(data: Mapping[str, Any], key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise FaultConfigError(f"{key}: must be a non-empty string")
    return value


def _bool(data: Mapping[str, Any], key: str) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        raise FaultConfigError(f"{key}: must be true or false")
    return value


def _opt_int(data: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FaultConfigError(f"{key}: must be a positive integer")
    return value


def _seconds(data: Mapping[str, Any], key: str, default: float | None = None) -> float:
    value = data.get(key, default)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value) or value < 0:
        raise FaultConfigError(f"{key}: must be a number of seconds >= 0")
    return float(value)
