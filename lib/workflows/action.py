"""One ASR action of a DR workflow (failover, commit, reprotect, test failover, cleanup) and its context."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lib.domain.asr import Job, Operation, ProtectedItem
from lib.domain.dr import DrRequest
from lib.engine import StepContext
from lib.workflows.deps import DrDeps
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress

ItemStart = Callable[[DrDeps, ProtectedItem, VmProgress, DrRequest], str]
PlanStart = Callable[[DrDeps, DrRequest, RunState], str]


@dataclass(frozen=True)
class ActionPhase:
    name: str  # the phase's name in ``VmProgress.done`` / ``jobs`` and in the workflow's steps
    operation: Operation  # what ASR must allow on the item (allowedOperations) before we start it
    scenario: str  # ASR job scenarioName of this action, used to adopt a running job
    completed: Callable[[ProtectedItem, VmProgress], bool]  # the item is already past this action
    start_item: ItemStart  # starts the action on one item; returns the ASR job name
    start_plan: PlanStart | None = None  # starts it on the recovery plan (None: always per item)
    ordered: bool = False  # honour the request's groups (boot order); reprotect and cleanup need not wait
    stoppable: bool = False  # a cancel stops this phase: nothing more starts, running jobs are cancelled or waited out


@dataclass(frozen=True)
class PhaseRun:
    """One call of a phase step: what it acts with and on."""

    phase: ActionPhase  # the action applied
    ctx: StepContext  # the engine's context of this call (clock, run id)
    deps: DrDeps  # ASR and the other ports
    req: DrRequest  # the run's request (parallelism, recovery point, plan)
    state: RunState  # the run's state, saved by the step wrapper


def job_failed_message(job: Job) -> tuple[str, str]:
    if job.errors:
        return job.errors[0].code, job.errors[0].message
    return job.state, f"ASR job {job.name} ended {job.state} ({job.state_description})"


NOT_STARTED = "NotStarted"  # the VM's code when a plan job stopped before reaching it (the VM is untouched)


def vm_error(job: Job, vm: str, plan: str) -> tuple[str, str]:
    """The error of ``vm`` in a plan job that failed: the job's error that names the VM, else "untouched".

    A plan job lists the error of the VM that failed; giving that text to every VM of the plan would blame
    the untouched ones for another VM's failure.
    """
    quoted = f"'{vm.lower()}'"
    for error in job.errors:
        if quoted in error.message.lower():
            return error.code, f"{error.message} (plan {plan}, job {job.name})"
    return NOT_STARTED, (
        f"{vm} was not failed over: plan {plan}'s job {job.name} ended {job.state} before reaching it (untouched)"
    )
