"""The autopilot service through its queue messages, on fakes: each guardrail of the policy acts through the
service (the pure ``decide`` has its own tests), every signal and decision is recorded, and runs start only once."""

from __future__ import annotations

import json
import random
from typing import Any

from lib.autopilot import DECISION_EVENT, StartRefused
from lib.guard import Decision, Outcome, TargetFacts, parse_policy
from lib.ports.autopilot import DecisionRecord
from lib.signals import RegionHealthSignal, SignalState
from tests.unit.autopilot.harness import NOW, PLAN, Harness, evaluate_message, policy
from tests.unit.autopilot.payloads import (
    RESOLVED,
    as_cloudevent,
    custom_event,
    maintenance,
    service_health,
    synthetic,
)

TEN_VMS = {PLAN: TargetFacts(vm_count=10)}


def test_an_active_incident_in_auto_mode_starts_one_failover_with_the_policy_s_options() -> None:
    h = Harness(policy(failover={"recoveryPoint": "LatestProcessed", "autoCommit": False}), TEN_VMS)
    [record] = h.alert(service_health())
    assert record.decision.outcome.value == "started" and record.runs == ("run-1",)
    [order] = h.starter.orders
    assert order.key == f"auto:eastus:service-health:7K2Q-LP0:{PLAN}" and order.approval is None
    assert (order.options.recovery_point, order.options.auto_commit) == ("LatestProcessed", False)
    assert order.decision_id == record.id and order.policy_hash == record.decision.policy_hash != ""
    assert record.signal == "service-health:0a1b2c3d-0000-4000-8000-000000000001"
    assert [e[0] for e in h.notifier.events] == [DECISION_EVENT]
    assert h.notifier.events[0][2]["runs"] == ["run-1"]
    view = record.to_json()
    assert list(view)[:9] == ["id", "at", "region", "incident", "sources", "outcome", "reasons", "runs", "policyHash"]


def test_twenty_shuffled_duplicates_and_another_region_s_resolve_start_one_run() -> None:
    h = Harness(policy(), TEN_VMS)
    deliveries = [service_health()] * 20 + [service_health(RESOLVED, region="West US", tracking="9W-RES")] * 5
    random.Random(7).shuffle(deliveries)
    for body in deliveries:
        h.alert(body)
    assert h.starter.created == ["run-1"] and len(h.starter.orders) == 1
    assert h.outcomes("eastus") == ["started"]  # redeliveries of a weighed notification change nothing
    assert h.outcomes("westus") == ["ignored"]  # the policy has no section for westus
    assert "no section for region westus" in h.decisions.list("westus", None, 1)[0].decision.reasons[0]


def test_resolved_maintenance_synthetic_and_unprotected_start_nothing() -> None:
    h = Harness(policy(), TEN_VMS)
    [recovered] = h.alert(service_health(RESOLVED))
    assert recovered.decision.outcome.value == "recovered"
    assert any("no automatic failback" in r for r in recovered.decision.reasons)
    h = Harness(policy(), TEN_VMS)
    [planned] = h.alert(maintenance())
    assert planned.decision.outcome.value == "ignored" and "maintenance" in " ".join(planned.decision.reasons)
    [test] = h.alert(synthetic())
    assert (
        test.decision.outcome.value == "ignored" and test.region == "" and "synthetic-test" in test.decision.reasons[0]
    )
    [other] = h.alert(service_health(region="West Europe", tracking="WE-1", data_id="we-1"))
    assert other.region == "westeurope" and other.decision.outcome.value == "ignored"
    assert h.starter.orders == [] and h.notifier.events == []  # ignored decisions publish nothing


def test_approval_mode_starts_a_run_that_waits_for_an_operator() -> None:
    h = Harness(policy(mode="approval", approvalTimeoutMinutes=30, onApprovalTimeout="proceed"), TEN_VMS)
    [record] = h.alert(service_health())
    assert record.decision.outcome.value == "awaiting-approval" and record.runs == ("run-1",)
    [order] = h.starter.orders
    assert order.approval is not None and (order.approval.timeout_s, order.approval.proceeds) == (1800.0, True)
    assert h.queue.sent == []  # the approval timeout is the run's own durable timer, not ours


def test_dry_run_records_what_would_happen_and_starts_nothing() -> None:
    h = Harness(policy(mode="dry-run"), TEN_VMS)
    [record] = h.alert(service_health())
    assert record.decision.outcome.value == "dry-run" and record.runs == ()
    assert record.decision.targets[0].action.value == "would-start" and h.starter.orders == []


def test_quorum_waits_for_a_second_source() -> None:
    h = Harness(policy(minSources=2), TEN_VMS)
    assert [r.decision.outcome.value for r in h.alert(service_health())] == ["waiting-quorum"]
    assert h.facts_reads == 0 or h.starter.orders == []
    [record] = h.event(custom_event(at=NOW))
    assert record.decision.outcome.value == "started" and record.decision.sources == ("custom", "service-health")
    assert len(h.starter.orders) == 1


