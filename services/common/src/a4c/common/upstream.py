"""One retry loop for every call to an upstream API (Cloudflare, Zitadel).

The loop knows the deadline, the retry policy and the bookkeeping every upstream needs alike: stop
when the next wait would pass the deadline, honour a Retry-After up to the policy's limit, remember
whether a failed attempt may already have been applied (so a 409 or 404 on the repeat can be told
apart from "it was there before"), never repeat an attempt that may have been applied when the call
is not safe to repeat, and log each retry in one line without secrets. What an answer *means* is the
upstream's: each client passes a classifier that turns a response or a transport error into either
its result or a :class:`Failure` built from its own error hierarchy.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from a4c.common.deadline import Deadline
from a4c.common.metrics import Metrics, snake_case, url_template
from a4c.common.retry import RetryPolicy

log = logging.getLogger(__name__)

R = TypeVar("R")
T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class UpstreamError(Exception):
    """Base of each upstream client's error hierarchy. ``status`` is the HTTP status (None: no answer
    at all), ``retry_after`` the seconds the upstream asked us to wait (its Retry-After), if it did.
    Messages carry the upstream's codes and texts, never request headers or credentials."""

    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        # Set by the loop: an earlier attempt of the same call failed in a way that may have been
        # applied, so "already exists" / "not found" on this one may be that attempt's doing.
        self.after_uncertain_attempt = False


class DeadlineExceeded(Exception):
    """Handed to the classifier instead of an answer: the deadline passed before an attempt was sent
    (checked by the loop, or raised by ``send`` after a wait of its own, e.g. for a rate budget)."""


@dataclass(frozen=True)
class Failure:
    """What the classifier says of a failed attempt."""

    error: UpstreamError
    retry: bool = False  # worth another attempt
    retry_after: float | None = None  # the upstream said when (Retry-After), in seconds
    at_once: bool = False  # retry without waiting (e.g. with a freshly fetched token)
    maybe_applied: bool = False  # the attempt may have taken effect before its answer was lost

    @classmethod
    def of(cls, error: UpstreamError, *, maybe_applied: bool = False) -> Failure:
        """Retry exactly when the error's kind is retryable, after its retry-after if it has one."""
        return cls(error, retry=error.retryable, retry_after=error.retry_after, maybe_applied=maybe_applied)


class RetryLoop:
    """The loop for one upstream: its name in logs, its policy, the transport error its client raises."""

    def __init__(
        self,
        upstream: str,
        policy: RetryPolicy,
        transport_error: type[Exception],
        sleep: Sleep = asyncio.sleep,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``transport_error``: the base of what the HTTP client raises when no answer came (e.g.
        httpx.TransportError); those reach the classifier like answers, anything else the caller.
        ``metrics``: each attempt's duration and status, retries and failures by reason, labelled by
        the call's URL template (``what`` with its ids replaced), never the path itself."""
        self.upstream = upstream
        self.policy = policy
        self._caught: tuple[type[Exception], ...] = (DeadlineExceeded, transport_error)
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - backoff jitter, not cryptography
        self._metrics = metrics

    async def run(
        self,
        what: str,
        send: Callable[[], Awaitable[R]],
        classify: Callable[[R | Exception], T | Failure],
        *,
        deadline: Deadline,
        repeatable: bool = True,
    ) -> T:
        """Attempt ``send()`` until ``classify`` accepts an answer or gives up. ``what`` names the call
        in logs ("GET /zones"): never a header or a query string. ``repeatable`` says an attempt that
        may have been applied can be sent again (the call is idempotent or a duplicate is detected)."""
        uncertain = False
        attempt = 0
        method, _, path = what.partition(" ")
        template = url_template(path)
        while True:
            attempt += 1
            verdict = classify(await self._outcome(what, send, deadline, method, template))
            if not isinstance(verdict, Failure):
                return verdict
            error = verdict.error
            error.after_uncertain_attempt = uncertain
            delay = self._delay(verdict, attempt, repeatable)
            if delay is None or not deadline.allows(delay):
                self._count("upstream_give_ups", template, error)
                raise error
            self._count("upstream_retries", template, error)
            log.warning(
                "%s %s failed (%s); retry %d/%d in %.2fs",
                self.upstream,
                what,
                _describe(error),
                attempt,
                self.policy.max_attempts - 1,
                delay,
            )
            uncertain = uncertain or verdict.maybe_applied
            await self._sleep(delay)

    async def _outcome(
        self, what: str, send: Callable[[], Awaitable[R]], deadline: Deadline, method: str, template: str
    ) -> R | Exception:
        if deadline.expired:
            return DeadlineExceeded(f"{self.upstream} {what}: deadline exceeded before sending")
        started = time.perf_counter()
        try:
            outcome: R | Exception = await send()
        except self._caught as exc:
            outcome = exc
        if self._metrics is not None and not isinstance(outcome, DeadlineExceeded):  # nothing was sent
            status = getattr(outcome, "status_code", None)
            error = type(outcome).__name__ if isinstance(outcome, Exception) else ""
            self._metrics.http_client_duration.labels(
                self.upstream, method, template, "" if status is None else str(status), error
            ).observe(time.perf_counter() - started)
        return outcome

    def _count(self, counter: str, template: str, error: UpstreamError) -> None:
        if self._metrics is not None:
            instrument = getattr(self._metrics, counter)
            instrument.labels(self.upstream, template, snake_case(type(error).__name__)).inc()

    def _delay(self, failure: Failure, attempt: int, repeatable: bool) -> float | None:
        """Seconds to wait before the next attempt; None to give up with the failure's error."""
        if not failure.retry or attempt >= self.policy.max_attempts:
            return None
        if failure.maybe_applied and not repeatable:
            return None
        if failure.at_once:
            return 0.0
        if failure.retry_after is not None:
            return failure.retry_after if failure.retry_after <= self.policy.max_retry_after else None
        return self.policy.backoff(attempt, self._rng)


def _describe(error: UpstreamError) -> str:
    # The kind and status only: an upstream's message may echo input (names, addresses).
    status = f", HTTP {error.status}" if error.status else ""
    return f"{type(error).__name__}{status}"
