"""Pure emulator logic: clock, routes, filters, topology naming, task timelines, item operations, fault rules."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from emulator import topology as topo
from emulator import urls
from emulator.arm import parse_filter
from emulator.clock import SimClock, iso, parse_iso
from emulator.errors import BadRequest, TopologyError
from emulator.faults import FaultRegistry, FaultRuleError, TokenBucket
from emulator.jobs import FAILOVER_STEPS, lay_out, monitoring_percentage
from emulator.models import COMMIT_PENDING, COMMITTED, IR, PROTECTED, TFO_WAITING, Item

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def item(**fields: object) -> Item:
    base = Item(vm="vm1", name="n", guid="g", disk_gib=8, vm_resource_group="rg", recovery_resource_group="rg-asr",
                initial_primary="eastus", initial_recovery="westus", primary="eastus")  # fmt: skip
    for key, value in fields.items():
        setattr(base, key, value)
    return base


def test_clock_scale_change_and_advance_keep_time_monotonic() -> None:
    clock = SimClock(1000.0, start=T0)
    first = clock.now()
    clock.set_scale(0.001)
    clock.advance(3600)
    later = clock.now()
    assert later - first >= timedelta(seconds=3600)
    clock.advance(-50)  # never backwards
    assert clock.now() >= later
    with pytest.raises(ValueError):
        SimClock(0)


def test_iso_round_trips_with_seven_fraction_digits() -> None:
    stamp = datetime(2025, 4, 9, 8, 49, 20, 238629, tzinfo=UTC)
    text = iso(stamp)
    assert text == "2025-04-09T08:49:20.2386290Z"
    assert parse_iso(text) == stamp
    assert parse_iso("2025-04-09T08:58:22Z") == datetime(2025, 4, 9, 8, 58, 22, tzinfo=UTC)


def test_routes_match_case_insensitively_and_flag_wrong_methods() -> None:
    path = "/Subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v/REPLICATIONPROTECTEDITEMS"
    found = urls.match("GET", path)
    assert found is not None and found.name == "items.list"
    wrong = urls.match("POST", path)
    assert wrong is not None and wrong.name == "!method"
    result = urls.match("GET", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
                               "/replicationRecoveryPlans/p/operationresults/j")  # fmt: skip
    assert result is not None and result.name == "opresult:plans.get" and result.params["jobName"] == "j"
    assert urls.match("GET", "/subscriptions/s/other") is None


def test_filter_grammar() -> None:
    assert parse_filter("RecoveryPlanName eq 'a and b' and instanceType eq 'A2A'") == {
        "recoveryplanname": "a and b",
        "instancetype": "A2A",
    }
    assert parse_filter(None) == {}
    with pytest.raises(BadRequest):
        parse_filter("name like 'x'")


def test_topology_names_are_deterministic_and_validated() -> None:
    raw = {"subscriptionId": "s", "resourceGroup": "rg", "vault": "v", "primaryRegion": "EastUS",
           "recoveryRegion": "westus", "vms": ["vm1", {"name": "vm2", "diskGiB": 512}],
           "recoveryPlans": [{"name": "p", "groups": [["vm1"], ["VM2"]]}]}  # fmt: skip
    parsed = topo.parse_topology(raw)
    assert parsed.primary_region == "eastus" and [vm.disk_gib for vm in parsed.vms] == [topo.DEFAULT_DISK_GIB, 512]
    name = topo.item_name("s", "v", "vm1")
    assert name == topo.item_name("s", "v", "VM1") and len(name) == 43 and name.isalnum()
    assert topo.fabric_name("eastus") == "asr-a2a-default-eastus"
    assert topo.container_name("eastus") == "asr-a2a-default-eastus-container"
    with pytest.raises(TopologyError, match="unknown VM"):
        topo.parse_topology({**raw, "recoveryPlans": [{"name": "p", "groups": [["nope"]]}]})
    with pytest.raises(TopologyError, match="must differ"):
        topo.parse_topology({**raw, "recoveryRegion": "eastus"})


def test_timeline_skips_and_stops_after_a_failed_task() -> None:
    tasks, end, failed = lay_out(T0, random.Random(1), FAILOVER_STEPS, fail_task="FailoverTask",
                                 skip=frozenset({"ShutdownVmTask"}))  # fmt: skip
    states = [t.state(end) for t in tasks]
    assert states == [
        ("Succeeded", "Completed"),
        ("Other", "Skipped"),
        ("Succeeded", "Completed"),
        ("Failed", "Failed"),
        ("NotStarted", "NotStarted"),
    ]
    assert failed is tasks[3] and end == tasks[3].end
    assert tasks[0].end == tasks[2].start  # skipped tasks take no time
    assert tasks[2].state(tasks[2].start) == ("InProgress", "InProgress")


def test_durations_are_jittered_but_reproducible() -> None:
    def total() -> timedelta:
        return lay_out(T0, random.Random("seed:job:1"), FAILOVER_STEPS)[1] - T0

    assert total() == total()
    assert timedelta(minutes=2) < total() < timedelta(minutes=3)


def test_allowed_operations_follow_the_lifecycle_table() -> None:
    assert item().allowed_operations() == ["UnplannedFailover", "DisableProtection", "TestFailover"]
    assert item(tfo_state=TFO_WAITING).allowed_operations() == ["TestFailoverCleanup"]
    assert item(tfo_state=TFO_WAITING).protection_state_description() == "Cleanup test failover pending"
    assert "Commit" in item(state=COMMIT_PENDING).allowed_operations()
    assert item(state=COMMITTED).allowed_operations() == ["CompleteMigration", "DisableProtection", "SwitchProtection"]
    assert item(state=IR).allowed_operations() == ["DisableProtection"]
    assert item(busy_job="j").allowed_operations() == []
    failed_over = item(state=COMMITTED, primary="westus")
    assert (failed_over.active_location, failed_over.recovery, failed_over.running_in) == (
        "Recovery",
        "eastus",
        "eastus",
    )
    assert item(state=PROTECTED, primary="westus").forward is False


def test_initial_replication_progress_rises_in_steps_and_never_reports_100() -> None:
    ir = item(state=IR, ir_start=T0, ir_end=T0 + timedelta(hours=1))
    samples = [monitoring_percentage(ir, T0 + timedelta(minutes=m)) for m in (0, 4, 5, 30, 59, 61)]
    assert samples == [None, None, 8, 50, 91, 99]  # null until the first refresh


def test_fault_rules_count_route_suffix_vm_and_error_precedence() -> None:
    faults = FaultRegistry(seed=1)
    faults.add({"kind": "latency", "ms": 5, "route": "/replicationProtectedItems"})
    faults.add({"kind": "http", "status": 503, "method": "GET", "route": "replicationProtectedItems", "count": 1})
    faults.add({"kind": "reset", "vm": "vm1", "count": 1})
    template = urls.VAULT + "/replicationProtectedItems"
    assert [r.kind for r in faults.match_request("GET", template, None)] == ["latency", "http"]
    assert [r.kind for r in faults.match_request("GET", template, "VM1")] == ["latency", "reset"]
    assert [r.kind for r in faults.match_request("GET", template, "vm1")] == ["latency"]
    assert faults.match_request("POST", urls.PLAN, "vm1") == []

    faults.add({"kind": "jobFailure", "vm": "vm2", "operation": "reprotect", "count": 1})
    assert faults.match_job("jobFailure", "vm2", "UnplannedFailover") is None
    assert faults.match_job("jobFailure", "vm2", "SwitchProtection") is not None
    assert faults.match_job("jobFailure", "vm2", "SwitchProtection") is None
    for bad in ({"kind": "nope"}, {"kind": "http", "status": 200}, {"kind": "http", "count": 0},
                {"kind": "jobFailure", "operation": "Explode"}):  # fmt: skip
        with pytest.raises(FaultRuleError):
            faults.add(bad)


def test_probability_rules_fire_sometimes_with_a_seed() -> None:
    faults = FaultRegistry(seed=7)
    faults.add({"kind": "http", "status": 500, "probability": 0.5})
    fired = sum(bool(faults.match_request("GET", urls.JOB, None)) for _ in range(200))
    assert 60 < fired < 140


def test_token_bucket_and_enforcement() -> None:
    bucket = TokenBucket(2, 0)
    assert (bucket.take(), bucket.take(), bucket.take()) == (True, True, False)
    faults = FaultRegistry()
    assert all(faults.take_token("reads")[0] for _ in range(300))  # tracked, not enforced by default
    faults.add({"kind": "throttle", "writes": {"capacity": 1, "refillPerSecond": 0.01}})
    assert faults.take_token("writes")[0] is True
    allowed, remaining, retry = faults.take_token("writes")
    assert (allowed, remaining) == (False, 0) and retry >= 1
    faults.clear()
    assert faults.take_token("writes")[0] is True
