"""One ASR action applied to every VM of a run (or once to its recovery plan), as a re-entrant step.

Each call observes ASR first, then acts only where needed, then returns ``Wait`` until every VM has
finished the phase. A recovery plan gets one plan-level job per phase; where the plan refuses the action,
the phase falls back to per-item handling (``item_phase``), which names each VM's reason.
"""

from __future__ import annotations

from datetime import datetime

from lib.domain.asr import Job
from lib.engine import Next, Outcome, StepContext
from lib.ports.site_recovery import by_vm_name
from lib.workflows.action import ActionPhase, PhaseRun, vm_error
from lib.workflows.deps import DrDeps
from lib.workflows.item_phase import item_phase
from lib.workflows.pacing import boot_groups, job_wait_s
from lib.workflows.runstate import PlanProgress, RunState
from lib.workflows.steps import poll_wait, request
from lib.workflows.stopping import cancel_if_offered, stopping
from lib.workflows.vmstate import VmProgress

__all__ = ["ActionPhase", "run_phase"]


def run_phase(phase: ActionPhase, ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    req = request(ctx)
    todo = list(state.pending(phase.name))
    if not todo:
        return Next(f"{phase.name}: nothing left to do")
    if state.plan is None:
        state.plan = PlanProgress(req.plan)
    run = PhaseRun(phase, ctx, deps, req, state)
    if req.plan and phase.start_plan and phase.name not in state.plan.processed:
        if phase.name in state.plan.jobs:
            return _poll_plan(run, state.plan)
        if not stopping(run):
            return _start_plan(run, state.plan, todo)
        state.plan.processed.append(phase.name)  # stopping: the plan job never starts (per item: adopt or leave)
    return item_phase(run, todo)


def _start_plan(run: PhaseRun, plan_state: PlanProgress, todo: list[tuple[str, VmProgress]]) -> Outcome:
    phase, req, deps = run.phase, run.req, run.deps
    assert req.plan and phase.start_plan  # run_phase calls it for plan runs of plan-capable phases only
    plan = deps.asr.get_recovery_plan(req.plan)
    items = by_vm_name(deps.asr.list_protected_items())
    if plan.current_scenario == phase.scenario and plan.current_job_name:
        job_name = plan.current_job_name  # a previous attempt started it and crashed before recording
    elif all(vm.lower() in items and phase.completed(items[vm.lower()], row) for vm, row in todo):
        for _vm, row in todo:
            row.mark_done(phase.name)
        plan_state.processed.append(phase.name)
        return Next(f"{phase.name}: every item of plan {req.plan} is already past this step")
    elif not plan.allows(phase.operation):
        plan_state.processed.append(phase.name)  # fall back to per-item handling, which names each VM
        return item_phase(run, todo)
    else:
        job_name = phase.start_plan(deps, req, run.state)
    plan_state.jobs[phase.name] = job_name
    plan_state.started_at[phase.name] = run.ctx.now
    run.state.note_started_job(job_name, phase.name, req.plan)
    delay = _plan_wait_s(run, None, run.ctx.now)
    return poll_wait(req, f"{phase.name}: plan {req.plan} job {job_name} started", {"job": job_name}, delay)


def _poll_plan(run: PhaseRun, plan_state: PlanProgress) -> Outcome:
    phase, req, deps = run.phase, run.req, run.deps
    job_name = plan_state.jobs[phase.name]
    job = deps.asr.get_job(job_name)
    record = run.state.record_job(job, phase.name)
    if not job.finished:
        cancel_if_offered(run, job)
        begun = plan_state.started_at.get(phase.name, run.ctx.now)
        delay = _plan_wait_s(run, job, begun)
        details = {"job": job_name, "tasks": job.tasks}
        return poll_wait(req, f"{phase.name}: plan job {job_name} {job.state}", details, delay)
    items = by_vm_name(deps.asr.list_protected_items())
    started = plan_state.started_at.get(phase.name)
    for vm, row in run.state.pending(phase.name):
        item = items.get(vm.lower())
        if item is not None and (job.succeeded or phase.completed(item, row)):
            row.mark_done(phase.name)
            if started is not None:
                row.started_at[phase.name] = started
        else:
            row.mark_failed(phase.name, *vm_error(job, vm, str(req.plan)))
    plan_state.processed.append(phase.name)
    return Next(f"{phase.name}: plan job {job_name} {job.state}", {"job": record.to_json()})


def _plan_wait_s(run: PhaseRun, job: Job | None, started: datetime) -> float:
    """A plan job of an ordered phase runs its boot groups one after the other: expect it that much longer."""
    stages = boot_groups(run.state) if run.phase.ordered else 1
    state, phase, now, timing = run.state, run.phase, run.ctx.now, run.req.timing
    return job_wait_s(state, phase.name, phase.scenario, job, started=started, now=now, timing=timing, stages=stages)
