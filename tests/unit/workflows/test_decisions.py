"""The pure decisions of the workflows, called directly with expected results."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from lib.domain.asr import Job, JobError, ProtectedItem
from lib.domain.dr import Timing
from lib.domain.polling import ProgressSample
from lib.workflows.drill import check_test_vm
from lib.workflows.evidence import vm_evidence
from lib.workflows.failover import COMMIT, FAILOVER, REPROTECT
from lib.workflows.health import Verdict, Watch, next_interval, verdict, watch
from lib.workflows.item_phase import Gate, Move, decide
from lib.workflows.runstate import JobRecord, PlanProgress, RunState
from lib.workflows.vmstate import RecoveryPointUsed, VmProgress
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery

OPEN = Gate(group=None, running=0, parallelism=10, throttled=False)


def _item(**changes: object) -> ProtectedItem:
    item = FakeSiteRecovery(["web-1"]).items["web-1"]
    return replace(item, **changes)  # type: ignore[arg-type]


def _row(item: ProtectedItem | None = None, group: int = 0) -> VmProgress:
    return VmProgress.new(item or _item(), group)


# --- per-VM move of an action phase --------------------------------------------------------------------------
def test_a_missing_item_fails_the_vm() -> None:
    assert decide(FAILOVER, None, _row(), OPEN) is Move.MISSING


def test_a_recorded_job_is_polled_even_when_the_item_looks_done() -> None:
    row = _row()
    row.jobs["failover"] = "job-7"
    failed_over = _item(active_location="Recovery", protection_state="UnplannedFailoverCommitPendingStatesBegin")
    assert decide(FAILOVER, failed_over, row, OPEN) is Move.POLL


def test_an_item_past_the_phase_without_our_job_is_already_done() -> None:
    committed = _item(protection_state="UnplannedFailoverCommitted")
    assert decide(COMMIT, committed, _row(), OPEN) is Move.ALREADY_DONE


def test_a_running_job_of_the_phase_is_adopted_not_started() -> None:
    busy = _item(current_scenario="UnplannedFailover", current_job_name="job-9", allowed_operations=frozenset())
    assert decide(FAILOVER, busy, _row(), OPEN) is Move.ADOPT
    # A running job of another action is not adopted: the VM waits its turn and is refused if not allowed.
    other = replace(busy, current_scenario="TestFailover")
    assert decide(FAILOVER, other, _row(), OPEN) is Move.REFUSE


@pytest.mark.parametrize(
    ("gate", "group", "move"),
    [
        (Gate(group=0, running=0, parallelism=2, throttled=False), 0, Move.START),
        (Gate(group=0, running=0, parallelism=2, throttled=False), 1, Move.HOLD),  # an earlier group is unfinished
        (Gate(group=None, running=0, parallelism=2, throttled=False), 3, Move.START),  # unordered phase
        (Gate(group=0, running=2, parallelism=2, throttled=False), 0, Move.HOLD),  # no free slot
        (Gate(group=0, running=1, parallelism=2, throttled=True), 0, Move.HOLD),  # ASR throttled a start
    ],
)
def test_the_gate_decides_who_starts(gate: Gate, group: int, move: Move) -> None:
    assert decide(FAILOVER, _item(), _row(group=group), gate) is move


def test_an_action_asr_does_not_allow_is_refused() -> None:
    assert decide(COMMIT, _item(), _row(), OPEN) is Move.REFUSE  # a protected item allows no commit


def test_reprotect_is_done_when_the_item_replicates_from_the_target() -> None:
    row = _row()  # moving eastus -> westus
    reversed_item = _item(primary_location="westus", recovery_location="eastus")
    assert decide(REPROTECT, reversed_item, row, OPEN) is Move.ALREADY_DONE
    assert decide(REPROTECT, _item(), row, OPEN) is Move.REFUSE  # still eastus-primary: not allowed yet


# --- await healthy ---------------------------------------------------------------------------------------------
def test_watch_reads_progress_health_and_direction() -> None:
    row = _row()
    row.progress = 40
    assert watch(None, row) == Watch(missing=True)
    healthy = _item(primary_location="westus", recovery_location="eastus")
    assert watch(healthy, row) == Watch(healthy=True, progress=100)
    # Protected and Normal, but still replicating from the old primary: not the new direction yet.
    assert watch(_item(), row) == Watch(progress=40, state="Protected", health="Normal")
    ir = _item(primary_location="westus", protection_state="InitialReplicationInProgress", monitoring_percentage=63)
    assert watch(replace(ir, replication_health="None"), row) == Watch(
        progress=63, state="InitialReplicationInProgress", health="None"
    )
    assert Watch(missing=True).to_json() == "missing" and Watch(healthy=True).to_json() == "healthy"


@pytest.mark.parametrize(
    ("elapsed", "warned", "expected"),
    [
        (0.0, False, Verdict.WAIT),
        (7199.0, False, Verdict.WAIT),
        (7200.0, False, Verdict.WARN),
        (7200.0, True, Verdict.WAIT),  # warned once already
        (28800.0, True, Verdict.GIVE_UP),
        (28800.0, False, Verdict.GIVE_UP),
    ],
)
def test_reprotect_verdict_warns_once_then_gives_up(elapsed: float, warned: bool, expected: Verdict) -> None:
    assert verdict(elapsed, Timing(), warned) is expected  # warn at 2 h, give up at 8 h


def _replicating(row: VmProgress, readings: list[tuple[float, int | None]]) -> VmProgress:
    """The run's listings at ``seconds`` (None: ASR shows no percentage yet)."""
    before = None
    for seconds, pct in readings:
        now = T0 + timedelta(seconds=seconds)
        if pct is not None:
            row.saw_progress(pct, now, before)
        before = now
    return row


