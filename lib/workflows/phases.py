"""One ASR action applied to every VM of a run (or once to its recovery plan), as a re-entrant step.

Each call observes ASR first, then acts only where needed, then returns ``Wait`` until every VM has
finished the phase. Observation before action is what keeps a redelivered or retried step from issuing
an ASR action twice: an item already in the phase's end state is marked done, and an item whose
``currentScenario`` shows the phase's job running gets that job adopted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from lib.domain.asr import Job, Operation, ProtectedItem
from lib.domain.dr import DrRequest, request_from_json
from lib.domain.errors import OperationNotAllowed, ResourceNotFound, SiteRecoveryError, Throttled
from lib.domain.errors import TransientSiteRecoveryError as Transient
from lib.engine.api import Next, Outcome, StepContext, Wait
from lib.ports.site_recovery import by_vm_name
from lib.workflows import vmstate as vs
from lib.workflows.deps import DrDeps

ItemStart = Callable[[DrDeps, ProtectedItem, dict[str, Any], DrRequest], str]
PlanStart = Callable[[DrDeps, DrRequest, dict[str, Any]], str]


@dataclass(frozen=True)
class ActionPhase:
    name: str
    operation: Operation
    scenario: str  # ASR job scenarioName of this action, used to adopt a running job
    completed: Callable[[ProtectedItem, dict[str, Any]], bool]
    start_item: ItemStart
    start_plan: PlanStart | None = None
    ordered: bool = False  # honour the request's groups (boot order); reprotect and cleanup need not wait


def request(ctx: StepContext) -> DrRequest:
    return request_from_json(ctx.input)


def _wait(req: DrRequest, reason: str, details: dict[str, Any] | None = None) -> Wait:
    return Wait(timedelta(seconds=req.timing.job_poll_s), reason, details or {})


def ride_out(step: Callable[[StepContext, DrDeps], Outcome]) -> Callable[[StepContext, DrDeps], Outcome]:
    """Throttling and 5xx that outlived the SDK's own retries become a wait, never a lost run."""

    def guarded(ctx: StepContext, deps: DrDeps) -> Outcome:
        try:
            outcome = step(ctx, deps)
        except (Throttled, Transient) as exc:
            streak = int(ctx.state.get("transient_streak", 0)) + 1
            ctx.state["transient_streak"] = streak
            hint = exc.retry_after if isinstance(exc, Throttled) and exc.retry_after else 0.0
            delay = max(hint, request(ctx).timing.job_poll_s * min(streak, 10))
            return Wait(
                timedelta(seconds=delay),
                f"ASR answered {exc.code} ({exc.status}); trying again in {delay:.0f}s",
                {"error": {"code": exc.code, "message": exc.message}, "streak": streak},
            )
        ctx.state.pop("transient_streak", None)  # ASR answered: the next storm starts counting afresh
        return outcome

    guarded.__name__ = getattr(step, "__name__", "step")
    return guarded


def _job_failed_message(job: Job) -> tuple[str, str]:
    if job.errors:
        return job.errors[0].code, job.errors[0].message
    return job.state, f"ASR job {job.name} ended {job.state} ({job.state_description})"


def _latest_jobs(deps: DrDeps, scenario: str) -> dict[str, Job]:
    """The newest job of ``scenario`` per target VM (preflight saw each VM before it, so it is ours)."""
    latest: dict[str, Job] = {}
    for job in deps.asr.list_jobs():
        if job.scenario != scenario or job.start_time is None:
            continue
        key = job.target_name.lower()
        current = latest.get(key)
        if current is None or (current.start_time is not None and job.start_time > current.start_time):
            latest[key] = job
    return latest


def _keep_evidence(ctx: StepContext, row: dict[str, Any], phase: str, job: Job | None) -> None:
    """The phase was done before we recorded its job (a worker died after acting): keep ASR's job."""
    if job is None:
        return
    row["jobs"][phase] = job.name
    evidence = vs.record_job(ctx.state, job, phase)
    row.setdefault("phase_end", {})[phase] = evidence["end"]
    row.setdefault("started_at", {})[phase] = ctx.now.isoformat()


def run_phase(phase: ActionPhase, ctx: StepContext, deps: DrDeps) -> Outcome:
    req = request(ctx)
    todo = list(vs.pending(ctx.state, phase.name))
    if not todo:
        return Next(f"{phase.name}: nothing left to do")
    plan_state: dict[str, Any] = ctx.state.setdefault("plan", {"name": req.plan, "jobs": {}, "processed": []})
    if req.plan and phase.start_plan and phase.name not in plan_state["processed"]:
        return _plan_phase(phase, ctx, deps, req, plan_state)
    return _item_phase(phase, ctx, deps, req, todo)


