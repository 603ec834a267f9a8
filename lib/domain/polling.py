"""When to read ASR again: pure decisions from what the last read saw, what ASR usually takes, and the clock.

A fixed poll interval is a bad trade both ways: it reads ASR while nothing can have changed, and it notices a
change up to a whole interval late. Both kinds of wait here aim at the moment the thing is *expected* to
change and read densely only around it:

* a running **job**: expected to end ``typical`` seconds after it started (the scenario's usual duration, or
  what the run's already finished jobs of the same phase took); a job whose every task is over is about to
  close. Before the expected end the run sleeps up to it (never longer than ``cap_s``, so a job that fails
  early is still seen within ``cap_s``); around it every ``dense_s``; after it, a little longer each time;
* **reprotect** (initial replication): the end is predicted from the rate at which
  ``monitoringPercentageCompletion`` grew. ASR recomputes that figure only every few minutes, so a read says
  only that it changed since the read before; the prediction is therefore a window (the earliest and the
  latest end those bounds allow) and the run reads densely inside it. Without a rate yet the run reads every
  ``unknown_s``. The cap holds here too, so a stalled replication is seen within ``cap_s`` instead of after a
  blind back-off.

Every figure is in seconds on the app's clock; callers give ``now`` and the start times on that clock.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

__all__ = [
    "DEFAULT_TYPICAL_S",
    "FINISHED_TASK_STATES",
    "HEALTH_DENSE_S",
    "JOB_DENSE_S",
    "STALL_CAP_S",
    "TYPICAL_JOB_S",
    "JobWatch",
    "ProgressSample",
    "around",
    "between",
    "end_window",
    "health_delay",
    "job_delay",
    "predict_end",
    "typical_job_s",
]

# What an A2A job usually takes (seconds), by ASR scenarioName: the app's own prior, refined by the run's
# finished jobs. From recorded and published A2A timings (a failover takes minutes, a commit seconds: 8 s
# recorded, 3 s in Microsoft's walkthrough; switch-protection's job ends when initial replication starts, long
# before the item is protected again). A prior too long costs a whole poll cap of notice lag on every job that
# ends before it; one too short costs a few dense reads.
TYPICAL_JOB_S = {
    "UnplannedFailover": 180.0,
    "CommitFailover": 8.0,
    "SwitchReplicationGroupProtection": 540.0,
    "TestFailover": 210.0,
    "TestFailoverCleanup": 120.0,
}
DEFAULT_TYPICAL_S = 180.0
JOB_DENSE_S = 4.0  # a job near its expected end is read this often (or at the run's cap, if shorter)
HEALTH_DENSE_S = 20.0  # replication inside its end window: read this often (or at the run's pace, if shorter)
STALL_CAP_S = 300.0  # replication is read at least this often, so a stall shows within 5 minutes
FINISHED_TASK_STATES = frozenset({"Succeeded", "Skipped", "Failed", "Cancelled", "CompletedWithInformation"})
WINDOW_SHARE = 0.25  # read densely from this share of the expected duration before the expected end
OVERRUN_SLOWDOWN = 4.0  # after the window, wait a quarter of the overrun (ASR is slow today: read less)


def around(now: datetime, expected: datetime, *, spread_s: float, dense_s: float, cap_s: float) -> float:
    """Seconds until the next read of something expected to change at ``expected`` (give or take ``spread_s``)."""
    spread = timedelta(seconds=spread_s)
    return between(now, expected - spread, expected + spread, dense_s=dense_s, cap_s=cap_s)


def between(now: datetime, start: datetime, end: datetime, *, dense_s: float, cap_s: float) -> float:
    """Seconds until the next read of something expected to change between ``start`` and ``end``.

    Before the window: sleep to its start (at most ``cap_s``). Inside it: ``dense_s``. After it: a quarter
    of the overrun, between ``dense_s`` and ``cap_s``.
    """
    dense = min(dense_s, cap_s)
    until = (start - now).total_seconds()
    if until > 0:
        return _clamp(until, dense, cap_s)
    overrun = (now - end).total_seconds()
    if overrun <= 0:
        return dense
    return _clamp(overrun / OVERRUN_SLOWDOWN, dense, cap_s)


@dataclass(frozen=True)
class JobWatch:
    """What the next read of one running job depends on."""

    scenario: str  # ASR scenarioName (UnplannedFailover, CommitFailover, ...)
    started: datetime  # when the run started or adopted it (the app's clock)
    tasks: tuple[tuple[str, str], ...] = ()  # (friendly name, state) as the last read saw them; () unknown


def typical_job_s(scenario: str, finished_s: Iterable[float] = ()) -> float:
    """The run's own figure when it has one (median of its finished jobs of this scenario), else the prior."""
    seen = [s for s in finished_s if s > 0]
    if seen:
        return float(statistics.median(seen))
    return TYPICAL_JOB_S.get(scenario, DEFAULT_TYPICAL_S)