def test_each_reading_remembers_the_read_before_it() -> None:
    # ASR shows no percentage before its first refresh (300 s); at 900 s its reading did not move (a stall)
    row = _replicating(_row(), [(0, None), (240, None), (300, 15), (540, 15), (600, 30), (900, 30), (1200, 60)])
    assert row.ir_first is not None and row.ir_last is not None
    assert (row.ir_first.pct, row.ir_first.at, row.ir_first.after) == (
        15,
        T0 + timedelta(seconds=300),
        T0 + timedelta(seconds=240),
    )
    # the stalled read moved neither sample: the 60 % changed after the read at 900 s, not after 600 s
    assert (row.ir_last.pct, row.ir_last.at, row.ir_last.after) == (
        60,
        T0 + timedelta(seconds=1200),
        T0 + timedelta(seconds=900),
    )
    assert VmProgress.from_json(row.to_json()) == row  # stored with the run


def test_a_reading_on_the_first_read_is_bounded_by_the_reprotect_start() -> None:
    row = _row()
    row.started_at["reprotect"] = T0
    _replicating(row, [(600, 32)])  # ASR already shows a percentage when the run first looks
    assert row.ir_first is not None and row.ir_first.after == T0
    assert _replicating(_row(), [(600, 32)]).ir_first == ProgressSample(T0 + timedelta(seconds=600), 32)
    # the later of the two bounds counts
    assert _replicating(row, [(660, None), (720, 40)]).ir_last == ProgressSample(
        T0 + timedelta(seconds=720), 40, T0 + timedelta(seconds=660)
    )


def test_poll_interval_follows_the_earliest_window_of_replication_end() -> None:
    timing = Timing(health_poll_s=60, health_poll_max_s=600)  # the 600 s cap is lowered to STALL_CAP_S
    # read every 60 s; ASR refreshes every 300 s: fast ends at 2000 s (15 % a refresh), slow at 6000 s (5 %)
    fast = _replicating(_row(), [(s, None if s < 300 else 15 if s < 600 else 30) for s in range(0, 660, 60)])
    slow = _replicating(_row(), [(s, None if s < 300 else 5 if s < 600 else 10) for s in range(0, 660, 60)])
    now = T0 + timedelta(seconds=600)
    # fast can end from 1636 s on (1036 s away): capped at 5 minutes
    assert next_interval([("slow", slow), ("fast", fast)], now, timing) == 300
    # inside fast's window (1636 s .. 2304 s): dense
    assert next_interval([("slow", slow), ("fast", fast)], T0 + timedelta(seconds=1640), timing) == 20
    # no rate yet for one VM: it is read every health_poll_s
    fresh = _replicating(_row(), [(540, None), (600, 5)])
    assert next_interval([("fast", fast), ("fresh", fresh)], now, timing) == 60


