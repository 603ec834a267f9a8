"""Which deliveries execute, wait or die — decided from the run alone."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from lib.domain.runs import RunEvent, RunRecord, RunStatus
from lib.engine.dispatch import Action, classify

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def run(**changes: object) -> RunRecord:
    base = RunRecord(
        run_id="r1", workflow="wf", status=RunStatus.WAITING, step="poll", version=5, input={}, state={},
        created_at=NOW, updated_at=NOW, step_started_at=NOW, due_at=NOW - timedelta(seconds=1), msg_id="m1",
    )  # fmt: skip
    return replace(base, **changes)  # type: ignore[arg-type]


def test_missing_run_and_future_versions_are_dropped() -> None:
    assert classify(None, 1, "m1", NOW, "w").action is Action.DROP
    assert classify(run(), 6, "m1", NOW, "w").action is Action.DROP


def test_an_old_version_is_stale_unless_it_is_the_runs_own_message() -> None:
    stale = classify(run(), 4, "other", NOW, "w")
    assert stale.action is Action.DROP and "stale" in stale.reason
    adopted = classify(run(), 4, "m1", NOW, "w")  # the driver's reused message after a crash before rewriting it
    assert adopted.action is Action.EXECUTE


def test_finished_and_unscheduled_runs_are_dropped() -> None:
    for status in (RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.PARTIALLY_SUCCEEDED):
        assert classify(run(status=status), 5, "x", NOW, "w").action is Action.DROP
    paused = run(status=RunStatus.AWAITING_APPROVAL, due_at=None)
    assert classify(paused, 5, "x", NOW, "w").action is Action.DROP


def test_a_live_lease_of_another_worker_postpones_until_it_expires() -> None:
    leased = run(lease_owner="other", lease_until=NOW + timedelta(seconds=30))
    decision = classify(leased, 5, "m1", NOW, "me")
    assert decision.action is Action.POSTPONE and decision.until == NOW + timedelta(seconds=30)
    assert classify(leased, 5, "m1", NOW + timedelta(seconds=31), "me").action is Action.EXECUTE
    assert classify(leased, 5, "m1", NOW, "other").action is Action.EXECUTE


def test_early_messages_wait_for_the_due_time_within_a_small_tolerance() -> None:
    early = classify(run(due_at=NOW + timedelta(seconds=10)), 5, "m1", NOW, "w")
    assert early.action is Action.POSTPONE and early.until == NOW + timedelta(seconds=10)
    assert classify(run(due_at=NOW + timedelta(milliseconds=100)), 5, "m1", NOW, "w").action is Action.EXECUTE


def test_the_wake_edge_depends_on_the_status() -> None:
    assert classify(run(status=RunStatus.PENDING), 5, "x", NOW, "w").wake is RunEvent.START
    assert classify(run(status=RunStatus.WAITING), 5, "x", NOW, "w").wake is RunEvent.TIMER_FIRED
    assert classify(run(status=RunStatus.AWAITING_APPROVAL), 5, "x", NOW, "w").wake is RunEvent.APPROVAL_TIMEOUT
    assert classify(run(status=RunStatus.RUNNING), 5, "x", NOW, "w").wake is None
