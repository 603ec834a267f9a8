"""The run's side of adaptive polling: feeds ``lib.domain.polling`` from the run state and the request's timing."""

from __future__ import annotations

from datetime import datetime

from lib.domain.asr import Job
from lib.domain.dr import Timing
from lib.domain.polling import JOB_DENSE_S, JobWatch, job_delay, typical_job_s
from lib.workflows.runstate import RunState


def finished_durations(state: RunState, phase: str) -> list[float]:
    """How long the run's finished jobs of ``phase`` took (ASR's own start and end: no clock skew)."""
    return [
        (r.end - r.start).total_seconds()
        for r in state.jobs.values()
        if r.phase == phase and r.start is not None and r.end is not None and r.state == "Succeeded"
    ]


def job_wait_s(
    state: RunState, phase: str, scenario: str, job: Job | None, *, started: datetime, now: datetime, timing: Timing
) -> float:
    """Seconds until the next read of a running job of ``phase`` (``job``: the last read; None: just started)."""
    typical = typical_job_s(scenario, finished_durations(state, phase))
    watch = JobWatch(scenario, started, job.tasks if job is not None else ())
    return job_delay(watch, now, typical, dense_s=JOB_DENSE_S, cap_s=timing.job_poll_s)
