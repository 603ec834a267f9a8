"""Recorded ASR bodies -> the VM ids an item is matched on (``fabricObjectId``, ``recoveryFabricObjectId``)."""

from __future__ import annotations

from azure.mgmt.recoveryservicessiterecovery import models as m

from lib.adapters import asr_mapping as mapping
from lib.autopilot.vault_index import vms_by_id
from tests.unit.adapters.asr_fixtures import load


def test_a_forward_protected_item_names_its_vm_and_no_recovery_vm() -> None:
    it = mapping.protected_item(m.ReplicationProtectedItem(load("rpi_1_forward_protected")))
    assert it.vm_id.endswith("/providers/microsoft.compute/virtualmachines/clivm2") and it.recovery_vm_id is None


def test_a_failed_over_item_names_both_vms_each_in_its_region() -> None:
    it = mapping.protected_item(m.ReplicationProtectedItem(load("rpi_2_failover_committed")))
    assert it.recovery_vm_id is not None and "/resourcegroups/vijami-alertrg-asr-1/" in it.recovery_vm_id
    vms = vms_by_id([it])
    primary, recovery = vms[it.vm_id.lower()], vms[it.recovery_vm_id.lower()]
    assert (primary.region, primary.is_primary) == (it.primary_location.lower(), True)
    assert (recovery.region, recovery.is_primary) == (it.recovery_location.lower(), False)
