"""The run's side of adaptive polling: feeds ``lib.domain.polling`` from the run state and the request's timing."""

from __future__ import annotations

from datetime import datetime

from lib.domain.asr import Job
from lib.domain.dr import Timing
from lib.domain.polling import JOB_DENSE_S, JobWatch, job_delay, typical_job_s
from lib.workflows.runstate import RunState


def boot_groups(state: RunState) -> int:
    """How many boot-order groups the run's VMs form (a plan job fails them over one group after another)."""
    return len({row.group for row in state.vms.values()}) or 1


def finished_durations(state: RunState, phase: str) -> list[float]:
    """How long the run's finished jobs of ``phase`` took (ASR's own start and end: no clock skew)."""
    return [
        (r.end - r.start).total_seconds()
        for r in state.jobs.values()
        if r.phase == phase and r.start is not None and r.end is not None and r.state == "Succeeded"
    ]


def job_wait_s(
    state: RunState,
    phase: str,
    scenario: str,
    job: Job | None,
    *,
    started: datetime,
    now: datetime,
    timing: Timing,
    stages: int = 1,
) -> float:
    """Seconds until the next read of a running job of ``phase`` (``job``: the last read; None: just started).

    ``stages``: how many VM-sized steps the job runs one after the other (a plan's boot groups), used until
    the run has finished jobs of its own to learn from."""
    learned = finished_durations(state, phase)
    typical = typical_job_s(scenario, learned) if learned else typical_job_s(scenario) * max(1, stages)
    watch = JobWatch(scenario, started, job.tasks if job is not None else ())
    return job_delay(watch, now, typical, dense_s=JOB_DENSE_S, cap_s=timing.job_poll_s)
