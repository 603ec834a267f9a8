"""Job progression: task timelines per scenario and the item effects they drive.

A job is laid out completely when it starts (jittered task durations from a per-job seeded RNG; an injected
failure decides which task fails). The item effects are scheduled on the backend's effect queue at the
emulated times they happen, so reads made while the job runs see the intermediate item states.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from emulator import outage
from emulator.backend import Backend
from emulator.job_records import Unit, job_error, new_job
from emulator.models import (
    COMMIT_PENDING,
    COMMITTED,
    IR,
    PROTECTED,
    TFO_MARKED,
    TFO_MARKED_LINGER,
    TFO_NONE,
    TFO_WAITING,
    Event,
    Item,
    Job,
    Task,
    no_tfo_issue,
)

FAR_FUTURE = datetime(9999, 1, 1, tzinfo=UTC)

# (taskId, name, friendly name, emulated seconds). Friendly names from asr-api.md §5.1.
FAILOVER_STEPS = [
    ("UnplannedFailoverPreflightTask", "UnplannedFailoverPreflightTask", "Prerequisites check for failover", 10),
    ("ShutdownVmTask", "ShutdownVmTask", "Shut down the virtual machine", 45),
    ("SyncLatestChangesTask", "SyncLatestChangesTask", "Synchronizing the latest changes", 30),
    ("FailoverTask", "VmFailover", "Start failover", 55),
    ("StartReplicaVmTask", "StartReplicaVmTask", "Start the replica virtual machine", 25),
]
TFO_STEPS = [
    ("TestFailoverPreflightTask", "TestFailoverPreflightTask", "Prerequisites check for test failover", 10),
    ("CreateTestVmTask", "CreateTestVmTask", "Create test virtual machine", 90),
    ("PrepareVmTask", "PrepareVmTask", "Preparing the virtual machine", 60),
    ("StartTestVmTask", "StartTestVmTask", "Start the virtual machine", 50),
]
CLEANUP_STEPS = [
    ("TestFailoverCleanupPreflightTask", "TestFailoverCleanupPreflightTask", "Prerequisite check", 5),
    ("CleanupTestVmTask", "CleanupTestVmTask", "Cleaning up test environment", 115),
]
COMMIT_STEPS = [  # a commit takes seconds in the recordings
    ("CommitFailoverPreflightTask", "CommitFailoverPreflightTask", "Prerequisite check", 2),
    ("CommitFailoverTask", "VmCommitFailover", "Commit", 6),
]
SWITCH_STEPS = [
    ("SwitchReplicationGroupProtectionPreflightTask", "SwitchReplicationGroupProtectionPreflightTask",
     "Prerequisite check", 1),
    ("CommitFailoverTask", "VmCommitFailover", "Committing failover", 0),
    ("DiscoverReplicaTask", "DiscoverReplicaTask", "Discovering replica virtual machine", 60),
    ("GetSwitchProtectionRequirementsTask", "GetSwitchProtectionRequirementsTask",
     "Getting reprotection requirements", 60),
    ("ProtectReplicaTask", "ProtectReplicaTask", "Reprotecting virtual machine", 420),
]  # fmt: skip
# The task that fails when a jobFailure fault matches, per operation.
FAILING_TASK = {
    "UnplannedFailover": "FailoverTask",
    "TestFailover": "CreateTestVmTask",
    "TestFailoverCleanup": "CleanupTestVmTask",
    "Commit": "CommitFailoverTask",
    "SwitchProtection": "ProtectReplicaTask",
}
DEFAULT_FAILURES = {
    "UnplannedFailover": ("70038", "The failover of the virtual machine '{vm}' failed."),
    "TestFailover": ("28031", "The test failover of the virtual machine '{vm}' failed."),
    "TestFailoverCleanup": ("28092", "The test failover cleanup of the virtual machine '{vm}' failed."),
    "Commit": ("70042", "The commit of the failover of the virtual machine '{vm}' failed."),
    "SwitchProtection": ("150261", "Reprotect of the virtual machine '{vm}' failed."),
}
# Reverse initial replication follows disk size: 12 min plus 12 s per GiB (127 GiB: ~30-46 min with the jitter,
# as recorded), at most 2 h (emulated).
IR_BASE_SECONDS = 12 * 60
IR_SECONDS_PER_GIB = 12
IR_MAX_SECONDS = 2 * 3600
IR_JITTER = (0.8, 1.2)
MONITORING_STEP = timedelta(minutes=5)  # ASR refreshes monitoringPercentageCompletion periodically


def jitter(rng: random.Random, seconds: float) -> timedelta:
    return timedelta(seconds=seconds * rng.uniform(0.85, 1.15)) if seconds else timedelta(0)


def lay_out(
    start: datetime,
    rng: random.Random,
    steps: list[tuple[str, str, str, int]],
    *,
    fail_task: str | None = None,
    skip: frozenset[str] = frozenset(),
) -> tuple[list[Task], datetime, Task | None]:
    """Sequential tasks from ``start``; everything after a failed task never runs."""
    t = start
    tasks: list[Task] = []
    failed: Task | None = None
    for task_id, name, friendly, seconds in steps:
        if failed is not None:
            tasks.append(Task(task_id, name, friendly, FAR_FUTURE, FAR_FUTURE, outcome="NotRun"))
            continue
        if task_id in skip or seconds == 0:
            tasks.append(Task(task_id, name, friendly, t, t, outcome="Skipped"))
            continue
        end = t + jitter(rng, seconds)
        task = Task(task_id, name, friendly, t, end)
        if task_id == fail_task:
            task.outcome = "Failed"
            failed = task
        tasks.append(task)
        t = end
    return tasks, t, failed


def failure_for(b: Backend, item: Item, operation: str) -> tuple[str, str] | None:
    if operation == "SwitchProtection":
        down = outage.reprotect_failure(b, item)
        if down is not None:
            return down
    rule = b.faults.match_job("jobFailure", item.vm, operation)
    if rule is None:
        return None
    code, message = DEFAULT_FAILURES[operation]
    return rule.code or code, (rule.message or message).format(vm=item.vm)


def _unit(
    b: Backend,
    item: Item,
    operation: str,
    start: datetime,
    rng: random.Random,
    *,
    steps: list[Any],
    skip: frozenset[str],
) -> Unit:
    failure = failure_for(b, item, operation)
    fail_task = FAILING_TASK[operation] if failure else None
    slow = b.faults.match_job("jobSlow", item.vm, operation)
    if slow is not None:  # this VM's job takes longer: its main task runs ``seconds`` more (before the jitter)
        main = FAILING_TASK[operation]
        steps = [(t, n, f, s + int(slow.seconds) if t == main else s) for t, n, f, s in steps]
    if failure is not None and failure[0] == outage.REPROTECT_CODE:
        fail_task = steps[0][0]  # the prerequisite check finds the target site unavailable
    tasks, end, failed = lay_out(start, rng, steps, fail_task=fail_task, skip=skip)
    unit = Unit(item, tasks, start, end)
    if failed is not None and failure is not None:
        unit.error = job_error(failure[0], failure[1], failed.task_id, failed.end)
        failed.errors.append(unit.error)
    return unit


# --- per-item units: tasks + scheduled effects -----------------------------------------------------------
def failover_unit(
    b: Backend, job: Job, item: Item, start: datetime, rng: random.Random, *, shutdown: bool, rp_id: str
) -> Unit:
    skip = frozenset() if shutdown else frozenset({"ShutdownVmTask"})
    unit = _unit(b, item, "UnplannedFailover", start, rng, steps=FAILOVER_STEPS, skip=skip)
    source = item.primary
    if shutdown:
        task = next(t for t in unit.tasks if t.task_id == "ShutdownVmTask")
        region_down = outage.shutdown_blocked(b, item)
        if region_down or b.faults.match_job("shutdownFailure", item.vm, "UnplannedFailover") is not None:
            # ASR carries on with the failover when the source VM cannot be shut down; the task reports it.
            task.outcome = "Warning"
            why = f" (region '{source}' is unavailable)" if region_down else ""
            unit.warning = job_error(
                "70094", f"Failed to shut down the virtual machine '{item.vm}' in the primary region{why}.",
                task.task_id, task.end, level="Warning",
            )  # fmt: skip
            task.errors.append(unit.warning)
        elif task.outcome == "Succeeded":
            b.schedule(task.end, lambda at: item.vm_running.__setitem__(source, False), job)
    if unit.error is None:

        def failed_over(at: datetime) -> None:
            item.state = COMMIT_PENDING
            item.last_failover_time = at
            item.failover_rp_id = rp_id
            item.vm_running[item.recovery] = True
            item.health = []
            item.monitoring_pct = None
            item.monitoring_job_type = None

        b.schedule(unit.end, failed_over, job)
    return unit


def commit_unit(b: Backend, job: Job, item: Item, start: datetime, rng: random.Random) -> Unit:
    unit = _unit(b, item, "Commit", start, rng, steps=COMMIT_STEPS, skip=frozenset())
    if unit.error is None:
        b.schedule(unit.end, lambda at: setattr(item, "state", COMMITTED), job)
    return unit


def test_failover_unit(b: Backend, job: Job, item: Item, start: datetime, rng: random.Random, *, network: str) -> Unit:
    unit = _unit(b, item, "TestFailover", start, rng, steps=TFO_STEPS, skip=frozenset())
    if unit.error is None:

        def waiting(at: datetime) -> None:
            item.tfo_state = TFO_WAITING
            item.test_vm_running = True
            item.tfo_network_id = network

        b.schedule(unit.end, waiting, job)
    return unit


def cleanup_unit(b: Backend, job: Job, item: Item, start: datetime, rng: random.Random) -> Unit:
    unit = _unit(b, item, "TestFailoverCleanup", start, rng, steps=CLEANUP_STEPS, skip=frozenset())
    if unit.error is None:

        def cleared(at: datetime) -> None:
            if item.tfo_state == TFO_MARKED:
                item.tfo_state = TFO_NONE

        def cleaned(at: datetime) -> None:
            # The state lingers as MarkedForDeletion for a while before it clears (as ASR shows it).
            item.tfo_state = TFO_MARKED
            b.schedule(at + TFO_MARKED_LINGER, cleared)
            item.test_vm_running = False
            item.last_tfo_time = at
            item.health = [h for h in item.health if h.code != "161011"]
            item.scenario = None

        b.schedule(unit.end, cleaned, job)
    return unit


def ir_seconds(item: Item, rng: random.Random) -> float:
    base = min(IR_MAX_SECONDS, IR_BASE_SECONDS + IR_SECONDS_PER_GIB * item.disk_gib)
    return base * rng.uniform(*IR_JITTER)


def monitoring_percentage(item: Item, now: datetime) -> int | None:
    """IR progress as ASR reports it: null until the first refresh, refreshed every few minutes, stalled for
    one refresh (``ir_stall_step``), and stale (below 100) once Protected."""
    if item.state != IR or item.ir_start is None or item.ir_end is None:
        return item.monitoring_pct
    total = (item.ir_end - item.ir_start).total_seconds()
    steps = (now - item.ir_start) // MONITORING_STEP
    if steps == 0:
        return None
    if steps == item.ir_stall_step:
        steps -= 1  # the reading did not move this time
    return min(99, int(100 * (MONITORING_STEP * steps).total_seconds() / total))


def switch_unit(b: Backend, job: Job, item: Item, start: datetime, rng: random.Random) -> Unit:
    unit = _unit(b, item, "SwitchProtection", start, rng, steps=SWITCH_STEPS, skip=frozenset({"CommitFailoverTask"}))
    group = next(t for t in unit.tasks if t.task_id == "ProtectReplicaTask")
    group.task_type = "GroupTaskDetails"
    group.done_friendly_name = "Reprotecting virtual machine (1)"
    child = _enable_dr_job(b, item, group)
    group.children = [
        Task("EnableDr", item.vm, item.vm, group.start, group.end, outcome=group.outcome, task_type="JobTaskDetails",
             job_task={"jobId": b.job_id(child.name), "jobFriendlyName": child.friendly_name,
                       "targetObjectId": item.guid, "targetObjectName": item.vm, "targetInstanceType": "Vm",
                       "jobScenarioName": child.scenario})
    ]  # fmt: skip
    if unit.error is not None:
        return unit
    ir_duration = timedelta(seconds=ir_seconds(item, rng))
    refreshes = int(ir_duration / MONITORING_STEP)
    # One refresh that does not move, somewhere in the first half of a replication long enough to show it.
    stall_step = rng.randint(2, refreshes // 2) if refreshes >= 6 else None

    def switched(at: datetime) -> None:
        old_primary = item.primary
        item.primary = item.recovery
        job.new_item_id = b.item_id(item)
        item.state = IR
        item.vm_running[old_primary] = False
        item.ir_start, item.ir_end = at, at + ir_duration
        item.ir_stall_step = stall_step
        item.monitoring_pct, item.monitoring_job_type = None, "InitialReplication"
        item.health = []
        item.last_failover_time = None
        item.failover_rp_id = None
        item.event_correlation_id = b.new_guid()
        item.lifecycle_id = None
        item.protected_since = None
        item.rpo_seconds = None
        item.last_rpo_time = None
        b.schedule(item.ir_end, lambda when: ir_done(b, item, when))

    b.schedule(unit.end, switched, job)
    return unit


def _enable_dr_job(b: Backend, item: Item, group: Task) -> Job:
    """The child 'Enable replication' job ASR runs inside the reprotect (switch-protection) job."""
    job, _ = new_job(
        b, scenario="EnableDr", friendly="Enable replication", target_kind="item", target_name=item.name,
        object_name=item.vm, object_id=item.guid, instance_type="Vm", result_kind="items.get",
        result_ref=(item.name,), item_names=[], start=group.start,
    )  # fmt: skip
    job.end = group.end
    job.tasks = [
        Task("EnableDrTask", "EnableDrTask", "Enabling protection", group.start, group.end, outcome=group.outcome)
    ]
    if group.outcome == "Failed":
        job.outcome, job.outcome_description = "Failed", "Failed"
        job.errors = list(group.errors)
    job.custom_details = {"instanceType": "AsrJobDetails", "affectedObjectDetails": {"primaryVmName": item.vm}}
    b.add_job(job)
    return job


def ir_done(b: Backend, item: Item, at: datetime) -> None:
    if item.state != IR:
        return
    item.monitoring_pct = monitoring_percentage(item, at - timedelta(microseconds=1))
    item.state = PROTECTED
    item.protected_since = at
    item.lifecycle_id = b.new_guid()
    item.rpo_seconds = 114
    item.last_rpo_time = at
    item.health = [no_tfo_issue(item.vm, at)]
    b.add_event(
        Event(
            name=b.next_event_name("Vm"),
            time=at,
            event_type="VmHealth",
            severity="OK",
            description="Virtual machine health is OK",
            affected_name=item.vm,
            correlation_id=item.event_correlation_id,
            fabric_region=item.primary,
            item_name=item.name,
        )
    )


# --- job bookkeeping -------------------------------------------------------------------------------------