# --- drill validation ------------------------------------------------------------------------------------------
def _job(state: str = "Succeeded", tasks: tuple[tuple[str, str], ...] = (("Start the VM", "Succeeded"),)) -> Job:
    return Job("job-1", "/jobs/job-1", "TestFailover", state, state, "web-1", "ProtectionEntity", T0, T0, tasks=tasks)


def test_test_vm_check() -> None:
    up = _item(test_failover_state="WaitingForCompletion", test_vm_name="web-1-test")
    assert check_test_vm(up, _job()).to_json() == {"test_vm": "web-1-test", "ok": True, "failed_tasks": []}
    failed_task = _job(tasks=(("Start the VM", "Failed"), ("Prerequisites", "Other")))
    assert check_test_vm(up, failed_task).to_json() == {
        "test_vm": "web-1-test",
        "ok": False,
        "failed_tasks": ["Start the VM"],
    }
    assert not check_test_vm(up, _job(state="Failed")).ok
    assert not check_test_vm(up, None).ok
    assert check_test_vm(None, _job()).to_json() == {"test_vm": None, "ok": False, "failed_tasks": []}
    assert not check_test_vm(_item(), _job()).ok  # no test VM waiting for cleanup: it is not running


# --- evidence --------------------------------------------------------------------------------------------------
def _state_with_failover(rp: RecoveryPointUsed | None) -> tuple[RunState, VmProgress]:
    state = RunState(trigger_at=T0)
    row = state.vms["web-1"] = _row()
    row.rpo_s = 60.0
    row.rp = rp
    row.jobs["failover"] = "job-1"
    row.started_at["failover"] = T0 + timedelta(seconds=45)  # our clock: the action started 45 s after the trigger
    # ASR's clock, skewed by an hour: only the job's own duration (200 s) counts.
    state.jobs["job-1"] = JobRecord("failover", "web-1", "Succeeded", "UnplannedFailover",
                                    T0 + timedelta(hours=1), T0 + timedelta(hours=1, seconds=200))  # fmt: skip
    return state, row


def test_rto_adds_our_time_to_the_action_and_asr_job_duration() -> None:
    state, row = _state_with_failover(None)
    measured = vm_evidence(state, row)
    assert (measured.rto_s, measured.rpo_s, measured.rpo_estimated) == (245.0, 60.0, True)


def test_rpo_is_the_age_of_the_chosen_point_at_the_job_start() -> None:
    point = RecoveryPointUsed("rp-1", "CrashConsistent", T0 + timedelta(hours=1) - timedelta(minutes=7))
    state, row = _state_with_failover(point)
    assert vm_evidence(state, row).to_json() == {"rto_s": 245.0, "rpo_s": 420.0, "rpo_estimated": False}


def test_a_plan_job_serves_every_vm_of_the_plan() -> None:
    state, row = _state_with_failover(None)
    row.jobs.clear()
    state.plan = PlanProgress("app", jobs={"failover": "job-1"})
    assert vm_evidence(state, row).rto_s == 245.0


def test_no_job_no_figures() -> None:
    state = RunState(trigger_at=T0)
    assert vm_evidence(state, _row()).to_json() == {"rto_s": None, "rpo_s": None, "rpo_estimated": False}


# --- one rule for a plan's direction ---------------------------------------------------------------------------
def test_plan_direction_follows_the_items_replication_direction() -> None:
    state = RunState(vms={"a": _row(), "b": _row()})
    assert state.plan_direction() == "PrimaryToRecovery"
    state.vms["b"].reverse = True  # failed over and reprotected: the plan runs against its creation direction
    assert state.plan_direction() == "RecoveryToPrimary"


def test_job_errors_survive_json() -> None:
    record = JobRecord("failover", "web-1", "Failed", "UnplannedFailover", T0, T0, [JobError("70094", "no shutdown")])
    assert JobRecord.from_json(record.to_json()) == record
