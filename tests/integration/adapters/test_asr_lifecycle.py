"""Whole A2A lifecycles driven only through the adapter (SiteRecovery port) against the HTTPS emulator."""

from __future__ import annotations

import pytest

from lib.adapters.asr_mapping import id_segment
from lib.domain.asr import Operation, ProtectedItem
from lib.domain.errors import ResourceNotFound
from tests.integration.adapters.conftest import TIME_SCALE, Harness, harness, topology

pytestmark = pytest.mark.integration

TEST_VNET = (
    "/subscriptions/6f4e2a10-0000-4000-8000-00000000a5a5/resourceGroups/rg-dr-test"
    "/providers/Microsoft.Network/virtualNetworks/vnet-drill"
)


def _until_protected(h: Harness, item: ProtectedItem) -> tuple[ProtectedItem, list[int]]:
    """Advance the emulated clock through initial replication, recording the progress seen on each read. The
    clock nearly stands still in between (1x), so a loaded machine cannot skip past the steps."""
    seen: list[int] = []
    h.emu.set_time_scale(1)
    try:
        for _ in range(60):
            if item.protection_state != "InitialReplicationInProgress":
                return item, seen
            if item.monitoring_percentage is not None:  # null until ASR's first refresh
                seen.append(item.monitoring_percentage)
            h.emu.advance(120)
            item = h.asr.get_protected_item(item.ref)
    finally:
        h.emu.set_time_scale(TIME_SCALE)
    raise AssertionError(f"{item.vm_name} never left initial replication: {seen}")


def _fail_over_and_reprotect(h: Harness, item: ProtectedItem) -> tuple[ProtectedItem, str]:
    """Failover → commit → switch-protection; returns the item re-discovered at its new place and the new id."""
    failover = h.wait_job(h.asr.unplanned_failover(item.ref, shutdown_source=True, recovery_point_id=None))
    assert failover.succeeded and failover.scenario == "UnplannedFailover" and failover.target_name == item.vm_name
    assert failover.errors == ()

    pending = h.asr.get_protected_item(item.ref)
    assert pending.failed_over and pending.protection_state == "UnplannedFailoverCommitPendingStatesBegin"
    assert pending.allows(Operation.COMMIT) and pending.last_successful_failover_time is not None

    commit = h.wait_job(h.asr.commit(item.ref))
    assert commit.succeeded and commit.scenario == "CommitFailover"
    committed = h.asr.get_protected_item(item.ref)
    assert committed.protection_state == "UnplannedFailoverCommitted" and committed.allows(Operation.SWITCH_PROTECTION)
    assert (committed.fabric, committed.container) == (item.fabric, item.container)  # commit does not move it

    reprotect = h.wait_job(h.asr.switch_protection(committed))
    assert reprotect.succeeded and reprotect.scenario == "SwitchReplicationGroupProtection"
    assert reprotect.new_item_id is not None
    moved = h.item(item.vm_name)  # vault-wide list: the item is found by name wherever it now lives
    assert moved.name == item.name
    assert moved.id.lower() == reprotect.new_item_id.lower()
    assert moved.container == id_segment(reprotect.new_item_id, "replicationProtectionContainers")
    assert moved.container != item.container and moved.fabric != item.fabric
    with pytest.raises(ResourceNotFound):  # nothing is left at the old address
        h.asr.get_protected_item(item.ref)
    return moved, reprotect.new_item_id


def test_failover_commit_reprotect_then_failback_round_trip() -> None:
    with harness(topology(["web1", "web2"])) as h:
        start = h.item("web1")
        assert (
            start.healthy_and_protected and start.in_original_direction and start.allows(Operation.UNPLANNED_FAILOVER)
        )
        assert (start.primary_location, start.recovery_location) == ("eastus", "westus")

        reverse, _ = _fail_over_and_reprotect(h, start)
        assert reverse.protection_state == "InitialReplicationInProgress"
        assert not reverse.in_original_direction
        assert (reverse.primary_location, reverse.recovery_location) == ("westus", "eastus")
        reverse, progress = _until_protected(h, reverse)
        assert len(progress) >= 2 and progress == sorted(progress) and progress[-1] > progress[0]
        assert reverse.healthy_and_protected and reverse.allows(Operation.UNPLANNED_FAILOVER)

        # Failback is a PrimaryToRecovery failover of the reprotected item, then the same steps again.
        back, _ = _fail_over_and_reprotect(h, reverse)
        assert (back.fabric, back.container) == (start.fabric, start.container)
        back, _ = _until_protected(h, back)
        assert back.healthy_and_protected and back.in_original_direction

        untouched = h.item("web2")
        assert untouched.healthy_and_protected and untouched.container == start.container


