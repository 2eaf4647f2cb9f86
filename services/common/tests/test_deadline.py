"""One absolute deadline: built from the caller's gRPC deadline, read on an injected clock."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from a4c.common.deadline import Deadline


@dataclass
class Context:
    remaining: float | None

    def time_remaining(self) -> float | None:
        return self.remaining


class Clock:
    def __init__(self, now: float = 100.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [(None, 10.0), (30.0, 10.0), (5.0, 4.75), (0.2, 0.05), (-1.0, 0.05)],
)
def test_from_context_keeps_a_margin_and_the_default_bounds_it(
    remaining: float | None, expected: float
) -> None:
    clock = Clock()

    deadline = Deadline.from_context(Context(remaining), default=10.0, clock=clock)

    assert deadline.at == pytest.approx(100.0 + expected)
    assert deadline.remaining() == pytest.approx(expected)


def test_remaining_counts_down_on_the_clock_and_never_goes_negative() -> None:
    clock = Clock()
    deadline = Deadline.after(3.0, clock=clock)

    clock.now += 1.0
    assert (deadline.remaining(), deadline.expired) == (2.0, False)
    clock.now += 2.0
    assert (deadline.remaining(), deadline.expired) == (0.0, True)
    clock.now += 5.0
    assert deadline.remaining() == 0.0


def test_allows_a_wait_only_when_time_is_left_after_it() -> None:
    clock = Clock()
    deadline = Deadline.after(3.0, clock=clock)

    assert deadline.allows(2.9)
    assert not deadline.allows(3.0)


def test_within_takes_the_earlier_of_the_two() -> None:
    clock = Clock()
    deadline = Deadline.after(10.0, clock=clock)

    assert deadline.within(2.0).remaining() == 2.0
    assert deadline.within(60.0).remaining() == 10.0
    assert deadline.within(2.0).clock is clock
