"""Vault-wide lists follow every nextLink the emulator hands out (small pages, many items)."""

from __future__ import annotations

import pytest

from tests.integration.adapters.conftest import harness, topology

pytestmark = pytest.mark.integration

VAULT_ROUTE = (
    "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}"
    "/providers/Microsoft.RecoveryServices/vaults/{resourceName}"
)
TEST_VNET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/t"


def test_items_and_jobs_are_listed_across_all_pages() -> None:
    vms = [f"node{i:02d}" for i in range(23)]
    with harness(topology(vms, pageSize=5)) as h:
        h.emu.reset_requests()
        items = h.asr.list_protected_items()
        assert sorted(i.vm_name for i in items) == vms
        assert len({i.name for i in items}) == 23
        assert h.emu.requests_count()["byRoute"][f"GET {VAULT_ROUTE}/replicationProtectedItems"] == 5  # ceil(23/5)

        by_vm = {i.vm_name: i for i in items}
        started = {h.asr.test_failover(by_vm[vm].ref, network_id=TEST_VNET) for vm in vms[:7]}
        h.emu.reset_requests()
        jobs = h.asr.list_jobs()
        assert started <= {j.name for j in jobs}
        assert h.emu.requests_count()["byRoute"][f"GET {VAULT_ROUTE}/replicationJobs"] == -(-len(jobs) // 5)
