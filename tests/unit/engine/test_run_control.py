"""Run control on the in-memory backend: a driver drives only its own run, ``continue`` makes a run due now
(respecting a live lease, taking over a dead one), leases follow the time scale, Ctrl-C gives the lease back."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lib.adapters.clocks import ManualClock, SystemClock
from lib.adapters.memory_run_store import MemoryRunStore
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.domain.errors import ValidationError
from lib.domain.runs import IllegalTransition, RunEvent, RunStatus
from lib.engine import (
    CancelRefused,
    Decide,
    Done,
    Driver,
    Engine,
    EngineConfig,
    LeaseHeld,
    LeaseNotHeld,
    LeaseTiming,
    Next,
    OperationRefused,
    Outcome,
    Step,
    StepContext,
    WatchInterrupted,
    Workflow,
)
from lib.ports.clock import Clock
from lib.ports.run_store import Lease
from lib.ports.work_queue import WorkItem
from tests.integration.engine.flows import Effects, acting, polling, registry


def make_engine(clock: Clock, *, scale: float = 0.001, extra: tuple[Workflow[Effects], ...] = ()) -> Engine[Effects]:
    return Engine(
        registry=registry(*extra),
        deps=Effects(),
        store=MemoryRunStore(),
        queue=MemoryWorkQueue("work", clock),
        poison_queue=MemoryWorkQueue("work-poison", clock),
        clock=clock,
        timer_scale=scale,
    )


def leave_waiting(engine: Engine[Effects], run_id: str) -> None:
    """Execute the run's first message by hand: act1, then the poll step's first wait (then nobody drives it)."""
    (msg,) = [m for m in engine.queue.receive(32, 30) if WorkItem.decode(m.body).run_id == run_id]
    engine.executor().process(msg, held=True)
    assert engine.get(run_id).run.status is RunStatus.WAITING


# -- finding 1: --wait drives only its own run ---------------------------------------------------------------


def test_driving_one_run_leaves_another_due_run_exactly_as_it_was() -> None:
    engine = make_engine(SystemClock())
    first = engine.start("chain", {"vm": "web-1"}).run_id
    leave_waiting(engine, first)
    store = engine.runtime.store
    before = store.load(first)
    assert before is not None
    applied_before = dict(engine.runtime.deps.applied)
    second = engine.start("chain", {"vm": "spare-1"}).run_id
    seen: list[str] = []

    result = Driver(engine, poll_s=0.005).drive(second, deadline_s=20, on_other_due=seen.append)

    assert result.run.status is RunStatus.SUCCEEDED
    after = store.load(first)
    assert after is not None
    assert after.etag == before.etag and after.run == before.run  # not even a lease was written
    assert {k: v for k, v in engine.runtime.deps.applied.items() if k.startswith(first)} == {
        k: v for k, v in applied_before.items() if k.startswith(first)
    }
    assert result.others_due == (first,) and seen == [first]
    # Its work item is still queued, as a fresh message: no delivery of it was used up.
    waiting = [m for m in engine.queue.receive(32, 30) if WorkItem.decode(m.body).run_id == first]
    assert len(waiting) == 1 and waiting[0].dequeue_count == 1
    assert WorkItem.decode(waiting[0].body).version == before.run.version


def test_drain_still_drives_every_run() -> None:
    engine = make_engine(SystemClock())
    runs = [engine.start("chain", {"i": i}).run_id for i in range(2)]
    report = Driver(engine, poll_s=0.005).drain(deadline_s=20)
    assert report.idle and not report.others_due
    assert all(engine.get(r).run.status is RunStatus.SUCCEEDED for r in runs)


# -- findings 4/5: continue, leases ----------------------------------------------------------------------------


def test_continue_makes_a_long_wait_due_now_and_a_driver_finishes_the_run() -> None:
    engine = make_engine(SystemClock(), scale=1.0)  # the poll waits 300 s in real time
    run_id = engine.start("slow-timer", {}).run_id
    (msg,) = engine.queue.receive(1, 30)
    engine.executor().process(msg, held=True)
    waiting = engine.get(run_id).run
    assert waiting.status is RunStatus.WAITING and waiting.due_at is not None
    assert waiting.due_at - waiting.updated_at == timedelta(seconds=300)

    continued = engine.continue_run(run_id, by="alice", reason="the region is back")

    assert continued.status is RunStatus.WAITING and continued.due_at == continued.updated_at
    row = engine.get(run_id).history[-1]
    assert row.event is RunEvent.CONTINUE and row.actor == "alice" and row.reason == "the region is back"
    done = Driver(engine, poll_s=0.005).run_until_finished(run_id, deadline_s=20)
    assert done.status is RunStatus.SUCCEEDED


def test_continue_respects_a_live_lease_and_takes_over_an_expired_one() -> None:
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    engine = make_engine(clock)
    run_id = engine.start("chain", {}).run_id
    store = engine.runtime.store
    loaded = store.load(run_id)
    assert loaded is not None
    until = clock.now() + engine.lease_duration
    store.save_lease(run_id, loaded.etag, Lease("w-gone", until, "m-1", 1))

    view = engine.get(run_id)
    assert view.lease is not None and view.lease.holder == "w-gone" and not view.lease.expired
    assert view.lease.expires_at == until and view.lease.acquired_at == clock.now()
    with pytest.raises(LeaseHeld) as held:
        engine.continue_run(run_id, by="bob")
    assert held.value.holder == "w-gone" and held.value.expires_at == until and held.value.run_id == run_id
    assert "w-gone" in str(held.value) and until.isoformat() in str(held.value)

    clock.advance(engine.lease_duration + timedelta(seconds=1))
    assert engine.get(run_id).lease.expired  # type: ignore[union-attr]  # shown as stalled before anyone acts
    run = engine.continue_run(run_id, by="bob")

    assert run.lease_owner == "" and run.lease_until is None and run.claims == 0
    view = engine.get(run_id)
    assert view.lease is None
    assert view.history[-1].details["took_over_lease_from"] == "w-gone"


def test_refused_operations_name_the_status_and_the_allowed_operations() -> None:
    engine = make_engine(SystemClock())
    run_id = engine.start("gated", {}).run_id
    paused = Driver(engine, poll_s=0.005).run_until_finished(run_id, deadline_s=20)
    assert paused.status is RunStatus.AWAITING_APPROVAL
    assert engine.get(run_id).allowed_operations == ("approve", "cancel", "resume")

    with pytest.raises(OperationRefused) as refused:
        engine.continue_run(run_id, by="carol")
    assert refused.value.run_id == run_id and refused.value.operation == "continue"
    assert refused.value.status is RunStatus.AWAITING_APPROVAL
    assert refused.value.allowed == ("approve", "cancel", "resume")
    assert "approve" in str(refused.value)

    engine.cancel(run_id, by="carol")
    with pytest.raises(IllegalTransition) as late:  # still an IllegalTransition for existing callers
        engine.approve(run_id, by="carol")
    assert isinstance(late.value, OperationRefused) and late.value.allowed == ()
    assert late.value.operation == "approve" and late.value.status is RunStatus.CANCELLED


def test_leases_follow_the_time_scale_but_never_drop_below_the_floor() -> None:
    default = EngineConfig()
    assert LeaseTiming.of(default, 1.0).lease == timedelta(minutes=5)
    assert LeaseTiming.of(default, 0.5).lease == timedelta(seconds=150)
    assert LeaseTiming.of(default, 0.01).lease == default.min_lease == timedelta(seconds=15)
    assert LeaseTiming.of(default, 0.01).step_budget == timedelta(seconds=6)  # the budget keeps its share
    short = EngineConfig(lease=timedelta(seconds=1), step_budget=timedelta(milliseconds=300))
    assert LeaseTiming.of(short, 0.01).lease == timedelta(seconds=1)  # a test's own short lease is kept

    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    engine = make_engine(clock, scale=0.01)
    engine.start("chain", {})
    taken: list[datetime | None] = []

    def peek(point: object, run: object) -> None:
        taken.append(getattr(run, "lease_until", None))

    engine.set_crash_hook(lambda point, run: peek(point, run) if point.value == "before-step" else None)
    (msg,) = engine.queue.receive(1, 60)
    engine.executor().process(msg, held=True)
    assert taken[0] == clock.now() + timedelta(seconds=15)


# -- finding 5: Ctrl-C mid-step --------------------------------------------------------------------------------


class Interrupting:
    """A step that is interrupted (Ctrl-C) the first time it runs, and works afterwards."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, ctx: StepContext, fx: Effects) -> Outcome:
        self.calls += 1
        if self.calls == 1:
            raise KeyboardInterrupt
        return Next("worked")


