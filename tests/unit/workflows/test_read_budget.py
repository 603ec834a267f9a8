"""The ARM read budget's ledger (``lib.domain.read_budget``) and how a poll's wait follows it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from lib.domain.read_budget import ReadPace, book, prune
from lib.engine import Next, StepContext, Wait
from lib.workflows.runstate import RunState
from lib.workflows.steps import within_budget
from tests.unit.workflows.fake_asr import FakeSiteRecovery
from tests.unit.workflows.harness import make_deps

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)  # a bucket boundary
PACE = ReadPace(per_hour=600, bucket_s=60)  # 10 reads per minute


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_the_default_is_a_fifth_of_arm_s_hourly_reads() -> None:
    assert ReadPace().per_hour == 2400 and ReadPace().per_bucket == 40


def test_a_poll_goes_ahead_as_wanted_while_its_bucket_has_room() -> None:
    booked = book({}, 4, at(30), at(0), PACE)
    assert booked.at == at(30) and booked.ledger == {PACE.bucket(T0): 4}


def test_a_full_bucket_pushes_the_poll_to_the_next_bucket_with_room() -> None:
    ledger = {PACE.bucket(T0): 8.0, PACE.bucket(at(60)): 10.0}
    booked = book(ledger, 4, at(30), at(0), PACE)
    assert booked.at == at(120) and booked.delayed_s(at(30)) == 90
    assert booked.ledger[PACE.bucket(at(120))] == 4


def test_a_later_booking_never_blocks_an_earlier_one() -> None:
    later = book({}, 10, at(600), at(0), PACE).ledger  # someone booked the bucket ten minutes ahead full
    assert book(later, 10, at(5), at(0), PACE).at == at(5)


def test_a_poll_larger_than_a_bucket_takes_consecutive_empty_buckets() -> None:
    ledger = {PACE.bucket(at(60)): 1.0}
    booked = book(ledger, 25, at(0), at(0), PACE)  # 3 buckets; bucket 1 is taken, so 2..4
    assert booked.at == at(120)
    assert [booked.ledger.get(PACE.bucket(at(60 * i)), 0.0) for i in range(5)] == [0.0, 1.0, 10.0, 10.0, 5.0]


def test_past_buckets_are_pruned_and_wanted_times_in_the_past_book_now() -> None:
    ledger = {PACE.bucket(at(-120)): 10.0, PACE.bucket(T0): 2.0}
    assert prune(ledger, at(10), PACE) == {PACE.bucket(T0): 2.0}
    assert book(ledger, 1, at(-500), at(10), PACE).at == at(10)


def test_any_hour_of_bookings_stays_within_the_budget_plus_one_bucket() -> None:
    ledger: dict[int, float] = {}
    times = []
    for i in range(400):  # 40 runs wanting a 3-read poll every 30 s for 5 minutes: far over 600/h
        booked = book(ledger, 3, at(30 * (i // 40)), at(0), PACE)
        ledger = booked.ledger
        times.append(booked.at)
    hours = [sum(3 for t in times if start <= t < start + timedelta(hours=1)) for start in times]
    assert max(hours) <= PACE.per_hour + PACE.per_bucket


def test_a_budget_needs_positive_figures() -> None:
    with pytest.raises(ValueError, match="positive"):
        ReadPace(per_hour=0)


class _FullBudget:
    """Pushes every booking ``push_s`` later than wanted, and remembers what was booked."""

    def __init__(self, push_s: float) -> None:
        self.push = timedelta(seconds=push_s)
        self.booked: list[tuple[float, datetime]] = []

    def book(self, reads: float, wanted: datetime, now: datetime) -> datetime:
        self.booked.append((reads, wanted))
        return wanted + self.push


def _ctx(first_call: bool) -> StepContext:
    started = T0 if first_call else T0 - timedelta(minutes=5)
    return StepContext("run-1", "failover", "await_healthy", {}, {}, T0, started, started)


def test_a_poll_pushed_back_by_the_budget_waits_longer_and_the_run_records_it() -> None:
    budget, state = _FullBudget(90), RunState()
    deps = make_deps(FakeSiteRecovery([]))
    deps = replace(deps, budget=budget)
    out = within_budget(_ctx(first_call=False), deps, state, Wait(timedelta(seconds=30), "reprotect: 0/1"), 3)
    assert isinstance(out, Wait) and out.delay == timedelta(seconds=120)
    assert "ARM read budget" in out.reason and out.details["armReadBudget"] == {"reads": 3, "pushedSeconds": 90.0}
    assert (state.budget_waits, state.budget_wait_s) == (1, 90.0)
    assert budget.booked == [(3, at(30))]  # only the next poll: this one was booked by the wait before it


def test_the_first_call_of_a_step_books_its_own_reads_too_and_no_budget_changes_nothing() -> None:
    budget, state = _FullBudget(0), RunState()
    deps = replace(make_deps(FakeSiteRecovery([])), budget=budget)
    assert within_budget(_ctx(first_call=True), deps, state, Next("done"), 2) == Next("done")
    assert budget.booked == [(2, T0)] and state.budget_waits == 0
    wait = Wait(timedelta(seconds=30), "x")
    assert within_budget(_ctx(first_call=True), make_deps(FakeSiteRecovery([])), state, wait, 2) is wait
