"""Recovery plans: boot-group order, commit, failback direction after reprotect, test failover, failures."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError
from azure.mgmt.recoveryservicessiterecovery import models as m

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.conftest import EmulatorFactory, make_client
from tests.integration.emulator.helpers import (
    TEST_VNET,
    Client,
    arm_error,
    begin,
    container_id,
    find_item,
    make_topology,
    switch_input,
    where,
)

pytestmark = pytest.mark.integration

PENDING = "UnplannedFailoverCommitPendingStatesBegin"


def plan_failover(
    direction: str = "PrimaryToRecovery", shutdown: str = "NotRequired"
) -> m.RecoveryPlanUnplannedFailoverInput:
    return m.RecoveryPlanUnplannedFailoverInput(
        properties=m.RecoveryPlanUnplannedFailoverInputProperties(
            failover_direction=direction,
            source_site_operations=shutdown,
            provider_specific_details=[m.RecoveryPlanA2AFailoverInput(recovery_point_type="Latest")],
        )
    )


def states(client: Client, emu: EmulatorInfo) -> dict[str, str]:
    return {
        i.properties.friendly_name: i.properties.protection_state
        for i in client.replication_protected_items.list(emu.resource_group, emu.vault)
    }


def test_plan_failover_starts_group_2_only_after_group_1(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    plans = client.replication_recovery_plans
    assert plans.get(rg, vault, "plan1").properties.allowed_operations == ["UnplannedFailover", "TestFailover"]

    poller, job_name = begin(plans.begin_unplanned_failover, rg, vault, "plan1", plan_failover())
    assert plans.get(rg, vault, "plan1").properties.allowed_operations == []
    seen = []
    for _ in range(40):  # 40 x 20 s of emulated time, one snapshot per step
        emu.advance(20)
        seen.append(states(client, emu))
    assert {"vm1": PENDING, "vm2": "Protected"} in seen  # group 1 done while group 2 still running
    assert {"vm1": "Protected", "vm2": PENDING} not in seen  # never the other way round
    assert seen[-1] == {"vm1": PENDING, "vm2": PENDING}

    plan = poller.result()
    assert plan.properties.allowed_operations == ["Commit"]
    assert plan.properties.current_scenario.scenario_name == "UnplannedFailover"
    job = client.replication_jobs.get(rg, vault, job_name)
    assert (job.properties.state, job.properties.target_instance_type) == ("Succeeded", "RecoveryPlan")
    groups = [t for t in job.properties.tasks if t.friendly_name.startswith("Group ")]
    assert [g.friendly_name for g in groups] == ["Group 1: Start", "Group 2: Start"]
    assert groups[0].end_time <= groups[1].start_time
    child_1 = groups[0].group_task_custom_details.child_tasks[0]
    child_2 = groups[1].group_task_custom_details.child_tasks[0]
    assert (child_1.name, child_2.name) == ("vm1", "vm2")
    assert child_1.end_time <= child_2.start_time

    poller, _ = begin(plans.begin_failover_commit, rg, vault, "plan1")
    emu.advance(300)
    plan = poller.result()
    assert set(states(client, emu).values()) == {"UnplannedFailoverCommitted"}
    assert plan.properties.allowed_operations == []


def _reprotect_all(client: Client, emu: EmulatorInfo) -> None:
    for vm in ("vm1", "vm2"):
        item = find_item(client, emu, vm)
        fabric, container, _ = where(item)
        poller, _ = begin(
            client.replication_protection_containers.begin_switch_protection,
            emu.resource_group, emu.vault, fabric, container, switch_input(item, container_id(item)),
        )  # fmt: skip
        emu.advance(15 * 60)
        poller.result()
    emu.advance(3 * 3600)


def test_plan_failback_needs_recovery_to_primary_after_reprotect(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    plans = client.replication_recovery_plans
    poller, _ = begin(plans.begin_unplanned_failover, rg, vault, "plan1", plan_failover())
    emu.advance(900)
    poller.result()
    poller, _ = begin(plans.begin_failover_commit, rg, vault, "plan1")
    emu.advance(300)
    poller.result()
    _reprotect_all(client, emu)

    plan = plans.get(rg, vault, "plan1")
    assert plan.properties.allowed_operations == ["UnplannedFailover", "TestFailover"]
    members = [i.id for g in plan.properties.groups for i in g.replication_protected_items]
    assert members and all("/replicationFabrics/asr-a2a-default-westus/" in member for member in members)

    with pytest.raises(HttpResponseError) as wrong:
        plans.begin_unplanned_failover(rg, vault, "plan1", plan_failover("PrimaryToRecovery"))
    assert wrong.value.status_code == 400
    assert arm_error(wrong.value).details[0].code == "OperationNotAllowed"

    poller, _ = begin(
        plans.begin_unplanned_failover, rg, vault, "plan1", plan_failover("RecoveryToPrimary", "Required")
    )
    emu.advance(900)
    poller.result()
    assert states(client, emu) == {"vm1": PENDING, "vm2": PENDING}
    assert {emu.vm_state(vm)["runningIn"] for vm in ("vm1", "vm2")} == {"eastus"}


def test_plan_test_failover_and_cleanup(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    plans = client.replication_recovery_plans
    body = m.RecoveryPlanTestFailoverInput(
        properties=m.RecoveryPlanTestFailoverInputProperties(
            failover_direction="PrimaryToRecovery",
            network_type="VmNetworkAsInput",
            network_id=TEST_VNET,
            provider_specific_details=[m.RecoveryPlanA2AFailoverInput(recovery_point_type="LatestProcessed")],
        )
    )
    poller, _ = begin(plans.begin_test_failover, rg, vault, "plan1", body)
    emu.advance(900)
    plan = poller.result()
    assert plan.properties.allowed_operations == ["TestFailoverCleanup"]
    assert plan.properties.current_scenario_status_description == "WaitingForStopTestFailover"
    assert all(emu.vm_state(vm)["testVmRunning"] for vm in ("vm1", "vm2"))

    cleanup = m.RecoveryPlanTestFailoverCleanupInput(
        properties=m.RecoveryPlanTestFailoverCleanupInputProperties(comments="drill done")
    )
    poller, _ = begin(plans.begin_test_failover_cleanup, rg, vault, "plan1", cleanup)
    emu.advance(600)
    plan = poller.result()
    assert plan.properties.allowed_operations == ["UnplannedFailover", "TestFailover"]
    for vm in ("vm1", "vm2"):
        item = find_item(client, emu, vm)
        assert item.properties.last_successful_test_failover_time is not None
        assert item.properties.health_errors == []


def test_plan_failover_stops_after_a_failed_group(emu: EmulatorInfo, client: Client) -> None:
    rg, vault = emu.resource_group, emu.vault
    emu.add_fault(
        {"kind": "jobFailure", "vm": "vm1", "operation": "UnplannedFailover", "errorCode": "70038", "count": 1}
    )
    poller, job_name = begin(
        client.replication_recovery_plans.begin_unplanned_failover, rg, vault, "plan1", plan_failover()
    )
    emu.advance(900)
    with pytest.raises(HttpResponseError) as failed:
        poller.result()
    assert arm_error(failed.value).code == "70038"
    job = client.replication_jobs.get(rg, vault, job_name)
    assert job.properties.state == "Failed"
    assert job.properties.errors[0].service_error_details.code == "70038"
    assert [t.state for t in job.properties.tasks if t.friendly_name.startswith("Group ")] == ["Failed", "NotStarted"]
    assert states(client, emu) == {"vm1": "Protected", "vm2": "Protected"}
    assert client.replication_recovery_plans.get(rg, vault, "plan1").properties.allowed_operations == [
        "UnplannedFailover",
        "TestFailover",
    ]


def test_plan_failover_on_a_scaled_clock(emulator_factory: EmulatorFactory) -> None:
    """No manual clock: emulated time runs 3000x, the poller simply waits for the job."""
    topology = make_topology(
        vms=[{"name": "vm1"}, {"name": "vm2"}, {"name": "vm3"}],
        plans=[{"name": "app", "groups": [["vm1", "vm2"], ["vm3"]]}],
    )
    emu = emulator_factory(topology, time_scale=3000)
    client = make_client(emu)
    poller, job_name = begin(
        client.replication_recovery_plans.begin_unplanned_failover,
        emu.resource_group,
        emu.vault,
        "app",
        plan_failover(),
    )
    plan = poller.result()
    assert plan.properties.allowed_operations == ["Commit"]
    job = client.replication_jobs.get(emu.resource_group, emu.vault, job_name)
    first, second = (t for t in job.properties.tasks if t.friendly_name.startswith("Group "))
    assert {c.name for c in first.group_task_custom_details.child_tasks} == {"vm1", "vm2"}
    assert max(c.end_time for c in first.group_task_custom_details.child_tasks) <= second.start_time