def job_delay(job: JobWatch, now: datetime, typical_s: float, *, dense_s: float, cap_s: float) -> float:
    """Seconds until the next read of a running job."""
    if job.tasks and all(state in FINISHED_TASK_STATES for _name, state in job.tasks):
        return min(dense_s, cap_s)  # every task is over: ASR closes the job any moment
    if any(state == "Failed" for _name, state in job.tasks):
        return min(dense_s, cap_s)  # a failed task ends the job: say so soon
    expected = job.started + timedelta(seconds=typical_s)
    spread = max(2 * dense_s, WINDOW_SHARE * typical_s)
    return around(now, expected, spread_s=spread, dense_s=dense_s, cap_s=cap_s)


@dataclass(frozen=True)
class ProgressSample:
    """An initial-replication percentage and when the run saw it (the app's clock).

    ASR computes the percentage now and then (minutes apart), so a read tells only that the value changed
    at some moment in ``(after, at]``: after the last read that showed less, at or before the first read
    that showed it. ``after`` None: no earlier read (the moment is taken as ``at``).
    """

    at: datetime  # the first read that showed ``pct``
    pct: int
    after: datetime | None = None  # the read before ``at`` (it showed less, or nothing)

    @property
    def since(self) -> datetime:
        """The earliest moment the reading can have changed."""
        return self.after if self.after is not None and self.after < self.at else self.at


def predict_end(first: ProgressSample, last: ProgressSample) -> datetime | None:
    """When replication reaches 100 % at the rate seen from ``first`` to ``last``; None without a rate."""
    span = (last.at - first.at).total_seconds()
    if last.pct <= first.pct or span <= 0:
        return None
    rate = (last.pct - first.pct) / span
    return last.at + timedelta(seconds=(100 - min(last.pct, 100)) / rate)


def end_window(first: ProgressSample, last: ProgressSample) -> tuple[datetime, datetime] | None:
    """The earliest and the latest moment replication can reach 100 % at a steady rate, given that each
    reading changed somewhere in its ``(after, at]``; None without a rate.

    A point estimate from the moments the readings were *seen* is late by as much as the reads were apart
    (minutes, while the run sleeps towards the end), and the error grows with the distance still to go. The
    window keeps the whole uncertainty instead, plus one percent's worth of time either side (ASR gives
    whole percents), so the run reads densely where the end can be and nowhere else.
    """
    done = last.pct - first.pct
    if done <= 0 or last.at <= first.at:
        return None
    share = (100 - min(last.pct, 100)) / done  # the distance to go, in units of the distance seen
    soonest = max(last.since - first.at, timedelta(0))  # the shortest the readings can have been apart
    longest = last.at - first.since
    one_pct = longest / done
    earliest = max(last.since + soonest * share - one_pct, last.at)  # it was still replicating at ``last.at``
    return earliest, last.at + longest * share + one_pct


def health_delay(
    now: datetime,
    samples: Sequence[tuple[ProgressSample | None, ProgressSample | None]],
    *,
    dense_s: float,
    cap_s: float,
    unknown_s: float,
) -> float:
    """Seconds until the next vault-wide listing, for VMs still replicating: (first, last) sample per VM.

    The earliest VM decides (one listing serves them all). A VM without a rate yet is read every
    ``unknown_s``; with one, densely inside the window where its end can be (``end_window``).
    """
    best = cap_s
    dense_s = min(dense_s, unknown_s)  # near the end, never slower than while the rate was unknown
    for first, last in samples:
        window = end_window(first, last) if first is not None and last is not None else None
        if window is None:
            best = min(best, unknown_s)
            continue
        best = min(best, between(now, *window, dense_s=dense_s, cap_s=cap_s))
    return best


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high))