def test_ctrl_c_mid_step_releases_the_lease_so_the_run_continues_at_once() -> None:
    step = Interrupting()
    flow = Workflow("ctrl-c", (Step("slow", step), acting("finish", last=True)))
    engine = make_engine(SystemClock(), scale=1.0, extra=(flow,))
    run_id = engine.start("ctrl-c", {}).run_id

    with pytest.raises(WatchInterrupted) as stopped:
        Driver(engine, poll_s=0.005).drive(run_id, deadline_s=20)

    assert stopped.value.released == (run_id,) and isinstance(stopped.value, KeyboardInterrupt)
    run = engine.get(run_id).run
    assert run.lease_owner == "" and run.lease_until is None and run.claims == 0
    engine.continue_run(run_id, by="dave")  # no LeaseHeld: nobody holds the step any more
    done = Driver(engine, poll_s=0.005).run_until_finished(run_id, deadline_s=20)
    assert done.status is RunStatus.SUCCEEDED and step.calls == 2


def test_only_the_holder_can_release_a_lease() -> None:
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    engine = make_engine(clock)
    run_id = engine.start("chain", {}).run_id
    loaded = engine.runtime.store.load(run_id)
    assert loaded is not None
    engine.runtime.store.save_lease(run_id, loaded.etag, Lease("w-1", clock.now() + timedelta(seconds=9), "m", 2))

    with pytest.raises(LeaseNotHeld) as other:
        engine.release_lease(run_id, worker="w-2")
    assert other.value.holder == "w-1" and other.value.worker == "w-2"
    released = engine.release_lease(run_id, worker="w-1")
    assert released.lease_owner == "" and released.claims == 1
    assert engine.get(run_id).lease is None


