"""The drill scheduler's pure parts: the ``drills`` policy section, windows and time zones, due dates, each skip."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from lib.guard import Policy, PolicyErrors, parse_policy
from lib.guard.drills import (
    Drill,
    DrillAction,
    DrillFacts,
    DrillWindow,
    VmDrillHistory,
    due_drills,
    last_successful_drill,
)

NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/iso"
SAT_3AM = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)  # a Saturday


def _policy(drills: dict[str, Any]) -> Policy:
    parsed = parse_policy(json.dumps({"drills": drills}))
    assert isinstance(parsed, Policy), parsed
    return parsed


def _errors(drills: object) -> list[str]:
    parsed = parse_policy(json.dumps({"drills": drills}))
    assert isinstance(parsed, PolicyErrors), parsed
    return list(parsed.lines)


WEEKEND = {"days": ["Sat", "Sun"], "start": "02:00", "end": "06:00", "timeZone": "UTC"}


def _drill(**kw: Any) -> dict[str, Any]:
    return {"target": {"vms": ["vm1", "vm2"]}, "everyDays": 30, "testNetworkId": NET, "window": WEEKEND, **kw}


def _facts(**kw: Any) -> DrillFacts:
    base: dict[str, Any] = {
        "target_vms": {"weekly": ("vm1", "vm2")},
        "target_regions": {"weekly": frozenset({"eastus"})},
    }
    return DrillFacts(**{**base, **kw})


def _one(facts: DrillFacts, now: datetime = SAT_3AM, **drill: Any) -> Any:
    policy = _policy({"weekly": _drill(**drill)})
    [decision] = due_drills(policy.drills, now, facts)
    return decision


# -- the policy section ----------------------------------------------------------------------------------------


def test_drills_section_parses_to_typed_drills() -> None:
    policy = _policy({"weekly": _drill(probeUrl="https://app.example/health"), "plan": {
        "target": {"recoveryPlan": "rp-web"}, "testNetworkId": NET}})  # fmt: skip
    weekly = policy.drills["weekly"]
    assert weekly.target.vms == ("vm1", "vm2") and weekly.every_days == 30
    assert weekly.window == DrillWindow(("Sat", "Sun"), *_times("02:00", "06:00"), "UTC")
    assert weekly.request_body()["probeUrl"] == "https://app.example/health"
    assert policy.drills["plan"].window is None and policy.drills["plan"].every_days == 30
    assert "drills" in policy.to_json()


def test_policy_without_drills_keeps_its_hash() -> None:
    assert "drills" not in Policy().to_json()


@pytest.mark.parametrize(
    ("drills", "path"),
    [
        ({"w": {**_drill(), "extra": 1}}, "drills.w.extra"),
        ({"w": {k: v for k, v in _drill().items() if k != "target"}}, "drills.w.target"),
        ({"w": _drill(target={"recoveryPlan": "a", "vms": ["b"]})}, "drills.w.target"),
        ({"w": _drill(everyDays=0)}, "drills.w.everyDays"),
        ({"w": _drill(testNetworkId="vnet")}, "drills.w.testNetworkId"),
        ({"w": _drill(probeUrl="ftp://x")}, "drills.w.probeUrl"),
        ({"w": _drill(window={**WEEKEND, "days": ["Someday"]})}, "drills.w.window.days"),
        ({"w": _drill(window={**WEEKEND, "start": "2am"})}, "drills.w.window.start"),
        ({"w": _drill(window={**WEEKEND, "end": "24:00"})}, "drills.w.window.end"),
        ({"w": _drill(window={**WEEKEND, "end": "02:00"})}, "drills.w.window.end"),
        ({"w": _drill(window={**WEEKEND, "timeZone": "Mars/Olympus"})}, "drills.w.window.timeZone"),
        ({"w": _drill(window={**WEEKEND, "when": 1})}, "drills.w.window.when"),
        ({"no spaces": _drill()}, "drills.no spaces"),
        ([], "drills"),
    ],
)
def test_bad_drills_are_refused_at_their_path(drills: object, path: str) -> None:
    assert any(line.startswith(path + ":") for line in _errors(drills)), _errors(drills)


def test_every_drill_error_is_reported_at_once() -> None:
    lines = _errors({"a": _drill(everyDays=-1), "b": _drill(testNetworkId=None)})
    assert {line.split(":")[0] for line in lines} == {"drills.a.everyDays", "drills.b.testNetworkId"}


# -- windows -----------------------------------------------------------------------------------------------------


def test_window_in_utc() -> None:
    window = DrillWindow(("Sat", "Sun"), *_times("02:00", "06:00"))
    assert window.opened_on(SAT_3AM) == SAT_3AM.date()
    assert window.opened_on(SAT_3AM.replace(hour=6)) is None  # the end is exclusive
    assert window.opened_on(SAT_3AM.replace(hour=1, minute=59)) is None
    assert window.opened_on(SAT_3AM - timedelta(days=1)) is None  # Friday


def test_window_in_a_time_zone_follows_local_time_and_dst() -> None:
    window = DrillWindow(("Sat",), *_times("02:00", "06:00"), "America/New_York")
    # 03:00 UTC on Saturday is 22:00 on Friday in New York (EST): outside.
    assert window.opened_on(SAT_3AM) is None
    assert window.opened_on(datetime(2026, 11, 28, 8, 0, tzinfo=UTC)) is not None  # 03:00 EST
    summer = datetime(2026, 7, 4, 7, 0, tzinfo=UTC)  # a Saturday; 03:00 EDT (UTC-4)
    assert window.opened_on(summer) is not None
    assert window.opened_on(summer + timedelta(hours=3)) is None  # 06:00 EDT


def test_window_past_midnight_belongs_to_the_day_it_opened() -> None:
    window = DrillWindow(("Fri",), *_times("22:00", "02:00"))
    friday_late = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
    assert window.opened_on(friday_late) == friday_late.date()
    assert window.opened_on(SAT_3AM.replace(hour=1)) == friday_late.date()
    assert window.opened_on(SAT_3AM.replace(hour=2)) is None
    assert window.opened_on(SAT_3AM.replace(hour=23)) is None  # Saturday is not a window day


def _times(start: str, end: str) -> tuple[Any, Any]:
    from datetime import time

    return time.fromisoformat(start), time.fromisoformat(end)


# -- due, and every skip ------------------------------------------------------------------------------------------


def _drilled(days_ago: float, now: datetime = SAT_3AM) -> dict[str, VmDrillHistory]:
    at = now - timedelta(days=days_ago)
    return {"vm1": VmDrillHistory(asr_last_success=at), "vm2": VmDrillHistory(own_last_end=at, own_last_passed=True)}


def test_a_never_drilled_target_starts_in_its_window_with_a_key_per_period() -> None:
    decision = _one(_facts())
    assert decision.action is DrillAction.START and "never drilled" in decision.reason
    assert decision.idempotency_key == "drill:weekly:2026-11-28"
    later = _one(_facts(), SAT_3AM + timedelta(minutes=59))
    assert later.idempotency_key == decision.idempotency_key  # a second fire in the same window: the same run


def test_a_drill_is_due_when_its_last_success_is_older_than_every_days() -> None:
    assert _one(_facts(vms=_drilled(31))).action is DrillAction.START
    skipped = _one(_facts(vms=_drilled(29)))
    assert skipped.action is DrillAction.SKIP and skipped.reason.startswith("not due yet")
    assert skipped.last_success == SAT_3AM - timedelta(days=29)


def test_the_target_counts_from_its_least_recently_drilled_vm() -> None:
    vms = _drilled(5) | {"vm2": VmDrillHistory(asr_last_success=SAT_3AM - timedelta(days=40))}
    decision = _one(_facts(vms=vms))
    assert decision.action is DrillAction.START
    assert decision.last_success == SAT_3AM - timedelta(days=40)
    missing = _one(_facts(vms={"vm1": VmDrillHistory(asr_last_success=SAT_3AM)}))
    assert missing.action is DrillAction.START and "never drilled" in missing.reason


def test_outside_the_window_it_is_skipped() -> None:
    decision = _one(_facts(), SAT_3AM.replace(hour=7))
    assert decision.action is DrillAction.SKIP and decision.reason == "due, but outside its window"


def test_a_drill_without_window_starts_any_time() -> None:
    decision = _one(_facts(), SAT_3AM.replace(hour=13), window=None)
    assert decision.action is DrillAction.START and decision.idempotency_key == "drill:weekly:2026-11-28"


def test_an_active_run_on_its_vms_skips_it() -> None:
    decision = _one(_facts(busy_vms={"vm2": "run-42"}))
    assert decision.action is DrillAction.SKIP and decision.reason == "due, but a run is active on vm2 (run-42)"


def test_an_incident_in_the_targets_region_skips_it() -> None:
    decision = _one(_facts(incident_regions=frozenset({"eastus"})))
    assert decision.action is DrillAction.SKIP and "eastus has an active incident" in decision.reason
    elsewhere = _one(_facts(incident_regions=frozenset({"westeurope"})))
    assert elsewhere.action is DrillAction.START


def test_the_kill_switch_skips_it() -> None:
    decision = _one(_facts(kill_switch=True))
    assert decision.action is DrillAction.SKIP and decision.reason == "due, but the kill switch is on"


def test_an_unknown_target_is_skipped_with_the_reason() -> None:
    decision = _one(_facts(target_vms={}))
    assert decision.action is DrillAction.SKIP and "not found" in decision.reason


def test_decisions_come_in_name_order_and_serialise() -> None:
    policy = _policy({"b": _drill(), "a": _drill()})
    facts = DrillFacts(target_vms={"a": ("vm1",), "b": ()})
    decisions = due_drills(policy.drills, SAT_3AM, facts)
    assert [d.drill for d in decisions] == ["a", "b"]
    assert decisions[0].to_json()["action"] == "start" and decisions[1].to_json()["idempotencyKey"] is None


# -- the last successful drill of one VM -----------------------------------------------------------------------------


def test_a_test_failover_by_hand_counts() -> None:
    by_hand = SAT_3AM - timedelta(days=2)
    assert last_successful_drill(VmDrillHistory(asr_last_success=by_hand)) == by_hand


def test_our_own_passed_drill_counts_and_the_later_time_wins() -> None:
    ours, asr = SAT_3AM - timedelta(days=3), SAT_3AM - timedelta(days=9)
    assert last_successful_drill(VmDrillHistory(asr, ours, True)) == ours
    assert last_successful_drill(VmDrillHistory(ours, asr, True)) == ours


def test_asr_time_stamped_by_our_failed_drills_cleanup_does_not_count() -> None:
    cleaned = SAT_3AM - timedelta(days=1)
    failed_drill = VmDrillHistory(asr_last_success=cleaned, own_last_end=cleaned + timedelta(minutes=1))
    assert last_successful_drill(failed_drill) is None
    # A by-hand test after our failed drill counts again.
    by_hand_later = VmDrillHistory(asr_last_success=cleaned + timedelta(hours=5), own_last_end=cleaned)
    assert last_successful_drill(by_hand_later) == cleaned + timedelta(hours=5)


def test_asr_time_from_our_failed_drill_is_recognised_on_asrs_own_clock() -> None:
    stamp = SAT_3AM + timedelta(days=40)  # ASR's clock may run anywhere relative to ours
    ours = SAT_3AM  # our clock
    failed = VmDrillHistory(
        asr_last_success=stamp, own_last_end=ours, own_last_cleanup_end=stamp + timedelta(seconds=5)
    )
    assert last_successful_drill(failed) is None
    later_by_hand = replace(failed, asr_last_success=stamp + timedelta(hours=2))
    assert last_successful_drill(later_by_hand) == stamp + timedelta(hours=2)


def test_drill_request_body_is_what_post_drills_takes() -> None:
    from lib.domain.dr import parse_request

    drill: Drill = _policy({"weekly": _drill()}).drills["weekly"]
    request = parse_request("drill", drill.request_body(), actor="drill-scheduler")
    assert request.vms == ("vm1", "vm2") and request.test_network_id == NET