def test_drill_test_failover_then_cleanup() -> None:
    with harness(topology(["app1"])) as h:
        item = h.item("app1")
        assert "161011" in item.health_error_codes  # "no test failover yet"
        job = h.wait_job(h.asr.test_failover(item.ref, network_id=TEST_VNET))
        assert job.succeeded and job.scenario == "TestFailover"
        assert [state for _, state in job.tasks] and all(s in ("Succeeded", "Other") for _, s in job.tasks)

        waiting = h.asr.get_protected_item(item.ref)
        assert waiting.test_failover_state == "WaitingForCompletion"
        assert waiting.current_scenario == "TestFailover" and waiting.current_job_name == job.name
        assert waiting.allows(Operation.TEST_FAILOVER_CLEANUP) and waiting.test_vm_name == "app1-test"

        cleanup = h.wait_job(h.asr.test_failover_cleanup(item.ref, comments="drill ok"))
        assert cleanup.succeeded and cleanup.scenario == "TestFailoverCleanup"
        done = h.asr.get_protected_item(item.ref)
        assert done.test_failover_state == "MarkedForDeletion" and done.current_job_name is None  # lingers a while
        assert done.last_successful_test_failover_time is not None
        assert "161011" not in done.health_error_codes


def test_recovery_plan_failover_and_commit() -> None:
    plans = [{"name": "tier-plan", "groups": [["db1"], ["app1", "app2"]]}]
    with harness(topology(["db1", "app1", "app2", "other"], plans)) as h:
        items = {i.vm_name: i for i in h.asr.list_protected_items()}
        plan = h.asr.get_recovery_plan("tier-plan")
        assert plan.groups == ((items["db1"].name,), (items["app1"].name, items["app2"].name))
        assert plan.allows(Operation.UNPLANNED_FAILOVER)
        assert [p.name for p in h.asr.list_recovery_plans()] == ["tier-plan"]

        job = h.wait_job(
            h.asr.plan_unplanned_failover(
                "tier-plan", direction="PrimaryToRecovery", shutdown_source=False, recovery_point_type="Latest"
            )
        )
        assert job.succeeded and job.target_name == "tier-plan"
        after = {i.vm_name: i for i in h.asr.list_protected_items()}
        assert all(after[vm].failed_over for vm in ("db1", "app1", "app2"))
        assert not after["other"].failed_over
        assert h.asr.get_recovery_plan("tier-plan").allows(Operation.COMMIT)

        commit = h.wait_job(h.asr.plan_commit("tier-plan"))
        assert commit.succeeded
        committed = {i.vm_name: i for i in h.asr.list_protected_items()}
        assert {committed[vm].protection_state for vm in ("db1", "app1", "app2")} == {"UnplannedFailoverCommitted"}


def test_recovery_plan_drill() -> None:
    plans = [{"name": "drill-plan", "groups": [["a1", "a2"]]}]
    with harness(topology(["a1", "a2"], plans)) as h:
        job = h.wait_job(
            h.asr.plan_test_failover(
                "drill-plan", network_id=TEST_VNET, direction="PrimaryToRecovery", recovery_point_type="LatestProcessed"
            )
        )
        assert job.succeeded
        plan = h.asr.get_recovery_plan("drill-plan")
        assert plan.allows(Operation.TEST_FAILOVER_CLEANUP)
        assert {i.test_failover_state for i in h.asr.list_protected_items()} == {"WaitingForCompletion"}
        cleanup = h.wait_job(h.asr.plan_test_failover_cleanup("drill-plan", comments="ok"))
        assert cleanup.succeeded
        assert {i.test_failover_state for i in h.asr.list_protected_items()} == {"MarkedForDeletion"}  # for a while


def test_reads_recovery_points_jobs_and_vault_health() -> None:
    with harness(topology(["r1", "r2", "r3"])) as h:
        item = h.item("r1")
        points = h.asr.list_recovery_points(item.ref)
        assert len(points) >= 2
        assert [p.time for p in points] == sorted(p.time for p in points)
        assert {p.kind for p in points} <= {"ApplicationConsistent", "CrashConsistent"}
        chosen = points[-2]
        job = h.wait_job(h.asr.unplanned_failover(item.ref, shutdown_source=False, recovery_point_id=chosen.id))
        assert job.succeeded
        assert job.name in {j.name for j in h.asr.list_jobs()}

        health = h.asr.get_vault_health()
        assert health.item_count == 3
        assert sum(v for k, v in health.counts.items() if k.startswith("fabric_")) == 3
        assert any(issue.code == "161011" for issue in health.item_issues)
