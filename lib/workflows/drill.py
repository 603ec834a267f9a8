"""DR drill: preflight → test failover into an isolated network → validate → cleanup (always) → report.

Only test-failover operations are used, so production replication is never touched.
"""

from __future__ import annotations

from datetime import timedelta

from lib.domain.asr import Job, Operation, ProtectedItem
from lib.domain.dr import DrRequest
from lib.engine import Next, Outcome, Step, StepContext, Wait, Workflow
from lib.ports.site_recovery import by_vm_name
from lib.workflows.cancel import drill_verdict, on_drill_cancel
from lib.workflows.deps import DrDeps
from lib.workflows.evidence import report
from lib.workflows.phases import ActionPhase, run_phase
from lib.workflows.preflight import preflight, renew_locks
from lib.workflows.runstate import ProbeRecord, RunState, TestVmCheck, Validation
from lib.workflows.steps import request, ride_out, with_state
from lib.workflows.vmstate import VmProgress

PROBE_ATTEMPTS = 5
WAITING = "WaitingForCompletion"


def _start_test(deps: DrDeps, item: ProtectedItem, row: VmProgress, req: DrRequest) -> str:
    assert req.test_network_id  # parse_request requires it for drills
    return deps.asr.test_failover(item.ref, network_id=req.test_network_id, recovery_point_id=req.recovery_point_id)


def _start_plan_test(deps: DrDeps, req: DrRequest, state: RunState) -> str:
    assert req.plan and req.test_network_id  # only plan drills start plan actions
    return deps.asr.plan_test_failover(
        req.plan,
        network_id=req.test_network_id,
        direction=state.plan_direction(),
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
    stoppable=True,
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


def test_failover(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    renew_locks(ctx, deps, state)
    return run_phase(TEST_FAILOVER, ctx, deps, state)


def check_test_vm(item: ProtectedItem | None, job: Job | None) -> TestVmCheck:
    """Pure: the test VM runs (ASR finished the test failover and its start task) and no task failed."""
    failed_tasks = [name for name, task_state in (job.tasks if job else ()) if task_state not in ("Succeeded", "Other")]
    running = item is not None and item.test_failover_state == WAITING and bool(item.test_vm_name)
    ok = running and job is not None and job.succeeded and not failed_tasks
    return TestVmCheck(item.test_vm_name if item else None, ok, failed_tasks)


def _check_vms(state: RunState, deps: DrDeps, result: Validation) -> list[str]:
    items = by_vm_name(deps.asr.list_protected_items())
    plan_jobs = state.plan.jobs if state.plan else {}
    problems: list[str] = []
    jobs: dict[str, Job] = {}
    for vm, row in state.vms.items():
        if not row.active:
            problems.append(f"{vm}: test failover failed ({row.error.message if row.error else ''})")
            continue
        job_name = row.jobs.get("test_failover") or plan_jobs.get("test_failover")
        if job_name and job_name not in jobs:
            jobs[job_name] = deps.asr.get_job(job_name)  # a plan's one job serves every VM: fetch it once
        check = result.vms[vm] = check_test_vm(items.get(vm.lower()), jobs.get(job_name) if job_name else None)
        if not check.ok:
            problems.append(f"{vm}: test VM not running (tasks not finished: {check.failed_tasks or 'unknown'})")
    return problems


def _probe(req: DrRequest, deps: DrDeps, result: Validation, url: str) -> Wait | str | None:
    """Probe the app: a wait to probe again, the problem after the last attempt, or None when it answers."""
    answer = deps.probe.check(url)
    result.probe_attempts += 1
    result.probe = ProbeRecord(url, answer.ok, answer.detail)
    if answer.ok:
        return None
    if result.probe_attempts < PROBE_ATTEMPTS:
        return Wait(
            timedelta(seconds=req.timing.job_poll_s),
            f"probe {url} failed ({answer.detail}); retry {result.probe_attempts}",
        )
    return f"probe {url} failed {result.probe_attempts} times: {answer.detail}"


def validate(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    """Test VMs exist and run; the app answers if probed."""
    if state.stop_requested:
        return Next("validation skipped: the drill was cancelled; cleaning up", goto="cleanup")
    req = request(ctx)
    result = state.validation = state.validation or Validation()
    problems = _check_vms(state, deps, result)
    if req.probe_url and not problems:
        probed = _probe(req, deps, result, req.probe_url)
        if isinstance(probed, Wait):
            return probed
        problems += [probed] if probed else []
    result.ok = not problems
    result.reason = "; ".join(problems)
    text = "validation passed" if not problems else f"validation failed: {result.reason}"
    return Next(text, {"validation": result.to_json()})


def cleanup(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    renew_locks(ctx, deps, state)
    # Clean up everything a test failover may have created, also where it or the validation failed.
    for row in state.vms.values():
        if not row.active and row.error and row.error.phase == "test_failover":
            row.drill_error = row.error
            row.reactivate()
    return run_phase(CLEANUP, ctx, deps, state)


def _report(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    return drill_verdict(state, report(ctx, deps, state))


def _on_resume(stored: dict[str, object], failed_step: str) -> str:
    """A drill is a test: resuming runs it again for every VM (the earlier test VMs are already gone)."""
    state = RunState.load(stored)
    for row in state.vms.values():
        row.reactivate()
        row.done, row.jobs, row.drill_error = [], {}, None
    state.validation = None
    if state.plan:
        state.plan.processed.clear()
        state.plan.jobs.clear()
    state.save(stored)
    return "test_failover"


DRILL_WORKFLOW: Workflow[DrDeps] = Workflow(
    name="drill",
    steps=(
        Step("preflight", ride_out(preflight)),
        Step("test_failover", ride_out(test_failover)),
        Step("validate", ride_out(validate)),
        Step("cleanup", ride_out(cleanup)),
        Step("report", with_state(_report)),
    ),
    on_resume=_on_resume,
    on_cancel=on_drill_cancel,
)
