"""Properties of decide() over arbitrary signal histories: resolved-only histories never start anything, nothing
ever starts from a recovered region (no automatic failback), and order and duplicates never matter."""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lib.guard import Decision, Outcome, Pending, decide, region_state
from lib.signals import DEFAULT_SERVICES, RegionHealthSignal, Source
from tests.unit.policy.helpers import facts, minutes, policy, signal

_MODES = st.sampled_from(["auto", "approval", "dry-run"])


@st.composite
def signals(draw: st.DrawFn, states: tuple[str, ...] = ("active", "resolved")) -> RegionHealthSignal:
    return signal(
        draw(st.integers(0, 120)),
        state=draw(st.sampled_from(states)),
        source=draw(st.sampled_from([Source.SERVICE_HEALTH, Source.METRIC, Source.PROBE, Source.CUSTOM])),
        incident=draw(st.sampled_from(["a", "b", "c"])),
        region=draw(st.sampled_from(["eastus", "westus", "*"])),
        maintenance=draw(st.booleans()),
    )


def _decide(history: list[RegionHealthSignal], mode: str, now: float, **rules: Any) -> Decision:
    return decide(
        policy(mode=mode, includeMaintenance=True, **rules), "eastus", history, now=minutes(now), facts=facts()
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(signals(states=("resolved",)), max_size=12), _MODES, st.integers(0, 300))
def test_a_resolved_only_history_never_starts_anything(history: list[RegionHealthSignal], mode: str, now: int) -> None:
    decision = _decide(history, mode, now)
    assert decision.starts == ()
    assert decision.outcome in (Outcome.RECOVERED, Outcome.IGNORED)


@settings(max_examples=80, deadline=None)
@given(st.lists(signals(), max_size=12), _MODES, st.integers(0, 300), st.booleans())
def test_no_decision_starts_a_failback(history: list[RegionHealthSignal], mode: str, now: int, proceed: bool) -> None:
    rules: dict[str, Any] = {"onApprovalTimeout": "proceed" if proceed else "expire", "approvalTimeoutMinutes": 1}
    decision = _decide(history, mode, now, **rules)
    # Feed back an approval window that has already timed out: even "proceed" must not start for a recovered region.
    if decision.incident is not None:
        window = Pending(decision.pending.kind, decision.incident, minutes(0), minutes(0)) if decision.pending else None
        decision = decide(
            policy(mode=mode, includeMaintenance=True, **rules),
            "eastus",
            history,
            now=minutes(now),
            facts=facts(),
            pending=window,
        )
    if decision.starts:
        assert decision.outcome is Outcome.STARTED
        assert decision.sources, "a start needs an active source"
    if not region_state(history, "eastus", DEFAULT_SERVICES, include_maintenance=True).active:
        assert decision.starts == (), "the region is not down (any more): starting now would be a failback"
    if decision.outcome is Outcome.RECOVERED:
        assert decision.starts == () and decision.pending is None
    if mode != "auto" and not (mode == "approval" and proceed):
        assert decision.starts == ()


@settings(max_examples=60, deadline=None)
@given(st.lists(signals(), max_size=12), _MODES, st.integers(0, 300), st.randoms(use_true_random=False))
def test_order_and_duplicates_never_matter(
    history: list[RegionHealthSignal], mode: str, now: int, rnd: random.Random
) -> None:
    again = history + rnd.sample(history, k=len(history) // 2)
    rnd.shuffle(again)
    assert _decide(again, mode, now) == _decide(history, mode, now)
