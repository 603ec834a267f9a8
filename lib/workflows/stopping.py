"""A cancel asked for while an ASR job runs (``StopRequested``): the run carries it out itself.

In a stoppable phase (failover, test failover) nothing more starts: VMs whose action had not started are left
untouched, and a running job is cancelled where ASR's ``allowedActions`` offers ``Cancel`` (once: the job is
read afresh on every poll, so a cancelled one is seen as finished) and waited out where it does not. When no
job runs any more, the workflow applies the rule of the phase reached: nothing moved, the run ends
``cancelled``; something moved (an A2A failover job cannot be cancelled), the operator chooses commit or
rollback.
"""

from __future__ import annotations

import contextlib

from lib.domain.asr import Job
from lib.domain.errors import OperationNotAllowed
from lib.workflows.action import NOT_STARTED, PhaseRun
from lib.workflows.vmstate import VmProgress

__all__ = ["cancel_if_offered", "leave_untouched", "stopping"]


def stopping(run: PhaseRun) -> bool:
    return run.phase.stoppable and run.state.stop_requested


def cancel_if_offered(run: PhaseRun, job: Job) -> None:
    """Cancel ``job`` (running) when the run is stopping and ASR offers it; else the job is waited out."""
    if not stopping(run) or not job.cancellable or job.name in run.state.cancelled_jobs:
        return
    # Refused: it ended (or stopped offering Cancel) since we read it; the next poll sees how it ended.
    with contextlib.suppress(OperationNotAllowed):
        run.deps.asr.cancel_job(job.name)
    run.state.cancelled_jobs.append(job.name)  # after the call: a crash in between re-reads the job first


def leave_untouched(run: PhaseRun, vm: str, row: VmProgress) -> None:
    """A VM whose action had not started when the cancel came: it stays as it was."""
    row.mark_failed(
        run.phase.name,
        NOT_STARTED,
        f"{vm} was not touched: the run was cancelled before its {run.phase.name.replace('_', ' ')} started",
    )
