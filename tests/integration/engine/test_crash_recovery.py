"""A worker can die between any two lines: the run still completes and every side effect happens once.

Crash points: on receipt (nothing written), before the step's side effect (lease held), after the side
effect but before the checkpoint, and after the checkpoint but before the next work item is enqueued. Each
of the chain's five step executions is crashed once at the given point (one run per step), then redelivery
does the rest — on the driver and on the Functions-host path.
"""

from __future__ import annotations

from collections import Counter

import pytest

from lib.domain.runs import RunRecord, RunStatus
from lib.engine import CrashPoint, InjectedCrash
from tests.integration.engine.conftest import MakeHarness, host_drain

pytestmark = pytest.mark.integration

STEP_EXECUTIONS = 5  # act1, poll, poll, poll, act2


class CrashOnce:
    """Crash run ``r`` the ``k``-th time it reaches ``point`` (k chosen per run)."""

    def __init__(self, point: CrashPoint) -> None:
        self.point = point
        self.plan: dict[str, int] = {}
        self.reached: Counter[str] = Counter()
        self.fired: list[str] = []

    def __call__(self, point: CrashPoint, run: RunRecord) -> None:
        if point is not self.point or run.run_id not in self.plan:
            return
        self.reached[run.run_id] += 1
        if self.reached[run.run_id] == self.plan[run.run_id]:
            self.fired.append(run.run_id)
            raise InjectedCrash(point.value, run.run_id)


@pytest.mark.parametrize("point", list(CrashPoint), ids=lambda p: p.value)
@pytest.mark.parametrize("host", ["driver", "functions-host"])
def test_a_crash_at_every_boundary_of_every_step_is_survived_with_effects_exactly_once(
    make_harness: MakeHarness, point: CrashPoint, host: str
) -> None:
    crash = CrashOnce(point)
    h = make_harness(crash_hook=crash)
    # Both hosts execute act1+poll and poll+act2 on one delivery each (a Next step continues under the lease
    # its checkpoint granted): three receipts for five step executions.
    reached = 3 if point is CrashPoint.RECEIVED else STEP_EXECUTIONS
    runs = [h.engine.start("chain", {"n": k}).run_id for k in range(reached)]
    crash.plan = {run_id: k + 1 for k, run_id in enumerate(runs)}

    if host == "driver":
        # One message per receive: a crash abandons only its own message, so the recoveries overlap.
        report = h.driver(batch=1).drain(deadline_s=90)
        assert report.idle and report.crashes == reached
    else:
        tally = host_drain(h, deadline_s=90, batch=1)
        assert tally["crashes"] == reached and tally["poisoned"] == 0

    assert sorted(crash.fired) == sorted(runs)  # every planned crash happened
    for run_id in runs:
        view = h.engine.get(run_id)
        assert view.run.status is RunStatus.SUCCEEDED, (run_id, view.run.reason)
        assert h.effects.applied[f"{run_id}/act1"] == 1
        assert h.effects.applied[f"{run_id}/act2"] == 1
        assert view.run.state == {"polls": 2}
        # History is a clean chain: the crashed attempts left nothing behind.
        assert [r.seq for r in view.history] == list(range(1, len(view.history) + 1))
        assert [r.event.value for r in view.history if r.event.value.startswith("step") or r.event.value == "done"] == [
            "step-next", "step-wait", "step-wait", "step-next", "done",
        ]  # fmt: skip
    if point is CrashPoint.AFTER_STEP:
        # The steps that crashed after acting really ran twice: observation is what kept the effect single.
        assert h.effects.entered[f"{runs[0]}/act1"] == 2 and h.effects.entered[f"{runs[-1]}/act2"] == 2


def test_without_observing_first_the_same_crash_doubles_the_effect(make_harness: MakeHarness) -> None:
    """The negative control: proves the crash test above would catch a step that is not idempotent."""
    crash = CrashOnce(CrashPoint.AFTER_STEP)
    h = make_harness(crash_hook=crash)
    h.effects.observe = False
    run_id = h.engine.start("chain", {}).run_id
    crash.plan = {run_id: 1}
    h.driver().drain(deadline_s=60)
    assert h.engine.get(run_id).run.status is RunStatus.SUCCEEDED
    assert h.effects.applied[f"{run_id}/act1"] == 2
