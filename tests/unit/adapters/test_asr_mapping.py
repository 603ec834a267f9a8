"""SDK models (deserialized by the SDK's own constructors from recorded ASR bodies) → domain views."""

from __future__ import annotations

from datetime import UTC, datetime

from azure.mgmt.recoveryservicessiterecovery import models as m

from lib.adapters import asr_mapping as mapping
from lib.domain.asr import JobError, ProtectedItem
from tests.unit.adapters.asr_fixtures import load


def item(name: str) -> ProtectedItem:
    return mapping.protected_item(m.ReplicationProtectedItem(load(name)))


def test_forward_protected_item() -> None:
    it = item("rpi_1_forward_protected")
    assert it.name == "cli-test-protected-item-A2A-1"
    assert it.vm_name == "CliVM2"
    assert (it.fabric, it.container) == ("cli-test-fabric-A2A-1", "cli-test-container-A2A-1")
    assert it.protection_state == "Protected" and it.active_location == "Primary"
    assert it.allowed_operations == {"UnplannedFailover", "DisableProtection", "TestFailover"}
    assert (it.primary_location, it.recovery_location) == ("eastus", "eastus2")
    assert (it.initial_primary_location, it.initial_recovery_location) == ("eastus", "eastus2")
    assert it.in_original_direction and not it.failed_over and it.healthy_and_protected
    assert it.current_scenario == "None" and it.current_job_name is None  # idle jobId ends in /None
    assert it.health_error_codes == ("161011",)
    assert it.failover_health == "Warning"
    assert it.rpo_seconds == 393
    assert it.test_vm_name == "CliVM2-test"
    assert it.last_successful_failover_time is None


def test_committed_item_keeps_its_container_and_direction() -> None:
    it = item("rpi_2_failover_committed")
    assert it.protection_state == "UnplannedFailoverCommitted"
    assert it.failed_over
    assert (it.fabric, it.container) == ("asr-a2a-default-uksouth", "asr-a2a-default-uksouth-container")
    assert it.in_original_direction  # primary stays uksouth until switch-protection
    assert it.last_successful_failover_time == datetime(2025, 4, 9, 8, 37, 42, 648307, tzinfo=UTC)
    assert it.monitoring_percentage is None
    assert "SwitchProtection" in it.allowed_operations


def test_reverse_items_live_under_the_other_container_and_report_progress() -> None:
    ir = item("rpi_3_reverse_ir")
    assert (ir.fabric, ir.container) == ("cli-test-fabric-A2A-2", "cli-test-container-A2A-2")
    assert ir.protection_state == "InitialReplicationInProgress"
    assert ir.monitoring_percentage == 43
    assert (ir.primary_location, ir.initial_primary_location) == ("eastus2", "eastus")
    assert not ir.in_original_direction
    assert ir.rpo_seconds is None

    protected = item("rpi_4_reverse_protected")
    assert protected.name == ir.name  # the name survives switch-protection
    assert protected.healthy_and_protected and not protected.in_original_direction


def test_fabric_and_container_are_found_whatever_the_case_of_the_id() -> None:
    body = load("rpi_1_forward_protected")
    body["id"] = (
        body["id"]
        .replace("replicationFabrics", "REPLICATIONFABRICS")
        .replace("replicationProtectionContainers", "replicationprotectioncontainers")
    )
    it = mapping.protected_item(m.ReplicationProtectedItem(body))
    assert (it.fabric, it.container) == ("cli-test-fabric-A2A-1", "cli-test-container-A2A-1")


def test_running_scenario_gives_the_job_name() -> None:
    it = item("rpi_hyperv_test_failover_waiting")
    assert it.current_scenario == "TestFailover"
    assert it.current_job_name == "2838f9b4-2609-4f76-a7e9-07e6387c5e98"
    assert it.test_failover_state == "WaitingForCompletion"
    # A Hyper-V item has no A2A details: locations are empty, nothing crashes.
    assert it.primary_location == "" and it.monitoring_percentage is None


def test_unset_sentinel_times_map_to_none() -> None:
    body = load("rpi_1_forward_protected")
    body["properties"]["lastSuccessfulTestFailoverTime"] = "1601-01-01T00:00:00.0000000Z"
    body["properties"]["lastSuccessfulFailoverTime"] = "0001-01-01T00:00:00"
    it = mapping.protected_item(m.ReplicationProtectedItem(body))
    assert it.last_successful_test_failover_time is None and it.last_successful_failover_time is None
    assert mapping.real_time(datetime(2025, 1, 1, 12)) == datetime(2025, 1, 1, 12, tzinfo=UTC)


def test_plan_groups_are_boot_groups_of_item_names() -> None:
    plan = mapping.recovery_plan(m.RecoveryPlan(load("plan_a2a")))
    assert plan.name == "cli-test-recovery-plan-A2A-1"
    assert plan.groups == (("cli-test-protected-item-A2A-1",),)
    assert plan.allowed_operations == {"UnplannedFailover", "TestFailover"}
    assert plan.current_scenario is None and plan.current_job_name is None
    assert plan.primary_fabric_id.endswith("/replicationFabrics/cli-test-fabric-A2A-1")


