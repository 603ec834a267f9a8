"""Issue 10, findings 4/5 on the engine side: a worker dies (kill -9) at five points of a failover started
without an idempotency key; ``Engine.continue_run`` (waiting out the dead worker's lease, which it then takes
over) and a driver of that one run finish it with exactly one ASR action per VM per phase."""

from __future__ import annotations

import time
from typing import Any

import pytest

from lib.domain.runs import RunEvent, RunStatus
from lib.engine import CrashPoint, InjectedCrash, LeaseHeld
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration

POINTS = [
    (CrashPoint.BEFORE_STEP, "preflight"),
    (CrashPoint.AFTER_STEP, "failover"),  # the ASR actions were sent; nothing recorded
    (CrashPoint.AFTER_CHECKPOINT, "failover"),  # recorded; the next work item never sent
    (CrashPoint.RECEIVED, "commit"),
    (CrashPoint.AFTER_STEP, "reprotect"),
]


def continue_when_free(engine: Any, run_id: str) -> None:
    """What ``drctl continue`` does: ask; on a live lease wait until it expires and ask again."""
    for _ in range(20):
        try:
            engine.continue_run(run_id, by="operator")
            return
        except LeaseHeld as held:
            time.sleep(max(0.0, (held.expires_at - engine.clock.now()).total_seconds()) + 0.05)
    raise AssertionError("the lease never lapsed")


def die_holding_a_message(engine: Any, attempts: int = 200) -> None:
    """Work the queue until the crash hook kills the worker; the message stays held for a minute, so a
    redelivery cannot rescue the run before the test asks to continue it."""
    for _ in range(attempts):
        messages = engine.queue.receive(1, 60)
        if not messages:
            time.sleep(0.02)
            continue
        try:
            engine.executor().process(messages[0], held=True)
        except InjectedCrash:
            return


@pytest.mark.parametrize(("point", "step"), POINTS, ids=[f"{p.value}-{s}" for p, s in POINTS])
def test_a_killed_worker_then_continue_finishes_with_one_action_per_vm_per_phase(
    dr_stack: Any, point: CrashPoint, step: str
) -> None:
    killed: list[str] = []

    def kill(at: CrashPoint, run: Any) -> None:
        if at is point and run.step == step and not killed:
            killed.append(run.run_id)
            raise InjectedCrash(at.value, run.run_id)

    with dr_stack(topology(["web-1", "web-2"]), crash_hook=kill) as stack:
        engine = stack.app.engine
        run_id = stack.start("failover", {"vms": ["web-1", "web-2"]})  # no idempotency key
        # The process dies with the message in hand; afterwards nobody drives the run (the old --wait is gone).
        die_holding_a_message(engine)
        assert killed == [run_id]

        continue_when_free(engine, run_id)
        run = stack.driver().run_until_finished(run_id, deadline_s=120)

        assert run.status is RunStatus.SUCCEEDED, run.error
        assert stack.posts("unplannedFailover") == 2
        assert stack.posts("failoverCommit") == 2
        assert stack.posts("switchprotection") == 2
        assert any(h.event is RunEvent.CONTINUE for h in engine.get(run_id).history)