def test_dwell_sets_a_durable_timer_and_a_resolve_inside_it_cancels() -> None:
    h = Harness(policy(dwellMinutes=10), TEN_VMS)
    [waiting] = h.alert(service_health())  # at 07:52:10, now 08:00: two minutes of dwell left
    assert waiting.decision.outcome.value == "waiting-dwell"
    [timer] = h.queue.sent
    assert json.loads(timer.body) == {"v": 1, "kind": "evaluate", "region": "eastus", "why": "dwell"}
    assert 120 <= timer.delay_s <= 131
    h.alert(service_health(data_id="dup-notification"))  # the same incident again: no second timer
    assert len(h.queue.sent) == 1
    h.later(minutes=1)
    h.alert(service_health(RESOLVED))
    h.later(minutes=2)
    [after] = h.fire_timers()
    assert after.decision.outcome.value == "recovered" and h.starter.orders == []


def test_dwell_passes_then_the_timer_starts_the_run() -> None:
    h = Harness(policy(dwellMinutes=10), TEN_VMS)
    h.alert(service_health())
    h.later(minutes=3)
    [started] = h.fire_timers()
    assert started.decision.outcome.value == "started" and started.signal is None and started.runs == ("run-1",)


def test_timer_scale_shrinks_the_dwell_like_the_engine_s_waits() -> None:
    h = Harness(policy(dwellMinutes=600), TEN_VMS, timer_scale=0.01)  # 10 h -> 6 min; the event is 8 min old
    [record] = h.alert(service_health())
    assert record.decision.outcome.value == "started"
    assert record.decision.policy_hash == policy(dwellMinutes=600).policy_hash  # type: ignore[union-attr]


def test_cooldown_cap_active_run_and_kill_switch_suppress() -> None:
    recent = TargetFacts(vm_count=10, last_auto_failover=NOW.replace(hour=2))
    h = Harness(policy(), {PLAN: recent})
    assert "cooldown" in " ".join(h.alert(service_health())[0].decision.reasons)
    h = Harness(policy(maxVms=5), TEN_VMS)
    assert "exceed maxVms 5" in " ".join(h.alert(service_health())[0].decision.reasons)
    h = Harness(policy(), {PLAN: TargetFacts(vm_count=10, active_run="manual-1")})
    assert "already has an active run manual-1" in " ".join(h.alert(service_health())[0].decision.reasons)
    h = Harness(policy(kill_switch=True), TEN_VMS)
    [record] = h.alert(service_health())
    assert record.decision.outcome.value == "suppressed" and "kill switch" in record.decision.reasons[0]
    assert h.starter.orders == []


def test_the_drill_gate_turns_auto_into_an_approval() -> None:
    h = Harness(policy(requireDrillWithinDays=30), TEN_VMS)
    [record] = h.alert(service_health())
    assert record.decision.outcome.value == "awaiting-approval"
    assert "no successful drill" in " ".join(record.decision.reasons)
    assert h.starter.orders[0].approval is not None and not h.starter.orders[0].approval.proceeds
    fresh = TargetFacts(vm_count=10, last_drill_ok=NOW.replace(day=1))
    h = Harness(policy(requireDrillWithinDays=30), {PLAN: fresh})
    assert h.alert(service_health())[0].decision.outcome.value == "started"


def test_a_busy_target_is_recorded_as_not_started() -> None:
    h = Harness(policy(), TEN_VMS)
    h.starter.busy[PLAN] = "manual-7"
    [record] = h.alert(service_health())
    assert record.runs == () and f"{PLAN} was not started: run manual-7 is working on {PLAN}" in record.decision.reasons
    assert isinstance(StartRefused("x"), Exception)


def test_a_second_evaluation_of_one_incident_reuses_its_run_and_records_its_start_once() -> None:
    h = Harness(policy(), TEN_VMS)  # facts that do not show the run yet: the guard says "started" again
    [first] = h.alert(service_health())
    assert h.service.process(evaluate_message("eastus")) == []
    assert h.starter.created == ["run-1"] and len(h.starter.orders) == 2
    assert [r.id for r in h.decisions.list("eastus", None, 10)] == [first.id] and first.runs == ("run-1",)


