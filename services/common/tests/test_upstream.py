"""The one retry loop for upstream calls, on a fake clock whose sleep advances it (no real waits)."""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable

import pytest

from a4c.common.deadline import Deadline
from a4c.common.retry import RetryPolicy
from a4c.common.upstream import DeadlineExceeded, Failure, RetryLoop, UpstreamError

POLICY = RetryPolicy(max_attempts=4, base_delay=0.5, max_delay=8.0, max_retry_after=60.0)
SECRET = "Bearer s3cr3t-token"


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Lost(Exception):
    """A transport error: the connection dropped."""


class Throttled(UpstreamError):
    retryable = True


class Broken(UpstreamError):
    retryable = True


class Refused(UpstreamError):
    pass


Outcome = str | Exception


def scripted(*outcomes: Outcome) -> tuple[Callable[[], Awaitable[Outcome]], list[int]]:
    """A send that answers ``outcomes`` in turn (raising the exceptions), and its call count."""
    queue, sent = list(outcomes), [0]

    async def send() -> Outcome:
        sent[0] += 1
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return send, sent


def classify(outcome: Outcome | Exception) -> str | Failure:
    """The answers: "ok", "429 <seconds>", "503", "500" (may have acted), "400"; Lost / DeadlineExceeded."""
    if isinstance(outcome, DeadlineExceeded):
        return Failure(Broken(str(outcome)))
    if isinstance(outcome, Lost):
        return Failure.of(Broken("connection lost"), maybe_applied=True)
    assert isinstance(outcome, str)
    if outcome == "ok":
        return outcome
    status, _, after = outcome.partition(" ")
    if status == "429":
        return Failure.of(Throttled(SECRET, retry_after=float(after) if after else None, status=429))
    if status in ("503", "500"):
        return Failure.of(Broken(SECRET, status=int(status)), maybe_applied=status == "500")
    return Failure.of(Refused(SECRET, status=int(status)))


@pytest.fixture
def time() -> FakeTime:
    return FakeTime()


def loop(time: FakeTime, policy: RetryPolicy = POLICY) -> RetryLoop:
    return RetryLoop("upstream", policy, Lost, sleep=time.sleep, rng=random.Random(7))


async def test_transient_failures_are_ridden_out_with_growing_jittered_backoff(time: FakeTime) -> None:
    send, sent = scripted("503", Lost(), "503", "ok")

    answer = await loop(time).run("GET /x", send, classify, deadline=Deadline.after(60, clock=time))

    assert (answer, sent[0]) == ("ok", 4)
    first, second, third = time.sleeps
    assert 0.25 <= first <= 0.5
    assert 0.5 <= second <= 1.0
    assert 1.0 <= third <= 2.0


async def test_retry_after_is_waited_for_exactly(time: FakeTime) -> None:
    send, _ = scripted("429 1.5", "429 3", "ok")

    assert await loop(time).run("GET /x", send, classify, deadline=Deadline.after(60, clock=time)) == "ok"
    assert time.sleeps == [1.5, 3.0]


async def test_a_retry_after_beyond_the_policy_goes_back_to_the_caller_at_once(time: FakeTime) -> None:
    send, sent = scripted("429 61", "ok")

    with pytest.raises(Throttled):
        await loop(time).run("GET /x", send, classify, deadline=Deadline.after(600, clock=time))
    assert (time.sleeps, sent[0]) == ([], 1)


async def test_a_wait_that_would_pass_the_deadline_is_not_started(time: FakeTime) -> None:
    send, sent = scripted("429 5", "ok")

    with pytest.raises(Throttled):
        await loop(time).run("GET /x", send, classify, deadline=Deadline.after(4, clock=time))
    assert (time.sleeps, sent[0]) == ([], 1)


async def test_an_expired_deadline_is_classified_without_sending(time: FakeTime) -> None:
    send, sent = scripted("ok")
    deadline = Deadline.after(1, clock=time)
    time.now = 2.0

    with pytest.raises(Broken, match="deadline exceeded before sending"):
        await loop(time).run("GET /x", send, classify, deadline=deadline)
    assert sent[0] == 0


