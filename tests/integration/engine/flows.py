"""Workflows and an observable "outside world" for the engine's integration tests.

``Effects`` stands in for ASR: a step observes it before acting (like real steps read allowedOperations and
recorded job ids first), so a re-executed step does not act twice — and a test can count every action.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import timedelta

from lib.engine import Done, Next, Outcome, Pause, Step, StepContext, Wait, Workflow


class Effects:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.applied: Counter[str] = Counter()  # side effects that happened
        self.entered: Counter[str] = Counter()  # executions of the acting step
        self._active: Counter[str] = Counter()
        self.max_overlap = 0  # most executions of one step at the same time
        self.gap_s = 0.0  # time between observing and acting: widens the window a race needs
        self.observe = True  # False: a naive step that acts without looking (the negative control)
        self.failures_left: Counter[str] = Counter()  # raise this many times first
        self.attempts_seen: list[int] = []
        self.approvers: list[str | None] = []
        self.timeouts_seen: list[bool] = []

    def act(self, key: str) -> None:
        with self._lock:
            self.entered[key] += 1
            self._active[key] += 1
            self.max_overlap = max(self.max_overlap, self._active[key])
            seen = self.applied[key] > 0
        try:
            time.sleep(self.gap_s)
            if not (self.observe and seen):
                with self._lock:
                    self.applied[key] += 1
        finally:
            with self._lock:
                self._active[key] -= 1


def acting(name: str, last: bool = False) -> Step[Effects]:
    def run(ctx: StepContext, fx: Effects) -> Outcome:
        fx.act(f"{ctx.run_id}/{name}")
        return Done(f"{name} applied") if last else Next(f"{name} applied", {"effect": name})

    return Step(name, run)


def polling(times: int, every: timedelta) -> Step[Effects]:
    def run(ctx: StepContext, fx: Effects) -> Outcome:
        polls = int(ctx.state.get("polls", 0))
        if polls < times:
            ctx.state["polls"] = polls + 1
            return Wait(every, f"poll {polls + 1}/{times}", {"progress": {"vm1": polls * 10}})
        return Next("ready")

    return Step("poll", run)


def flaky(name: str) -> Step[Effects]:
    """Raises while ``fx.failures_left[name]`` says so, then succeeds."""

    def run(ctx: StepContext, fx: Effects) -> Outcome:
        fx.attempts_seen.append(ctx.attempt)
        ctx.state["touched"] = True  # must not survive a failed attempt
        if fx.failures_left[name] > 0:
            fx.failures_left[name] -= 1
            raise ValueError(f"{name} is flaky")
        return Done(f"{name} worked on attempt {ctx.attempt}")

    return Step(name, run)


def approval_gate(timeout: timedelta | None) -> Step[Effects]:
    def run(ctx: StepContext, fx: Effects) -> Outcome:
        fx.timeouts_seen.append(ctx.approval_timed_out)
        if ctx.approval_timed_out:
            return Next("approval timed out: going on without it")
        return Pause("commit", "check the VMs, then approve", timeout=timeout, details={"vms": ["vm1"]})

    return Step("gate", run)


def after_gate(ctx: StepContext, fx: Effects) -> Outcome:
    fx.approvers.append(ctx.approved_by)
    return Next("after the gate")


def chain() -> Workflow[Effects]:
    """act1 -> poll (2 waits) -> act2: five step executions, two of them with side effects."""
    return Workflow("chain", (acting("act1"), polling(2, timedelta(seconds=10)), acting("act2", last=True)))


def registry(*extra: Workflow[Effects]) -> dict[str, Workflow[Effects]]:
    flows = [
        chain(),
        Workflow("flaky", (flaky("flaky"),)),
        Workflow("gated", (approval_gate(None), Step("after", after_gate), acting("finish", last=True))),
        Workflow("gated-timeout", (approval_gate(timedelta(seconds=50)), Step("after", after_gate))),
        Workflow("slow-timer", (polling(1, timedelta(seconds=300)), acting("finish", last=True))),
        *extra,
    ]
    return {w.name: w for w in flows}


Hook = Callable[..., None]
