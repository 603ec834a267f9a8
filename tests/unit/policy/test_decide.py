"""decide(), rule by rule: each guardrail, and what must never happen (a start from a resolved region, a
second run for a target, a start under the kill switch)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from lib.domain.errors import ValidationError
from lib.guard import (
    Action,
    Decision,
    Outcome,
    Pending,
    PendingKind,
    PolicyErrors,
    TargetFacts,
    decide,
    parse_policy,
)
from lib.signals import RegionHealthSignal, Source
from tests.unit.policy.helpers import PLAN, T0, facts, minutes, policy, signal


def run(
    signals: list[RegionHealthSignal],
    *,
    at: float = 1,
    region: str = "eastus",
    pending: Pending | None = None,
    target_facts: dict[str, TargetFacts] | None = None,
    **rules: Any,
) -> Decision:
    kill = bool(rules.pop("kill_switch", False))
    return decide(
        policy(kill, **rules),
        region,
        signals,
        now=minutes(at),
        facts=facts() if target_facts is None else target_facts,
        pending=pending,
    )


def test_an_active_incident_in_auto_mode_starts_the_target() -> None:
    decision = run([signal()])
    assert decision.outcome is Outcome.STARTED
    assert decision.starts == (PLAN,)
    assert decision.sources == ("service-health",)
    assert decision.incident == "service-health:7K2Q"
    assert decision.pending is None
    assert decision.policy_hash == policy().policy_hash


# -- quorum -----------------------------------------------------------------------------------------------


def test_quorum_waits_for_enough_distinct_sources() -> None:
    one = run([signal(), signal(1, incident="second")], minSources=2)  # two incidents, one source
    assert one.outcome is Outcome.WAITING_QUORUM
    assert one.starts == ()
    assert "1 of 2" in one.reasons[0]
    two = run([signal(), signal(1, source=Source.METRIC, incident="cpu")], at=2, minSources=2)
    assert two.outcome is Outcome.STARTED
    assert two.sources == ("metric", "service-health")


def test_a_resolved_source_no_longer_counts_for_quorum() -> None:
    signals = [
        signal(),
        signal(1, source=Source.PROBE, incident="p"),
        signal(2, source=Source.PROBE, incident="p", state="resolved"),
    ]
    assert run(signals, at=3, minSources=2).outcome is Outcome.WAITING_QUORUM


# -- dwell ------------------------------------------------------------------------------------------------


def test_dwell_waits_then_acts_and_sets_its_timer() -> None:
    waiting = run([signal()], at=5, dwellMinutes=15)
    assert waiting.outcome is Outcome.WAITING_DWELL
    assert waiting.timer == minutes(15)
    assert waiting.pending is not None and waiting.pending.kind is PendingKind.DWELL
    assert waiting.starts == ()
    assert run([signal()], at=15, dwellMinutes=15, pending=waiting.pending).outcome is Outcome.STARTED


def test_a_resolve_within_the_dwell_cancels_it() -> None:
    waiting = run([signal()], at=5, dwellMinutes=15)
    after = run([signal(), signal(10, state="resolved")], at=15, dwellMinutes=15, pending=waiting.pending)
    assert after.outcome is Outcome.RECOVERED
    assert after.pending is None
    assert after.starts == ()


def test_active_again_after_a_resolve_restarts_the_dwell() -> None:
    signals = [signal(), signal(10, state="resolved"), signal(12)]
    decision = run(signals, at=20, dwellMinutes=15)
    assert decision.outcome is Outcome.WAITING_DWELL
    assert decision.timer == minutes(27)


# -- cooldown, cap, active run, one run per incident --------------------------------------------------------


def test_cooldown_skips_a_target_failed_over_recently() -> None:
    recent = facts(last_auto_failover=minutes(-60))
    decision = run([signal()], target_facts=recent, cooldownMinutes=120)
    assert decision.outcome is Outcome.SUPPRESSED
    assert decision.targets[0].action is Action.SKIP
    assert "cooldown" in decision.targets[0].reason
    long_ago = facts(last_auto_failover=minutes(-121))
    assert run([signal()], target_facts=long_ago, cooldownMinutes=120).outcome is Outcome.STARTED


@pytest.mark.parametrize(("vm_count", "outcome"), [(500, Outcome.STARTED), (501, Outcome.SUPPRESSED)])
def test_cap_counts_the_vms_across_the_regions_targets(vm_count: int, outcome: Outcome) -> None:
    rules: dict[str, Any] = {"targets": [{"recoveryPlan": "rp-east"}, {"vms": ["vm1", "vm2"]}], "maxVms": 502}
    decision = run([signal()], target_facts=facts(vm_count=vm_count), **rules)
    assert decision.outcome is outcome
    if outcome is Outcome.SUPPRESSED:
        assert "exceed maxVms 502" in decision.reasons[0]
        assert decision.starts == ()
    else:
        assert decision.starts == (PLAN, "vms:vm1,vm2")


def test_an_unknown_plan_size_suppresses_rather_than_guesses() -> None:
    decision = run([signal()], target_facts={})
    assert decision.outcome is Outcome.SUPPRESSED
    assert "unknown" in decision.reasons[0]


def test_a_target_with_an_active_run_is_not_started_twice() -> None:
    rules: dict[str, Any] = {"targets": [{"recoveryPlan": "rp-east"}, {"vms": ["vm1"]}]}
    busy = facts(active_run="run-1")
    decision = run([signal()], target_facts=busy, **rules)
    assert decision.outcome is Outcome.STARTED
    assert decision.starts == ("vms:vm1",)
    skipped = next(t for t in decision.targets if t.target == PLAN)
    assert skipped.action is Action.SKIP and "run-1" in skipped.reason
    only = run([signal()], target_facts=busy)
    assert only.outcome is Outcome.SUPPRESSED and only.starts == ()


def test_one_incident_starts_at_most_one_run_per_target() -> None:
    done = facts(started_incidents=frozenset({"service-health:7K2Q"}))
    decision = run([signal()], target_facts=done, cooldownMinutes=0)
    assert decision.outcome is Outcome.SUPPRESSED
    assert decision.starts == ()
    other = facts(started_incidents=frozenset({"service-health:OLD"}))
    assert run([signal()], target_facts=other, cooldownMinutes=0).starts == (PLAN,)


# -- drill gate and approval --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_drill", "outcome"),
    [(None, Outcome.AWAITING_APPROVAL), (-31 * 24 * 60, Outcome.AWAITING_APPROVAL), (-29 * 24 * 60, Outcome.STARTED)],
)
def test_drill_gate_sends_a_stale_target_to_approval(last_drill: float | None, outcome: Outcome) -> None:
    drilled = facts(last_drill_ok=None if last_drill is None else minutes(last_drill))
    decision = run([signal()], target_facts=drilled, requireDrillWithinDays=30)
    assert decision.outcome is outcome
    if outcome is Outcome.AWAITING_APPROVAL:
        assert decision.starts == ()
        assert any("drill" in r for r in decision.reasons)
        assert decision.targets[0].action is Action.AWAIT_APPROVAL


def test_approval_waits_with_a_timeout_timer_then_an_approval_starts() -> None:
    asked = run([signal()], mode="approval", approvalTimeoutMinutes=30)
    assert asked.outcome is Outcome.AWAITING_APPROVAL
    assert asked.timer == minutes(31)
    assert asked.starts == ()
    again = run([signal(), signal(2, note="dup")], at=10, mode="approval", pending=asked.pending)
    assert again.outcome is Outcome.AWAITING_APPROVAL
    assert again.pending == asked.pending  # a later signal does not move the deadline
    assert asked.pending is not None
    approved = Pending(PendingKind.APPROVAL, asked.pending.incident, asked.pending.since, asked.pending.until, True)
    assert run([signal()], at=12, mode="approval", pending=approved).starts == (PLAN,)


@pytest.mark.parametrize(("on_timeout", "outcome"), [("expire", Outcome.SUPPRESSED), ("proceed", Outcome.STARTED)])
def test_approval_timeout_expires_or_proceeds(on_timeout: str, outcome: Outcome) -> None:
    rules: dict[str, Any] = {"mode": "approval", "approvalTimeoutMinutes": 30, "onApprovalTimeout": on_timeout}
    asked = run([signal()], **rules)
    before = run([signal()], at=30, pending=asked.pending, **rules)
    assert before.outcome is Outcome.AWAITING_APPROVAL
    timed_out = run([signal()], at=31, pending=asked.pending, **rules)
    assert timed_out.outcome is outcome
    if outcome is Outcome.SUPPRESSED:
        assert timed_out.starts == ()
        assert "expired" in timed_out.reasons[0]
        later = run([signal(), signal(40, note="later")], at=45, pending=timed_out.pending, **rules)
        assert later.outcome is Outcome.SUPPRESSED  # still expired: the same incident does not ask again
    else:
        assert timed_out.starts == (PLAN,)


# -- kill switch, modes, filters ---------------------------------------------------------------------------


def test_kill_switch_suppresses_every_automatic_action() -> None:
    variants: list[dict[str, Any]] = [{}, {"mode": "approval"}, {"mode": "approval", "onApprovalTimeout": "proceed"}]
    for rules in variants:
        decision = run([signal()], at=100, kill_switch=True, **rules)
        assert decision.outcome is Outcome.SUPPRESSED
        assert "kill switch" in decision.reasons[0]
        assert decision.starts == ()


def test_dry_run_records_what_would_start_and_starts_nothing() -> None:
    decision = run([signal()], mode="dry-run")
    assert decision.outcome is Outcome.DRY_RUN
    assert decision.starts == ()
    assert decision.targets[0].action is Action.WOULD_START
    assert decision.reasons[0] == "dry-run: would be started"
    assert decision.pending is None


def test_dry_run_of_an_approval_asks_nobody() -> None:
    decision = run([signal()], target_facts=facts(), mode="dry-run", requireDrillWithinDays=7)
    assert decision.outcome is Outcome.DRY_RUN
    assert decision.reasons[0] == "dry-run: would be awaiting-approval"
    assert decision.pending is None and decision.timer is None


def test_mode_off_ignores_with_the_reason() -> None:
    decision = run([signal()], mode="off")
    assert decision.outcome is Outcome.IGNORED
    assert "mode is off" in decision.reasons[0]


@pytest.mark.parametrize(("include", "outcome"), [(False, Outcome.IGNORED), (True, Outcome.STARTED)])
def test_maintenance_is_acted_on_only_when_the_policy_opts_in(include: bool, outcome: Outcome) -> None:
    decision = run([signal(maintenance=True)], includeMaintenance=include)
    assert decision.outcome is outcome
    if not include:
        assert "includeMaintenance" in decision.reasons[0]


def test_services_filter_ignores_incidents_of_other_services() -> None:
    cosmos = signal(services=("Azure Cosmos DB",))
    assert run([cosmos]).outcome is Outcome.IGNORED
    assert run([cosmos], services=["Azure Cosmos DB"]).outcome is Outcome.STARTED


def test_other_regions_are_ignored() -> None:
    westus = signal(region="westus")
    assert run([westus]).outcome is Outcome.IGNORED
    no_policy = run([westus], region="westus")
    assert no_policy.outcome is Outcome.IGNORED
    assert "no section for region westus" in no_policy.reasons[0]


def test_a_global_incident_concerns_the_region() -> None:
    assert run([signal(region="*")]).outcome is Outcome.STARTED


def test_a_bad_policy_acts_on_nothing_and_says_why() -> None:
    bad = parse_policy('{"regions": {"eastus": {"mode": "yolo"}}}')
    assert isinstance(bad, PolicyErrors)
    decision = decide(bad, "eastus", [signal()], now=minutes(1), facts=facts())
    assert decision.outcome is Outcome.SUPPRESSED
    assert decision.starts == ()
    assert any("regions.eastus.mode" in r for r in decision.reasons)


# -- resolved, duplicates, out of order --------------------------------------------------------------------


def test_a_resolved_incident_is_recovered_and_never_starts() -> None:
    decision = run([signal(state="resolved")])
    assert decision.outcome is Outcome.RECOVERED
    assert decision.starts == ()
    assert any("failback" in r for r in decision.reasons)


@pytest.mark.parametrize(
    ("signals", "outcome"),
    [
        ([signal(0), signal(5, state="resolved")], Outcome.RECOVERED),
        ([signal(5, state="resolved"), signal(0)], Outcome.RECOVERED),  # a late, older active: stays resolved
        ([signal(5), signal(0, state="resolved")], Outcome.STARTED),  # a late, older resolve: stays active
        ([signal(0, state="resolved"), signal(5)], Outcome.STARTED),
    ],
)
def test_order_is_event_time_not_arrival(signals: list[RegionHealthSignal], outcome: Outcome) -> None:
    assert run(signals, at=6).outcome is outcome


def test_duplicates_and_reordering_change_nothing() -> None:
    base = [signal(0), signal(1, source=Source.METRIC, incident="cpu"), signal(2, region="westus", state="resolved")]
    first = run(base, at=3, minSources=2)
    shuffled = list(reversed(base * 20))
    assert run(shuffled, at=3, minSources=2) == first
    assert first.outcome is Outcome.STARTED


def test_the_decision_round_trips_through_json() -> None:
    decision = run([signal()], mode="approval")
    assert Decision.from_json(decision.to_json()) == decision
    assert decision.to_json()["pending"]["until"] == (T0 + timedelta(minutes=61)).isoformat()


# -- incidents spanning regions, stored forms -------------------------------------------------------------


def test_a_resolve_for_another_region_of_the_same_incident_does_not_resolve_ours() -> None:
    ours, theirs = signal(0), signal(5, state="resolved", region="westus")
    assert run([ours, theirs], at=6).outcome is Outcome.STARTED


def test_a_resolve_that_names_no_region_resolves_the_incident() -> None:
    bare = replace(signal(5, state="resolved"), regions=(), impacts=())
    assert run([signal(0), bare], at=6).outcome is Outcome.RECOVERED


def test_an_approval_window_of_another_incident_is_not_reused() -> None:
    old = Pending(PendingKind.APPROVAL, "service-health:OLD", minutes(-100), minutes(-40), approved=True)
    decision = run([signal()], mode="approval", pending=old)
    assert decision.outcome is Outcome.AWAITING_APPROVAL
    assert decision.pending is not None and decision.pending.incident == "service-health:7K2Q"


def test_the_kill_switch_keeps_a_pending_window_and_sets_no_timer() -> None:
    window = Pending(PendingKind.APPROVAL, "service-health:7K2Q", minutes(0), minutes(60))
    decision = run([signal()], kill_switch=True, mode="approval", pending=window)
    assert decision.pending == window
    assert decision.timer is None


def test_a_vm_list_target_counts_its_own_vms_when_no_facts_are_given() -> None:
    rules: dict[str, Any] = {"targets": [{"vms": ["a", "b", "c"]}], "maxVms": 2}
    decision = run([signal()], target_facts={}, **rules)
    assert decision.outcome is Outcome.SUPPRESSED
    assert decision.reasons[0].startswith("3 VMs")


def test_a_stored_pending_window_that_lost_a_field_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        Pending.from_json(
            {"kind": "dwell", "incident": "x", "since": "yesterday", "until": "2025-06-02T08:00:00+00:00"}
        )
    assert caught.value.field == "pending"


@pytest.mark.parametrize("first", ["active", "resolved"])
def test_an_active_and_a_resolve_at_the_same_instant_read_as_resolved(first: str) -> None:
    second = "resolved" if first == "active" else "active"
    assert run([signal(3, state=first), signal(3, state=second)], at=6).outcome is Outcome.RECOVERED
