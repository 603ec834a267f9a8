"""Adaptive polling decisions (``lib.domain.polling``): pure functions of job, progress, time; expected intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lib.domain.polling import (
    JobWatch,
    ProgressSample,
    around,
    end_window,
    health_delay,
    job_delay,
    predict_end,
    typical_job_s,
)

T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("elapsed", "expected"),
    [
        (0, 30),  # a 180 s failover just started: sparse, capped at 30 s
        (100, 30),  # the window opens at 135 s: 35 s away, capped at 30
        (120, 15),  # 15 s before the window opens: sleep to it
        (135, 4),  # inside the window (expected end 180 s, +-45 s): dense
        (180, 4),
        (225, 4),  # the window's last second
        (265, 10),  # 40 s past the window: a quarter of the overrun
        (600, 30),  # far past: the cap, so a stall or failure is still seen
    ],
)
def test_a_failover_job_is_read_densely_around_its_expected_end(elapsed: float, expected: float) -> None:
    job = JobWatch(
        "UnplannedFailover", started=T0, tasks=(("Prerequisites check", "Succeeded"), ("Start failover", "InProgress"))
    )
    assert job_delay(job, at(elapsed), typical_job_s("UnplannedFailover"), dense_s=4, cap_s=30) == expected


def test_a_job_whose_tasks_are_all_over_is_read_at_the_dense_pace_even_early() -> None:
    done = JobWatch("CommitFailover", T0, (("Prerequisite check", "Succeeded"), ("Commit", "Succeeded")))
    failed = JobWatch("CommitFailover", T0, (("Prerequisite check", "Succeeded"), ("Commit", "Failed")))
    running = JobWatch("CommitFailover", T0, (("Prerequisite check", "Succeeded"), ("Commit", "InProgress")))
    assert job_delay(done, at(1), 60, dense_s=4, cap_s=30) == 4
    assert job_delay(failed, at(1), 60, dense_s=4, cap_s=30) == 4
    assert job_delay(running, at(1), 60, dense_s=4, cap_s=30) == 30  # window opens at 45 s: 44 s away, cap 30
    assert job_delay(running, at(1), typical_job_s("CommitFailover"), dense_s=4, cap_s=30) == 4


@pytest.mark.parametrize(
    ("elapsed", "stages", "expected"),
    [
        (0, 1, 4),  # a commit takes seconds (8 s recorded): read densely from its start, not after a 30 s cap
        (8, 1, 4),
        (20, 1, 4),  # 4 s past its 8 s window: still the dense pace
        (0, 2, 8),  # a plan's commit over two boot groups (16 s): sleep to its window (8 s), then dense
        (8, 2, 4),
    ],
)
def test_a_commit_is_read_within_seconds_of_its_end(elapsed: float, stages: int, expected: float) -> None:
    job = JobWatch("CommitFailover", T0, (("Prerequisite check", "Succeeded"), ("Commit", "InProgress")))
    typical = typical_job_s("CommitFailover") * stages
    assert job_delay(job, at(elapsed), typical, dense_s=4, cap_s=30) == expected


def test_the_run_learns_the_typical_duration_from_its_finished_jobs() -> None:
    assert typical_job_s("UnplannedFailover") == 180
    assert typical_job_s("UnplannedFailover", [300.0, 320.0, 310.0]) == 310
    assert typical_job_s("SomethingNew") == 180  # an unknown scenario: the default prior
    slow_run = typical_job_s("UnplannedFailover", [400.0])
    job = JobWatch("UnplannedFailover", T0)
    assert job_delay(job, at(200), slow_run, dense_s=4, cap_s=30) == 30  # window opens at 300 s
    assert job_delay(job, at(300), slow_run, dense_s=4, cap_s=30) == 4


def test_the_dense_pace_never_exceeds_the_cap() -> None:
    # Tests and demos shrink the cap below the dense pace: the cap wins.
    assert around(T0, T0, spread_s=10, dense_s=4, cap_s=1) == 1


def test_replication_end_is_predicted_from_the_rate_of_its_percentage() -> None:
    first, last = ProgressSample(T0, 10), ProgressSample(at(600), 30)  # 2 % per minute
    assert predict_end(first, last) == at(600 + 35 * 60)
    assert predict_end(first, first) is None  # no rate yet
    assert predict_end(ProgressSample(T0, 30), ProgressSample(at(600), 30)) is None  # stalled: no rate


# A reverse replication that started at 0 s and ends at 2000 s; ASR refreshes its percentage every 300 s
# (15 % per refresh). The run read every 60 s while it had no rate, then slept towards the end.
FIRST = ProgressSample(at(320), 15, after=at(260))  # refreshed at 300 s: seen at 320 s, not yet at 260 s
LATE = ProgressSample(at(1800), 75, after=at(1500))  # refreshed at 1500 s; the run slept from 1500 to 1800 s


def test_readings_seen_late_bound_the_end_instead_of_moving_it() -> None:
    # From the moments the readings were first seen, the end looks 417 s later than it is: a run reading
    # around that estimate notices the end minutes late. The window keeps where the end can be.
    point = predict_end(FIRST, LATE)
    assert point is not None and (point - at(2000)).total_seconds() == pytest.approx(416.7, abs=0.1)
    window = end_window(FIRST, LATE)
    assert window is not None
    earliest, latest = window
    assert earliest == at(1966)  # 1500 + (1500 - 320) * 25/60, less one percent's worth (1540/60 s)
    assert (latest - at(2467.33)).total_seconds() == pytest.approx(0, abs=0.01)  # 1800 + (1800 - 260) * 26/60
    assert earliest < at(2000) < latest


def test_exact_readings_give_a_window_of_one_percent_either_side() -> None:
    first, last = ProgressSample(at(300), 15, after=at(300)), ProgressSample(at(1500), 75, after=at(1500))
    assert end_window(first, last) == (at(2000 - 20), at(2000 + 20))  # 1200 s for 60 %: 20 s a percent


def test_no_window_without_a_rate() -> None:
    assert end_window(FIRST, FIRST) is None  # one reading
    stalled = ProgressSample(at(700), 15, after=at(640))  # ASR's reading did not move at its refresh
    assert end_window(FIRST, stalled) is None


def test_the_window_never_opens_before_the_last_read_that_saw_replication_running() -> None:
    # 90 % seen 400 s after the read before it: by the rate, the end may already have passed (1638 s), but
    # the read at 1900 s still saw replication running.
    first, last = ProgressSample(at(320), 15, after=at(260)), ProgressSample(at(1900), 90, after=at(1500))
    window = end_window(first, last)
    assert window is not None and window[0] == at(1900)


@pytest.mark.parametrize(
    ("now_s", "expected"),
    [
        (1800, 166),  # the window opens at 1966 s: sleep to it (the old point estimate slept 300 s here)
        (1966, 20),  # inside the window: the dense pace
        (2300, 20),
        (2667.33, 50),  # 200 s past the window: a quarter of the overrun
        (9000, 300),  # a stall long after the window: still read every 5 minutes, never a blind 10
    ],
)
def test_reprotect_is_read_densely_inside_the_window_where_it_can_end(now_s: float, expected: float) -> None:
    delay = health_delay(at(now_s), [(FIRST, LATE)], dense_s=20, cap_s=300, unknown_s=60)
    assert delay == pytest.approx(expected, abs=0.01)


def test_far_from_its_end_reprotect_is_read_at_the_cap() -> None:
    second = ProgressSample(at(620), 30, after=at(560))
    assert health_delay(at(620), [(FIRST, second)], dense_s=20, cap_s=300, unknown_s=60) == 300


def test_without_a_rate_reprotect_is_read_every_unknown_s_and_the_earliest_vm_decides() -> None:
    assert health_delay(at(600), [(None, None)], dense_s=20, cap_s=300, unknown_s=60) == 60
    assert health_delay(at(600), [(FIRST, FIRST)], dense_s=20, cap_s=300, unknown_s=60) == 60
    assert health_delay(at(1800), [(FIRST, LATE), (None, None)], dense_s=20, cap_s=300, unknown_s=60) == 60
    assert health_delay(at(2000), [(FIRST, LATE), (None, None)], dense_s=20, cap_s=300, unknown_s=60) == 20
    # the dense pace is never slower than the pace without a rate
    assert health_delay(at(2000), [(FIRST, LATE)], dense_s=20, cap_s=300, unknown_s=10) == 10
