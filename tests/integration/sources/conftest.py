"""One emulator per module (four protected VMs and two other resources, near-frozen clock) for the sources' tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from emulator.launcher import EmulatorError, EmulatorInfo, running_emulator

SUBSCRIPTION = "6f4e2a10-0000-4000-8000-00000000a5a5"
STORAGE = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/sadata1"
LB = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Network/loadBalancers/lb-web"
TOPOLOGY: dict[str, Any] = {
    "subscriptionId": SUBSCRIPTION, "resourceGroup": "rg-dr", "vault": "vault-dr",
    "primaryRegion": "eastus", "recoveryRegion": "westus", "vmResourceGroup": "rg-app",
    "vms": [{"name": f"vm{n}", "diskGiB": 8} for n in range(1, 5)],
    "resources": [{"id": STORAGE, "location": "westeurope"},
                  {"type": "Microsoft.Network/loadBalancers", "name": "lb-web", "location": "eastus"}],
}  # fmt: skip


def vm_id(vm: str) -> str:
    """The VM's ARM id as Resource Health names it (ASR's ``fabricObjectId`` is lower case)."""
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/{vm}"


@pytest.fixture(scope="module")
def emu() -> Iterator[EmulatorInfo]:
    try:
        with running_emulator(TOPOLOGY, time_scale=0.001) as emulator:
            yield emulator
    except EmulatorError as exc:  # fail loudly, never skip
        pytest.fail(f"the ASR emulator is required and could not start: {exc}", pytrace=False)
