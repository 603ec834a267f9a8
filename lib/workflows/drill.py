"""DR drill: preflight → test failover into an isolated network → validate → cleanup (always) → report.

Only test-failover operations are used, so production replication is never touched.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from lib.domain.asr import Job, Operation, ProtectedItem
from lib.domain.dr import DrRequest
from lib.engine.api import Next, Outcome, Step, StepContext, Wait, Workflow
from lib.ports.site_recovery import by_vm_name
from lib.workflows import vmstate as vs
from lib.workflows.deps import DrDeps
from lib.workflows.evidence import report
from lib.workflows.phases import ActionPhase, request, ride_out, run_phase
from lib.workflows.preflight import preflight, renew_locks

PROBE_ATTEMPTS = 5
WAITING = "WaitingForCompletion"


def _start_test(deps: DrDeps, item: ProtectedItem, row: dict[str, Any], req: DrRequest) -> str:
    assert req.test_network_id
    return deps.asr.test_failover(item.ref, network_id=req.test_network_id, recovery_point_id=req.recovery_point_id)


def _start_plan_test(deps: DrDeps, req: DrRequest, state: dict[str, Any]) -> str:
    assert req.plan and req.test_network_id
    reverse = any(row.get("reverse") for row in vs.vm_table(state).values())
    return deps.asr.plan_test_failover(
        req.plan,
        network_id=req.test_network_id,
        direction="RecoveryToPrimary" if reverse else "PrimaryToRecovery",
        recovery_point_type=req.recovery_point,
    )


TEST_FAILOVER = ActionPhase(
    name="test_failover",
    operation=Operation.TEST_FAILOVER,
    scenario="TestFailover",
    completed=lambda item, row: item.test_failover_state == WAITING,
    start_item=_start_test,
    start_plan=_start_plan_test,
    ordered=True,
)
CLEANUP = ActionPhase(
    name="cleanup",
    operation=Operation.TEST_FAILOVER_CLEANUP,
    scenario="TestFailoverCleanup",
    completed=lambda item, row: item.test_failover_state != WAITING and item.current_scenario != "TestFailover",
    start_item=lambda deps, item, row, req: deps.asr.test_failover_cleanup(item.ref, comments=_comment(req)),
    start_plan=lambda deps, req, state: deps.asr.plan_test_failover_cleanup(str(req.plan), comments=_comment(req)),
)


def _comment(req: DrRequest) -> str:
    return f"Site Recovery Autopilot drill{': ' + req.reason if req.reason else ''}"


def test_failover(ctx: StepContext, deps: DrDeps) -> Outcome:
    renew_locks(ctx, deps)
    return run_phase(TEST_FAILOVER, ctx, deps)


def validate(ctx: StepContext, deps: DrDeps) -> Outcome:
    """Test VMs exist and run (ASR finished the test failover and its start task); the app answers if probed."""
    req = request(ctx)
    result: dict[str, Any] = ctx.state.setdefault("validation", {"vms": {}, "probe": None})
    items = by_vm_name(deps.asr.list_protected_items())
    problems: list[str] = []
    jobs: dict[str, Job] = {}
    for vm, row in vs.vm_table(ctx.state).items():
        if row["status"] != vs.ACTIVE:
            problems.append(f"{vm}: test failover failed ({(row['error'] or {}).get('message', '')})")
            continue
        item = items.get(vm.lower())
        job_name = row["jobs"].get("test_failover") or ctx.state.get("plan", {}).get("jobs", {}).get("test_failover")
        if job_name and job_name not in jobs:
            jobs[job_name] = deps.asr.get_job(job_name)  # a plan's one job serves every VM: fetch it once
        job = jobs.get(job_name) if job_name else None
        failed_tasks = [name for name, state in (job.tasks if job else ()) if state not in ("Succeeded", "Other")]
        running = item is not None and item.test_failover_state == WAITING and bool(item.test_vm_name)
        ok = running and job is not None and job.succeeded and not failed_tasks
        result["vms"][vm] = {"test_vm": item.test_vm_name if item else None, "ok": ok, "failed_tasks": failed_tasks}
        if not ok:
            problems.append(f"{vm}: test VM not running (tasks not finished: {failed_tasks or 'unknown'})")
    if req.probe_url and not problems:
        probe = deps.probe.check(req.probe_url)
        attempts = int(result.get("probe_attempts", 0)) + 1
        result["probe_attempts"] = attempts
        result["probe"] = {"url": req.probe_url, "ok": probe.ok, "detail": probe.detail}
        if not probe.ok and attempts < PROBE_ATTEMPTS:
            return Wait(
                timedelta(seconds=req.timing.job_poll_s),
                f"probe {req.probe_url} failed ({probe.detail}); retry {attempts}",
            )
        if not probe.ok:
            problems.append(f"probe {req.probe_url} failed {attempts} times: {probe.detail}")
    result["ok"] = not problems
    result["reason"] = "; ".join(problems)
    return Next(
        "validation passed" if not problems else f"validation failed: {result['reason']}", {"validation": result}
    )


def cleanup(ctx: StepContext, deps: DrDeps) -> Outcome:
    renew_locks(ctx, deps)
    # Clean up everything a test failover may have created, also where it or the validation failed.
    for row in vs.vm_table(ctx.state).values():
        if row["status"] == vs.FAILED and (row["error"] or {}).get("phase") == "test_failover":
            row["drill_error"], row["status"], row["error"] = row["error"], vs.ACTIVE, None
    return run_phase(CLEANUP, ctx, deps)


def _on_resume(state: dict[str, Any], failed_step: str) -> str:
    """A drill is a test: resuming runs it again for every VM (the earlier test VMs are already gone)."""
    for row in vs.vm_table(state).values():
        row["status"], row["error"], row["done"], row["jobs"] = vs.ACTIVE, None, [], {}
        row.pop("drill_error", None)
    state.pop("validation", None)
    state.get("plan", {}).get("processed", []).clear()
    state.get("plan", {}).get("jobs", {}).clear()
    return "test_failover"


DRILL_WORKFLOW: Workflow[DrDeps] = Workflow(
    name="drill",
    steps=(
        Step("preflight", ride_out(preflight)),
        Step("test_failover", ride_out(test_failover)),
        Step("validate", ride_out(validate)),
        Step("cleanup", ride_out(cleanup)),
        Step("report", report),
    ),
    on_resume=_on_resume,
)
