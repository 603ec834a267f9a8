"""Adaptive polling decisions (``lib.domain.polling``): pure functions of job, progress, time; expected intervals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lib.domain.polling import (
    JobWatch,
    ProgressSample,
    around,
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


@pytest.mark.parametrize(
    ("now_s", "expected"),
    [
        (600, 300),  # 35 min to go: capped at 5 min, never a blind 10-minute back-off
        (2400, 30),  # predicted end 2700 s, spread 270 s: 2430 s opens the window -> 30 s (the dense floor)
        (2500, 30),  # inside the window
        (3200, 57.5),  # 230 s past the window: a quarter of it
        (9000, 300),  # a stall long after the predicted end: still read every 5 min
    ],
)
def test_reprotect_is_read_around_its_predicted_end(now_s: float, expected: float) -> None:
    samples = [(ProgressSample(T0, 10), ProgressSample(at(600), 30))]
    assert health_delay(at(now_s), samples, dense_s=30, cap_s=300, unknown_s=60) == expected


def test_without_a_rate_reprotect_is_read_every_unknown_s_and_the_earliest_vm_decides() -> None:
    predicted = (ProgressSample(T0, 10), ProgressSample(at(600), 30))
    assert health_delay(at(600), [(None, None)], dense_s=30, cap_s=300, unknown_s=60) == 60
    assert health_delay(at(600), [predicted, (None, None)], dense_s=30, cap_s=300, unknown_s=60) == 60
    assert health_delay(at(2500), [predicted, (None, None)], dense_s=30, cap_s=300, unknown_s=60) == 30
