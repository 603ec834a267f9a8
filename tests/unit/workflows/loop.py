"""A minimal synchronous loop over a Workflow for unit tests (the real engine is tested on Azurite)."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from lib.engine.api import Done, Fail, Next, Outcome, Pause, StepContext, Wait, Workflow
from lib.ports.probe import ProbeResult
from lib.workflows.deps import DrDeps
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery


class MemoryLocks:
    def __init__(self) -> None:
        self.holders: dict[str, str] = {}

    def acquire(self, names: Sequence[str], run_id: str, ttl: timedelta) -> dict[str, str]:
        taken = {n: h for n in names if (h := self.holders.get(n)) and h != run_id}
        if not taken:
            self.holders.update(dict.fromkeys(names, run_id))
        return taken

    def release(self, names: Sequence[str], run_id: str) -> None:
        for n in names:
            if self.holders.get(n) == run_id:
                del self.holders[n]


class RecordingNotifier:
    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def publish(self, event_type: str, subject: str, data: Mapping[str, Any]) -> None:
        self.events.append((event_type, subject, dict(data)))


@dataclass
class ScriptedProbe:
    answers: list[bool] = field(default_factory=lambda: [True])
    calls: int = 0

    def check(self, url: str) -> ProbeResult:
        ok = self.answers[min(self.calls, len(self.answers) - 1)]
        self.calls += 1
        return ProbeResult(ok, "200 OK" if ok else "connection refused")


def make_deps(asr: FakeSiteRecovery, probe: ScriptedProbe | None = None) -> DrDeps:
    return DrDeps(asr=asr, locks=MemoryLocks(), notifier=RecordingNotifier(), probe=probe or ScriptedProbe())


@dataclass
class LoopResult:
    outcome: Outcome
    state: dict[str, Any]
    history: list[tuple[str, Outcome]]
    step: str


def run(
    workflow: Workflow[DrDeps],
    deps: DrDeps,
    request: Mapping[str, Any],
    *,
    state: dict[str, Any] | None = None,
    start_at: str | None = None,
    approve: bool = False,
    max_steps: int = 500,
    run_id: str = "run-1",
) -> LoopResult:
    now = T0
    step = start_at or workflow.steps[0].name
    entered = now
    history: list[tuple[str, Outcome]] = []
    state = state if state is not None else {}
    approved_by: str | None = None
    for _ in range(max_steps):
        ctx = StepContext(
            run_id, workflow.name, step, dict(request), copy.deepcopy(state), now, T0, entered, approved_by=approved_by
        )
        outcome = workflow.step(step).run(ctx, deps)
        state = ctx.state
        history.append((step, outcome))
        approved_by = None
        if isinstance(outcome, Wait):
            now += outcome.delay
            continue
        if isinstance(outcome, Pause):
            if not approve:
                return LoopResult(outcome, state, history, step)
            approved_by = "tester"
            outcome = Next("approved")
        if isinstance(outcome, Next):
            nxt = outcome.goto or workflow.after(step)
            assert nxt is not None, f"step {step} said next but is the last"
            step, entered = nxt, now
            continue
        assert isinstance(outcome, Done | Fail)
        return LoopResult(outcome, state, history, step)
    raise AssertionError(f"workflow did not finish in {max_steps} steps; last {history[-3:]}")