def test_a_started_decision_naming_some_runs_already_recorded_keeps_only_the_others() -> None:
    two = parse_policy(json.dumps({"regions": {"eastus": {"targets": [{"vms": ["a"]}, {"vms": ["b"]}],
                                                          "mode": "auto"}}}))  # fmt: skip
    h = Harness(two)
    incident = "started|service-health:7K2Q-LP0|"
    h.decisions.add(DecisionRecord("other", Decision("eastus", NOW, Outcome.STARTED, (), ""), ("run-1",)),
                    once=(incident + "vms:a",))  # fmt: skip
    [record] = h.alert(service_health())
    assert record.runs == ("run-2",) and "1 run(s) left out" in record.decision.reasons[-1]
    assert h.decisions.add(record, once=(incident + "vms:b",)) == frozenset({incident + "vms:b"})


def test_a_bad_policy_acts_on_nothing_and_says_why() -> None:
    bad = parse_policy(json.dumps({"regions": {"eastus": {"targets": [{"recoveryPlan": "rp"}], "mode": "yes"}}}))
    h = Harness(bad, TEN_VMS)
    records = h.alert(service_health())
    [record] = records
    assert record.decision.outcome.value == "suppressed" and record.decision.policy_hash == ""
    assert record.decision.reasons[0] == "the policy is invalid, so nothing acts automatically"
    assert any(r.startswith("regions.eastus.mode:") for r in record.decision.reasons)
    assert h.starter.orders == []


def test_event_grid_both_schemas_are_one_notification() -> None:
    h = Harness(policy(minSources=1), TEN_VMS)
    event = custom_event(at=NOW)
    h.event(event)
    h.event(as_cloudevent(event))
    assert h.outcomes() == ["started"] and len(h.starter.orders) == 1
    stored = h.store.list("eastus")
    assert [s.state for s in stored] == [SignalState.ACTIVE]


def test_malformed_and_foreign_messages_are_dropped_or_recorded() -> None:
    h = Harness(policy(), TEN_VMS)
    assert h.service.process(b"not json") == []
    assert h.service.process(json.dumps({"v": 2, "kind": "evaluate", "region": "eastus"})) == []
    assert h.service.process(json.dumps({"v": 1, "kind": "nope"})) == []
    [bad] = h.event({"eventType": "Autopilot.RegionHealth", "id": "x", "data": {"state": "on"}})
    assert bad.decision.outcome.value == "ignored" and "malformed payload" in bad.decision.reasons[0]
    [unknown] = h.alert({"hello": "world"})
    assert "unknown-schema" in unknown.decision.reasons[0]


def test_a_resource_signal_without_a_resolver_is_ignored_with_the_reason() -> None:
    from tests.unit.signals.fixtures import load

    h = Harness(policy(), TEN_VMS)
    [record] = h.event(load("eventgrid-healthresources-availabilitystatuschanged-eventgridschema.json"))
    assert record.decision.outcome.value == "ignored" and "could not be resolved" in record.decision.reasons[0]


def test_a_global_incident_is_stored_and_weighed_under_every_policy_region() -> None:
    two = parse_policy(json.dumps({"regions": {
        "eastus": {"targets": [{"vms": ["a"]}], "mode": "dry-run"},
        "westus": {"targets": [{"vms": ["b"]}], "mode": "dry-run"}}}))  # fmt: skip
    h = Harness(two)
    h.event(custom_event(region="Global", at=NOW))
    assert h.outcomes("eastus") == ["dry-run"] and h.outcomes("westus") == ["dry-run"]


def test_a_duplicate_of_a_notification_being_weighed_looks_again_later_instead_of_deciding_twice() -> None:
    from lib.signals import from_alert_webhook

    h = Harness(policy(), TEN_VMS)
    [signal] = from_alert_webhook(service_health())
    assert isinstance(signal, RegionHealthSignal)
    h.store.add("eastus", signal)  # stored by a worker that has not weighed it yet (or died)
    assert h.alert(service_health()) == [] and h.decisions.list(None, None, 10) == []
    [again] = h.queue.sent
    assert json.loads(again.body)["kind"] == "signal" and again.delay_s == 60
    assert h.fire_timers() == []  # still young: look again later
    h.later(seconds=61)
    [record] = h.fire_timers()  # its worker died: this delivery weighs it
    assert record.decision.outcome.value == "started" and h.starter.created == ["run-1"]
    h.later(seconds=61)
    assert h.fire_timers() == [] and h.queue.sent == []


def test_a_worker_drops_redeliveries_it_has_weighed_or_recorded_as_ignored_without_a_storage_call() -> None:
    h = Harness(policy(), TEN_VMS)
    calls: list[str] = []
    add = h.store.add

    def counted(region: str, signal: RegionHealthSignal) -> Any:
        calls.append(region)
        return add(region, signal)

    h.store.add = counted  # type: ignore[method-assign]  # count the store's inserts
    for _ in range(3):
        h.alert(service_health())
        h.alert(synthetic())
    assert calls == ["eastus"] and h.starter.created == ["run-1"]
    assert h.outcomes(None) == ["started", "ignored"]  # every region: one decision each
