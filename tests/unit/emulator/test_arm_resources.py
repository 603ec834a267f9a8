"""The emulator's plain resource GET: topology ``resources`` (by id, or by type and name), VMs, and the route."""

from __future__ import annotations

from typing import Any

import pytest

from emulator import topology as topo
from emulator import urls
from emulator.arm_resources import find
from emulator.backend import Backend
from emulator.clock import SimClock
from emulator.errors import TopologyError
from emulator.faults import FaultRegistry

RAW: dict[str, Any] = {
    "subscriptionId": "s", "resourceGroup": "rg", "vault": "v", "primaryRegion": "eastus", "recoveryRegion": "westus",
    "vms": ["vm1"], "vmResourceGroup": "rg-app",
    "resources": [
        {"id": "/subscriptions/s/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/sa1",
         "location": "westeurope"},
        {"type": "Microsoft.Network/loadBalancers", "name": "lb1", "location": "eastus"},
    ],
}  # fmt: skip


def test_topology_resources_by_id_or_by_type_and_name() -> None:
    parsed = topo.parse_topology(RAW)
    assert [(r.id, r.location) for r in parsed.resources] == [
        ("/subscriptions/s/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/sa1", "westeurope"),
        ("/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Network/loadBalancers/lb1", "eastus"),
    ]
    assert "resources" not in parsed.extra
    for bad, field in [({"id": "/subscriptions/s/x"}, "location"), ({"location": "eastus"}, "needs an 'id'"),
                       ("x", "must be an object")]:  # fmt: skip
        with pytest.raises(TopologyError, match=field):
            topo.parse_topology({**RAW, "resources": [bad]})
    with pytest.raises(TopologyError, match="must be a list"):
        topo.parse_topology({**RAW, "resources": {}})


def test_find_answers_topology_resources_and_vms_in_any_case() -> None:
    backend = Backend(topo.parse_topology(RAW), SimClock(scale=0.001), faults=FaultRegistry(seed=0))
    sa = find(backend, "/SUBSCRIPTIONS/s/resourcegroups/RG-DATA/providers/microsoft.storage/storageaccounts/SA1/")
    assert sa is not None and (sa["location"], sa["name"], sa["type"]) == (
        "westeurope",
        "sa1",
        "Microsoft.Storage/storageAccounts",
    )
    vm = find(backend, "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm1")
    assert vm is not None and (vm["location"], vm["type"]) == ("eastus", "Microsoft.Compute/virtualMachines")
    # the recovery-side VM does not exist before a failover
    assert (
        find(backend, "/subscriptions/s/resourceGroups/rg-app-asr/providers/Microsoft.Compute/virtualMachines/vm1")
        is None
    )
    assert (
        find(backend, "/subscriptions/s/resourceGroups/rg-app/providers/Microsoft.Compute/virtualMachines/vm9") is None
    )


def test_the_generic_route_never_shadows_an_asr_route() -> None:
    vault = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.RecoveryServices/vaults/v"
    assert urls.match("GET", vault + "/replicationProtectedItems").name == "items.list"  # type: ignore[union-attr]
    generic = urls.match("GET", "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a")
    assert generic is not None and generic.name == "resources.get" and generic.params["resourceName"] == "a"
    assert urls.match("GET", vault + "/replicationProtectedItems/x/y") is None