async def test_a_send_may_report_the_deadline_spent_in_a_wait_of_its_own(time: FakeTime) -> None:
    async def send() -> Outcome:
        time.now += 10  # e.g. waiting for a rate-budget slot
        raise DeadlineExceeded("GET /x: deadline exceeded before sending")

    with pytest.raises(Broken, match="deadline exceeded"):
        await loop(time).run("GET /x", send, classify, deadline=Deadline.after(5, clock=time))


async def test_the_attempts_are_bounded_and_the_last_error_raised(time: FakeTime) -> None:
    send, sent = scripted("503", "503", "503", "503", "ok")

    with pytest.raises(Broken) as raised:
        await loop(time).run("GET /x", send, classify, deadline=Deadline.after(600, clock=time))
    assert (raised.value.status, sent[0], len(time.sleeps)) == (503, 4, 3)


async def test_permanent_errors_are_not_retried(time: FakeTime) -> None:
    send, sent = scripted("400", "ok")

    with pytest.raises(Refused):
        await loop(time).run("POST /x", send, classify, deadline=Deadline.after(60, clock=time))
    assert sent[0] == 1


async def test_an_error_after_a_maybe_applied_attempt_says_so(time: FakeTime) -> None:
    send, _ = scripted("500", "400")

    with pytest.raises(Refused) as raised:
        await loop(time).run("POST /x", send, classify, deadline=Deadline.after(60, clock=time))
    assert raised.value.after_uncertain_attempt


async def test_an_error_after_refused_attempts_only_is_not_uncertain(time: FakeTime) -> None:
    send, _ = scripted("503", "429 1", "400")

    with pytest.raises(Refused) as raised:
        await loop(time).run("POST /x", send, classify, deadline=Deadline.after(60, clock=time))
    assert not raised.value.after_uncertain_attempt


async def test_a_call_not_safe_to_repeat_stops_after_a_maybe_applied_attempt(time: FakeTime) -> None:
    send, sent = scripted(Lost(), "ok")

    with pytest.raises(Broken, match="connection lost"):
        await loop(time).run(
            "POST /mail", send, classify, deadline=Deadline.after(60, clock=time), repeatable=False
        )
    assert sent[0] == 1


async def test_a_call_not_safe_to_repeat_still_retries_a_refusal(time: FakeTime) -> None:
    send, sent = scripted("503", "ok")

    answer = await loop(time).run(
        "POST /mail", send, classify, deadline=Deadline.after(60, clock=time), repeatable=False
    )
    assert (answer, sent[0]) == ("ok", 2)


async def test_retry_at_once_does_not_wait(time: FakeTime) -> None:
    send, sent = scripted("401", "ok")

    def fresh_token_once(outcome: Outcome | Exception) -> str | Failure:
        if outcome == "401":
            return Failure(Refused("token rejected", status=401), retry=True, at_once=True)
        return classify(outcome)

    answer = await loop(time).run("GET /x", send, fresh_token_once, deadline=Deadline.after(60, clock=time))
    assert (answer, sent[0], time.sleeps) == ("ok", 2, [0.0])


async def test_other_exceptions_reach_the_caller_unclassified(time: FakeTime) -> None:
    send, _ = scripted(KeyError("bug"))

    with pytest.raises(KeyError):
        await loop(time).run("GET /x", send, classify, deadline=Deadline.after(60, clock=time))


async def test_each_retry_is_logged_once_without_the_error_text(
    time: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="a4c.common.upstream")
    send, _ = scripted("503", "429 2", "ok")

    await loop(time).run("GET /zones", send, classify, deadline=Deadline.after(60, clock=time))

    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2
    assert lines[0].startswith("upstream GET /zones failed (Broken, HTTP 503); retry 1/3 in ")
    assert lines[1] == "upstream GET /zones failed (Throttled, HTTP 429); retry 2/3 in 2.00s"
    assert SECRET not in caplog.text