def test_driving_one_run_replaces_its_lost_work_item_but_sweeps_no_other_run() -> None:
    engine = make_engine(SystemClock())
    other = engine.start("chain", {}).run_id
    mine = engine.start("chain", {}).run_id
    for msg in engine.queue.receive(32, 30):  # both work items are lost (deleted by accident)
        engine.queue.delete(msg)
    other_before = engine.runtime.store.load(other)

    done = Driver(engine, poll_s=0.005, janitor_every_s=0.01).run_until_finished(mine, deadline_s=20)

    assert done.status is RunStatus.SUCCEEDED
    assert engine.runtime.store.load(other) == other_before and engine.queue.approximate_count() == 0


def test_refusals_carry_json_fields_for_an_http_409() -> None:
    clock = ManualClock(datetime(2025, 1, 1, tzinfo=UTC))
    engine = make_engine(clock)
    run_id = engine.start("chain", {}).run_id
    loaded = engine.runtime.store.load(run_id)
    assert loaded is not None
    engine.runtime.store.save_lease(run_id, loaded.etag, Lease("w-7", clock.now() + timedelta(seconds=5), "m", 1))
    with pytest.raises(LeaseHeld) as held:
        engine.continue_run(run_id, by="eve")
    assert held.value.fields() == {
        "run_id": run_id,
        "operation": "continue",
        "holder": "w-7",
        "expires_at": "2025-01-01T00:00:05+00:00",
        "status": "pending",
    }
    engine.cancel(run_id, by="eve")
    with pytest.raises(OperationRefused) as refused:
        engine.continue_run(run_id, by="eve")
    fields = refused.value.fields()
    assert fields["status"] == "cancelled" and fields["allowed"] == [] and fields["operation"] == "continue"
    assert fields["run_id"] == run_id


# -- cancel in a phase where stopping would strand VMs: the workflow refuses, naming the choices --------------


def _refuse_after_act1(state: Mapping[str, Any], step: str) -> CancelRefused | None:
    if step == "act1":
        return None  # nothing irreversible happened yet
    return CancelRefused("act1 cannot be undone by stopping here", ("commit", "rollback"))


def test_a_workflow_may_refuse_cancel_once_its_action_happened() -> None:
    flow = Workflow(
        "guarded",
        (acting("act1"), polling(2, timedelta(seconds=10)), acting("act2", last=True)),
        on_cancel=_refuse_after_act1,
    )
    engine = make_engine(SystemClock(), scale=1.0, extra=(flow,))
    early = engine.start("guarded", {}).run_id
    assert engine.cancel(early, by="frank").status is RunStatus.CANCELLED  # before the action: cancelled

    late = engine.start("guarded", {}).run_id
    leave_waiting(engine, late)  # act1 done, polling
    with pytest.raises(OperationRefused) as refused:
        engine.cancel(late, by="frank")
    assert refused.value.allowed == ("commit", "rollback") and refused.value.operation == "cancel"
    assert refused.value.reason == "act1 cannot be undone by stopping here"
    assert refused.value.status is RunStatus.WAITING and "rollback" in str(refused.value)
    assert engine.get(late).run.status is RunStatus.WAITING  # nothing was written