def test_plan_with_two_boot_groups_and_a_waiting_test_failover() -> None:
    plan = mapping.recovery_plan(m.RecoveryPlan(load("plan_test_failover_waiting")))
    assert plan.groups == (("f8491e4f-817a-40dd-a90c-af773978c75b",), ("c0c14913-3d7a-48ea-9531-cc99e0e686e6",))
    assert plan.current_scenario == "TestFailover"
    assert plan.current_job_name == "d40bfb40-aaaa-4c0d-87d3-41b15439a84b"
    assert plan.item_names == ("f8491e4f-817a-40dd-a90c-af773978c75b", "c0c14913-3d7a-48ea-9531-cc99e0e686e6")


def test_switch_protection_job_carries_the_new_item_id() -> None:
    running = mapping.job(m.Job(load("job_switchprotection_inprogress")))
    assert running.state == "InProgress" and not running.finished and running.end_time is None
    assert running.new_item_id is None

    done = mapping.job(m.Job(load("job_switchprotection_succeeded")))
    assert done.name == "7588f427-245a-44d6-9190-0164f2416949"
    assert done.scenario == "SwitchReplicationGroupProtection"
    assert done.succeeded and done.target_name == "reprotectvm" and done.target_type == "ProtectionEntity"
    assert done.new_item_id is not None
    assert mapping.id_segment(done.new_item_id, "replicationProtectionContainers") == "asr-a2a-default-ukwest-container"
    assert ("Prerequisite check", "Succeeded") in done.tasks
    assert ("Committing failover", "Other") in done.tasks  # skipped tasks report Other
    assert done.start_time is not None and done.end_time is not None and done.start_time < done.end_time


def test_failed_job_surfaces_service_and_provider_codes() -> None:
    failed = mapping.job(m.Job(load("job_failed_synthetic")))
    assert failed.finished and not failed.succeeded
    assert failed.errors == (
        JobError("70094", "Failover of the virtual machine 'vm1' failed."),
        JobError("150261", "The replica VM could not be created."),
    )
    assert failed.tasks[1] == ("Start failover", "Failed")
    assert failed.new_item_id is None
    assert failed.allowed_actions == frozenset({"Restart"}) and not failed.cancellable


def test_errors_come_before_warnings() -> None:
    body = load("job_failed_synthetic")
    warning = {
        "serviceErrorDetails": {"code": "70094", "message": "Could not shut down vm1."},
        "errorLevel": "Warning",
        "taskId": "ShutdownVmTask",
    }
    body["properties"]["errors"].insert(0, warning)
    failed = mapping.job(m.Job(body))
    assert [(e.code, e.level) for e in failed.errors] == [("70094", "Error"), ("150261", "Error"), ("70094", "Warning")]
    assert failed.errors[0].message.startswith("Failover of")


def test_generic_job_from_the_spec() -> None:
    job = mapping.job(m.Job(load("job_spec_get")))
    assert job.scenario == "DeleteRecoveryPlan" and job.target_type == "RecoveryPlan" and job.errors == ()
    assert job.tasks == (("Delete a recovery plan task", "Succeeded"),)


def test_recovery_points_are_sorted_oldest_first() -> None:
    raw = [m.RecoveryPoint(p) for p in load("recovery_points_a2a_unsorted_synthetic")["value"]]
    points = mapping.recovery_points(raw)
    assert [p.name for p in points] == ["p-old", "p-mid", "p-new"]
    assert points[1].kind == "ApplicationConsistent"
    assert points[-1].time == datetime(2025, 11, 24, 10, 55, 0, 123456, tzinfo=UTC)
    assert points[0].id.endswith("/recoveryPoints/p-old")


def test_vault_health_counts_and_issues() -> None:
    health = mapping.vault_health(m.VaultHealthDetails(load("vault_health")))
    assert health.item_count == 5
    assert health.counts["protectedItemsTestFailoverWarningCount"] == 3
    assert health.counts["fabric_eecac84c-1761-50ad-9624-a7092c581567"] == 3
    codes = {i.code: i for i in health.item_issues}
    assert set(codes) == {"161003", "161011"}
    assert codes["161011"].affected == 3 and codes["161011"].severity == "Warning"
    assert codes["161003"].category == "Configuration"
    assert [i.code for i in health.infrastructure_issues] == ["708"]
    assert health.infrastructure_issues[0].message == "Recovery Services Provider heartbeat is missing"


def test_id_helpers() -> None:
    rid = (
        "/Subscriptions/S/resourceGroups/RG/providers/Microsoft.RecoveryServices/vaults/V"
        "/replicationFabrics/F/replicationProtectionContainers/C/replicationProtectedItems/I"
    )
    assert mapping.container_id_of(rid).endswith("/replicationProtectionContainers/C")
    assert mapping.resource_group_id_of(rid) == "/subscriptions/S/resourceGroups/RG"
    assert mapping.last_segment("https://h/x/operationresults/abc?api-version=1&t=2") == "abc"
    assert mapping.job_name_of("/Subscriptions/S/replicationJobs/None") is None
    assert mapping.job_name_of(None) is None
