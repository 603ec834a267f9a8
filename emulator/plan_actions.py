"""Recovery-plan actions: boot groups run in order (group N+1 starts when group N has finished).

Plan direction is relative to the plan's fixed primary fabric: ``PrimaryToRecovery`` while the members
replicate in the original direction, ``RecoveryToPrimary`` for a plan-level failback after they were
reprotected (asr-api.md §7.2 inference). Allowed operations derive from the members (§7.3 suggestion).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator.actions import (
    DIRECTIONS,
    SOURCE_SITE_OPERATIONS,
    properties,
    protected_item_details,
    resolve_point,
    test_network,
)
from emulator.backend import Backend
from emulator.errors import BadRequest, OperationNotAllowed
from emulator.job_records import Unit, finish_job, job_error, new_job
from emulator.jobs import (
    FAR_FUTURE,
    cleanup_unit,
    commit_unit,
    failover_unit,
    jitter,
    lay_out,
    test_failover_unit,
)
from emulator.models import COMMIT_PENDING, PROTECTED, TFO_WAITING, Item, Job, Plan, Scenario, Task

POINT_TYPES = ("Latest", "LatestApplicationConsistent", "LatestCrashConsistent", "LatestProcessed")


def members(b: Backend, plan: Plan) -> list[Item]:
    return [b.items[name] for name in plan.item_names]


def plan_direction(b: Backend, plan: Plan) -> str | None:
    forward = {item.forward for item in members(b, plan)}
    if forward == {False}:
        return "RecoveryToPrimary"
    if forward == {True} or not forward:
        return "PrimaryToRecovery"
    return None


def plan_allowed(b: Backend, plan: Plan) -> list[str]:
    items = members(b, plan)
    if plan.busy_job is not None or any(item.busy_job for item in items):
        return []
    if items and all(item.state == PROTECTED and item.tfo_state == TFO_WAITING for item in items):
        return ["TestFailoverCleanup"]
    if any(item.state == COMMIT_PENDING for item in items):
        return ["Commit"]
    if all(item.state == PROTECTED and item.tfo_state != TFO_WAITING for item in items) and plan_direction(b, plan):
        return ["UnplannedFailover", "TestFailover"]
    return []


def _check(b: Backend, plan: Plan, operation: str) -> None:
    allowed = plan_allowed(b, plan)
    if operation not in allowed:
        raise OperationNotAllowed(operation, plan.name, allowed)


def _check_direction(b: Backend, plan: Plan, props: dict[str, Any], operation: str) -> None:
    direction = props.get("failoverDirection")
    if direction not in DIRECTIONS:
        raise BadRequest(f"'failoverDirection' is required and must be one of {list(DIRECTIONS)}.")
    expected = plan_direction(b, plan)
    if direction != expected:
        raise OperationNotAllowed(
            f"{operation} ({direction})",
            plan.name,
            plan_allowed(b, plan),
            reason=f"The plan's items currently replicate in the direction '{expected}'; fail over with that "
            "direction.",
        )


def _point_type(props: dict[str, Any]) -> str:
    details = props.get("providerSpecificDetails") or []
    if not isinstance(details, list):
        raise BadRequest("'providerSpecificDetails' must be a list for recovery-plan actions.")
    for entry in details:
        if isinstance(entry, dict) and entry.get("instanceType") == "A2A":
            kind = entry.get("recoveryPointType") or "Latest"
            if kind not in POINT_TYPES:
                raise BadRequest(f"'recoveryPointType' must be one of {list(POINT_TYPES)}.")
            return str(kind)
    return "Latest"


def _plan_job(b: Backend, plan: Plan, scenario: str, friendly: str, now: datetime) -> tuple[Job, random.Random]:
    job, rng = new_job(
        b,
        scenario=scenario,
        friendly=friendly,
        target_kind="plan",
        target_name=plan.name,
        object_name=plan.name,
        object_id=plan.guid,
        instance_type="RecoveryPlan",
        result_kind="plans.get",
        result_ref=(plan.name,),
        item_names=list(plan.item_names),
        start=now,
    )
    b.busy(plan, job)
    plan.scenario_status = ("InProgress", "InProgress")
    for item in members(b, plan):
        item.busy_job = job.name
        item.scenario = Scenario(scenario, job.name, now)
    return job, rng


def _group_task(task_id: str, friendly: str, start: datetime, units: list[Unit]) -> Task:
    end = max((u.end for u in units), default=start)
    children = [
        Task(u.item.name, u.item.vm, u.item.vm, u.start, u.end, outcome="Failed" if u.error else "Succeeded")
        for u in units
    ]
    outcome = "Failed" if any(u.error for u in units) else "Succeeded"
    return Task(
        task_id, task_id, friendly, start, end, outcome=outcome, children=children, task_type="GroupTaskDetails"
    )


def _run_groups(
    job: Job, plan: Plan, b: Backend, start: datetime, *, unit_for: Callable[[Item, datetime], Unit], label: str
) -> tuple[list[Task], datetime, list[Unit]]:
    """Boot groups in order; after a failed group the remaining ones never start."""
    tasks: list[Task] = []
    units: list[Unit] = []
    t = start
    failed = False
    for index, group in enumerate(plan.groups, 1):
        task_id, friendly = f"BootGroup{index}Task", f"Group {index}: {label}"
        if failed:
            tasks.append(
                Task(task_id, task_id, friendly, FAR_FUTURE, FAR_FUTURE, outcome="NotRun", task_type="GroupTaskDetails")
            )
            continue
        group_units = [unit_for(b.items[name], t) for name in group]
        task = _group_task(task_id, friendly, t, group_units)
        tasks.append(task)
        units.extend(group_units)
        t = task.end
        failed = task.outcome == "Failed"
    return tasks, t, units


def _stopper(item: Item, region: str) -> Callable[[datetime], None]:
    def stop(at: datetime) -> None:
        item.vm_running[region] = False

    return stop


def _shutdown_group(b: Backend, job: Job, plan: Plan, start: datetime, rng: random.Random) -> tuple[Task, list[Unit]]:
    units: list[Unit] = []
    for item in members(b, plan):
        end = start + jitter(rng, 45)
        unit = Unit(item, [], start, end)
        if b.faults.match_job("shutdownFailure", item.vm, "UnplannedFailover") is not None:
            unit.warning = job_error(
                "70094", f"Failed to shut down the virtual machine '{item.vm}' in the primary region.",
                "ShutdownGroupTask", end, level="Warning",
            )  # fmt: skip
        else:
            b.schedule(end, _stopper(item, item.primary), job)
        units.append(unit)
    task = _group_task("ShutdownGroupTask", "Group Shutdown: Shut down the virtual machines", start, units)
    for child, unit in zip(task.children, units, strict=True):
        if unit.warning:
            child.outcome = "Warning"
            child.errors.append(unit.warning)
    return task, units


def plan_unplanned_failover(b: Backend, plan: Plan, body: Any, now: datetime) -> Job:
    props = properties(body)
    _check(b, plan, "UnplannedFailover")
    _check_direction(b, plan, props, "UnplannedFailover")
    sso = props.get("sourceSiteOperations")
    if sso not in SOURCE_SITE_OPERATIONS:
        raise BadRequest(f"'sourceSiteOperations' is required and must be one of {list(SOURCE_SITE_OPERATIONS)}.")
    kind = _point_type(props)
    points = {item.name: resolve_point(b, item, None, now, kind) for item in members(b, plan)}
    job, rng = _plan_job(b, plan, "UnplannedFailover", "Failover", now)
    plan.last_unplanned_failover = now
    tasks, t, _ = lay_out(
        now, rng, [("RecoveryPlanPreflightTask", "RecoveryPlanPreflightTask", "Prerequisites check for failover", 10)]
    )
    shutdown_units: list[Unit] = []
    if sso == "Required":
        shutdown, shutdown_units = _shutdown_group(b, job, plan, t, rng)
        tasks.append(shutdown)
        t = shutdown.end

    def unit_for(item: Item, start: datetime) -> Unit:
        return failover_unit(b, job, item, start, rng, shutdown=False, rp_id=points[item.name][0])

    group_tasks, end, units = _run_groups(job, plan, b, t, unit_for=unit_for, label="Start")
    job.tasks, job.end = tasks + group_tasks, end
    job.custom_details = {
        "instanceType": "FailoverJobDetails",
        "affectedObjectDetails": {"recoveryPlanName": plan.name},
        "protectedItemDetails": [
            protected_item_details(item, rp=points[item.name], test=False, network=None) for item in members(b, plan)
        ],
    }
    finish_job(b, job, shutdown_units + units)
    b.add_job(job)
    return job


def plan_test_failover(b: Backend, plan: Plan, body: Any, now: datetime) -> Job:
    props = properties(body)
    _check(b, plan, "TestFailover")
    _check_direction(b, plan, props, "TestFailover")
    if not props.get("networkType"):
        raise BadRequest("'networkType' is required for a recovery-plan test failover.")
    network = test_network(props)
    _point_type(props)
    job, rng = _plan_job(b, plan, "TestFailover", "Test failover", now)
    plan.last_test_failover = now
    tasks, t, _ = lay_out(
        now,
        rng,
        [("RecoveryPlanPreflightTask", "RecoveryPlanPreflightTask", "Prerequisites check for test failover", 10)],
    )

    def unit_for(item: Item, start: datetime) -> Unit:
        return test_failover_unit(b, job, item, start, rng, network=network or "")

    group_tasks, end, units = _run_groups(job, plan, b, t, unit_for=unit_for, label="Start")
    job.tasks, job.end = tasks + group_tasks, end
    job.custom_details = {
        "instanceType": "TestFailoverJobDetails",
        "affectedObjectDetails": {"recoveryPlanName": plan.name},
        "testFailoverStatus": None,
        "comments": None,
        "networkName": network.rsplit("/", 1)[-1] if network else None,
        "networkFriendlyName": network.rsplit("/", 1)[-1] if network else None,
        "networkType": props.get("networkType"),
        "protectedItemDetails": [
            protected_item_details(i, rp=None, test=True, network=network) for i in members(b, plan)
        ],
    }
    finish_job(b, job, units, keep_scenario=True)
    b.add_job(job)
    return job


def _parallel(
    b: Backend,
    plan: Plan,
    now: datetime,
    *,
    scenario: tuple[str, str, str],
    wanted: Callable[[Item], bool],
    unit_fn: Callable[[Backend, Job, Item, datetime, random.Random], Unit],
) -> Job:
    """Every wanted member at once (commit, cleanup); ``scenario`` = (name, job friendly name, group label)."""
    name, friendly, label = scenario
    job, rng = _plan_job(b, plan, name, friendly, now)
    tasks, t, _ = lay_out(
        now, rng, [("RecoveryPlanPreflightTask", "RecoveryPlanPreflightTask", "Prerequisite check", 5)]
    )
    units = [unit_fn(b, job, item, t, rng) for item in members(b, plan) if wanted(item)]
    group = _group_task("RecoveryPlanGroupTask", label, t, units)
    job.tasks, job.end = [*tasks, group], group.end
    job.custom_details = {"instanceType": "AsrJobDetails", "affectedObjectDetails": {"recoveryPlanName": plan.name}}
    finish_job(b, job, units)
    b.add_job(job)
    return job


def plan_test_failover_cleanup(b: Backend, plan: Plan, body: Any, now: datetime) -> Job:
    properties(body, required=False)
    _check(b, plan, "TestFailoverCleanup")
    return _parallel(
        b,
        plan,
        now,
        scenario=("TestFailoverCleanup", "Test failover cleanup", "Cleaning up test failover"),
        wanted=lambda item: item.tfo_state == TFO_WAITING,
        unit_fn=cleanup_unit,
    )


def plan_failover_commit(b: Backend, plan: Plan, now: datetime) -> Job:
    _check(b, plan, "Commit")
    return _parallel(
        b,
        plan,
        now,
        scenario=("CommitFailover", "Commit", "Commit"),
        wanted=lambda item: item.state == COMMIT_PENDING,
        unit_fn=commit_unit,
    )