def _plan_phase(
    phase: ActionPhase, ctx: StepContext, deps: DrDeps, req: DrRequest, plan_state: dict[str, Any]
) -> Outcome:
    assert req.plan and phase.start_plan
    job_name = plan_state["jobs"].get(phase.name)
    if job_name is None:
        plan = deps.asr.get_recovery_plan(req.plan)
        items = by_vm_name(deps.asr.list_protected_items())
        todo = list(vs.pending(ctx.state, phase.name))
        if plan.current_scenario == phase.scenario and plan.current_job_name:
            job_name = plan.current_job_name  # a previous attempt started it and crashed before recording
        elif all(vm.lower() in items and phase.completed(items[vm.lower()], row) for vm, row in todo):
            for _vm, row in todo:
                vs.mark_done(row, phase.name)
            plan_state["processed"].append(phase.name)
            return Next(f"{phase.name}: every item of plan {req.plan} is already past this step")
        elif not plan.allows(phase.operation):
            plan_state["processed"].append(phase.name)  # fall back to per-item handling, which names each VM
            return _item_phase(phase, ctx, deps, req, todo)
        else:
            job_name = phase.start_plan(deps, req, ctx.state)
        plan_state["jobs"][phase.name] = job_name
        plan_state.setdefault("started_at", {})[phase.name] = ctx.now.isoformat()
        vs.note_started_job(ctx.state, job_name, phase.name, req.plan)
        return _wait(req, f"{phase.name}: plan {req.plan} job {job_name} started", {"job": job_name})

    job = deps.asr.get_job(job_name)
    evidence = vs.record_job(ctx.state, job, phase.name)
    if not job.finished:
        return _wait(req, f"{phase.name}: plan job {job_name} {job.state}", {"job": job_name, "tasks": job.tasks})
    items = by_vm_name(deps.asr.list_protected_items())
    code, message = _job_failed_message(job)
    for vm, row in vs.pending(ctx.state, phase.name):
        item = items.get(vm.lower())
        if item is not None and (job.succeeded or phase.completed(item, row)):
            vs.mark_done(row, phase.name)
            row.setdefault("started_at", {})[phase.name] = plan_state.get("started_at", {}).get(phase.name)
            row.setdefault("phase_end", {})[phase.name] = evidence["end"]
        else:
            vs.mark_failed(row, phase.name, code, f"{message} (plan {req.plan})")
    plan_state["processed"].append(phase.name)
    return Next(f"{phase.name}: plan job {job_name} {job.state}", {"job": evidence})


def _item_phase(
    phase: ActionPhase, ctx: StepContext, deps: DrDeps, req: DrRequest, todo: list[tuple[str, dict[str, Any]]]
) -> Outcome:
    items = by_vm_name(deps.asr.list_protected_items())
    running = 0
    started: list[str] = []
    finished: dict[str, str] = {}
    # Groups run in order: a VM may start only when every VM of earlier groups finished this phase.
    current_group = min(row["group"] for _vm, row in todo) if phase.ordered else None
    throttled: SiteRecoveryError | None = None
    recent: dict[str, Job] | None = None
    for vm, row in todo:
        item = items.get(vm.lower())
        if item is None:
            vs.mark_failed(row, phase.name, "ItemNotFound", f"VM {vm} is no longer a protected item in the vault")
            continue
        row["item"], row["fabric"], row["container"] = item.name, item.fabric, item.container
        job_name = row["jobs"].get(phase.name)
        if job_name is None and phase.completed(item, row):
            # A drill VM whose test failover failed had nothing to clean up: its newest cleanup job is older.
            if not row.get("drill_error"):
                recent = recent if recent is not None else _latest_jobs(deps, phase.scenario)
                _keep_evidence(ctx, row, phase.name, recent.get(vm.lower()))
            vs.mark_done(row, phase.name)
            finished[vm] = "already done"
            continue
        if job_name is None and item.current_scenario == phase.scenario and item.current_job_name:
            job_name = row["jobs"][phase.name] = item.current_job_name  # adopt: never start it twice
            row.setdefault("started_at", {})[phase.name] = ctx.now.isoformat()
        if job_name is not None:
            job = deps.asr.get_job(job_name)
            evidence = vs.record_job(ctx.state, job, phase.name)
            if not job.finished:
                running += 1
            elif job.succeeded:
                vs.mark_done(row, phase.name)
                row.setdefault("phase_end", {})[phase.name] = evidence["end"]
                if job.new_item_id:
                    row["item_id"] = job.new_item_id
                finished[vm] = job.state
            else:
                vs.mark_failed(row, phase.name, *_job_failed_message(job))
                finished[vm] = job.state
            continue
        if current_group not in (None, row["group"]) or running >= req.parallelism or throttled is not None:
            continue
        if not item.allows(phase.operation):
            vs.mark_failed(
                row,
                phase.name,
                "OperationNotAllowed",
                f"ASR does not allow {phase.operation.value} on {vm} now: state {item.protection_state}"
                f" ({item.protection_state_description}), allowed {sorted(item.allowed_operations)}",
            )
            finished[vm] = "refused"
            continue
        try:
            job_name = phase.start_item(deps, item, row, req)
        except (Throttled, Transient) as exc:
            throttled = exc  # keep what already started; try the rest on the next call
            continue
        except (OperationNotAllowed, ResourceNotFound) as exc:
            vs.mark_failed(row, phase.name, exc.code, exc.message)
            finished[vm] = "refused"
            continue
        row["jobs"][phase.name] = job_name
        row.setdefault("started_at", {})[phase.name] = ctx.now.isoformat()
        vs.note_started_job(ctx.state, job_name, phase.name, vm)
        started.append(vm)
        running += 1
    details = {"started": started, "finished": finished, "running": running}
    if any(True for _ in vs.pending(ctx.state, phase.name)):
        reason = f"{phase.name}: {running} running, {len(started)} started"
        if throttled is not None:
            reason += f"; ASR throttled ({throttled.code}), the rest start later"
        return _wait(req, reason, details)
    return Next(f"{phase.name}: finished for every VM", details)