# -- finding 7 (engine side): listings tell the truth ----------------------------------------------------------


def test_listing_shows_an_active_runs_current_step_and_reason() -> None:
    engine = make_engine(SystemClock(), scale=1.0)
    run_id = engine.start("chain", {}).run_id
    leave_waiting(engine, run_id)  # act1 ran; the run polls in step "poll" (the index still says "act1")

    (row,) = engine.list_runs().items
    assert row.run_id == run_id and row.status is RunStatus.WAITING
    assert row.step == "poll" and row.reason == "poll 1/2"
    assert [r.run_id for r in engine.list_runs("waiting").items] == [run_id]


def test_an_unknown_status_filter_names_the_allowed_values() -> None:
    engine = make_engine(SystemClock())
    with pytest.raises(ValidationError) as caught:
        engine.list_runs("bogus")
    assert caught.value.field == "status" and "'bogus'" in caught.value.reason
    assert "awaiting-approval" in caught.value.reason and "\n" not in str(caught.value)


# -- a partial failover pauses for the operator's choice (awaiting-decision) ----------------------------------


class Deciding:
    """Asks commit / retry / rollback once, then finishes with what was chosen and by whom."""

    def __init__(self) -> None:
        self.seen: list[tuple[str | None, str | None]] = []

    def __call__(self, ctx: StepContext, fx: Effects) -> Outcome:
        self.seen.append((ctx.decision, ctx.approved_by))
        if ctx.decision is None:
            return Decide("partial-failover", "web-2 failed over, db-1 did not", ("commit", "retry", "rollback"))
        return Done(f"{ctx.decision} chosen by {ctx.approved_by}")


def test_a_run_awaits_a_decision_and_the_deciding_step_sees_the_choice() -> None:
    step = Deciding()
    flow = Workflow("decides", (Step("gate", step),))
    engine = make_engine(SystemClock(), extra=(flow,))
    run_id = engine.start("decides", {}).run_id

    paused = Driver(engine, poll_s=0.005).run_until_finished(run_id, deadline_s=20)  # settles, does not spin

    assert paused.status is RunStatus.AWAITING_DECISION and paused.choices == ("commit", "retry", "rollback")
    assert paused.approval == "partial-failover" and paused.due_at is None
    view = engine.get(run_id)
    assert view.allowed_operations == ("cancel", "decide") and view.history[-1].event is RunEvent.STEP_DECIDE
    with pytest.raises(OperationRefused) as refused:
        engine.approve(run_id, by="gina")
    assert refused.value.allowed == ("cancel", "decide")
    with pytest.raises(ValidationError) as bad:
        engine.decide(run_id, "failback", by="gina")
    assert bad.value.field == "choice" and "commit, retry, rollback" in bad.value.reason

    engine.decide(run_id, "rollback", by="gina", comment="the app tier must stay together")

    done = Driver(engine, poll_s=0.005).run_until_finished(run_id, deadline_s=20)
    assert done.status is RunStatus.SUCCEEDED and done.reason == "rollback chosen by gina"
    assert step.seen == [(None, None), ("rollback", "gina")]
    decided = next(h for h in engine.get(run_id).history if h.event is RunEvent.DECIDE)
    assert decided.actor == "gina" and decided.details["choice"] == "rollback"
    assert decided.reason == "the app tier must stay together"
    with pytest.raises(OperationRefused):
        engine.decide(run_id, "commit", by="gina")  # over: nothing to decide


def test_a_decision_without_usable_choices_fails_the_run() -> None:
    def gate(ctx: StepContext, fx: Effects) -> Outcome:
        return Decide("x", "?", ("a,b",))

    flow = Workflow("bad-decide", (Step("gate", gate),))
    engine = make_engine(SystemClock(), extra=(flow,))
    run_id = engine.start("bad-decide", {}).run_id
    run = Driver(engine, poll_s=0.005).run_until_finished(run_id, deadline_s=20)
    assert run.status is RunStatus.FAILED and run.error_code == "BadDecision"
