"""The demo's world: a vault with two recovery plans and some loose VMs in East US, protected to West US, and
the policy that acts on it. Also used by the demo's test, shortened."""

from __future__ import annotations

from typing import Any

__all__ = ["PRIMARY", "RECOVERY", "TARGETS", "policy", "test_network", "topology"]

PRIMARY = "eastus"
RECOVERY = "westus"
SUBSCRIPTION = "6f4e2a10-0000-4000-8000-00000000de70"
RESOURCE_GROUP = "rg-dr"

# Each target as the HTTP API names it: two plans (boot order inside each) and a list of loose VMs.
TARGETS: tuple[dict[str, Any], ...] = (
    {"recoveryPlan": "shop"},
    {"recoveryPlan": "portal"},
    {"vms": ["batch-1", "batch-2"]},
)


def topology() -> dict[str, Any]:
    vms = [("sql-1", 64), ("app-1", 32), ("app-2", 32), ("web-1", 32), ("web-2", 32), ("batch-1", 32),
           ("batch-2", 32)]  # fmt: skip
    return {
        "subscriptionId": SUBSCRIPTION,
        "resourceGroup": RESOURCE_GROUP,
        "vault": "vault-dr",
        "primaryRegion": PRIMARY,
        "recoveryRegion": RECOVERY,
        "vms": [{"name": name, "diskGiB": gib} for name, gib in vms],
        "recoveryPlans": [
            {"name": "shop", "groups": [["sql-1"], ["app-1", "app-2"]]},
            {"name": "portal", "groups": [["web-1", "web-2"]]},
        ],
    }


def test_network() -> str:
    return (
        f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}-{RECOVERY}/providers/"
        "Microsoft.Network/virtualNetworks/vnet-drill"
    )


def cache_accounts() -> str:
    """Reprotect needs a cache storage account in the region the VMs run in (both directions)."""
    base = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/{RESOURCE_GROUP}/providers/Microsoft.Storage/storageAccounts"
    return f"{PRIMARY}={base}/asrcache{PRIMARY};{RECOVERY}={base}/asrcache{RECOVERY}"


def policy() -> dict[str, Any]:
    """East US in ``auto``: one source is enough, no dwell (the demo is short); every other guardrail on."""
    return {
        "killSwitch": False,
        "regions": {
            PRIMARY: {
                "targets": [dict(t) for t in TARGETS],
                "mode": "auto",
                "minSources": 1,
                "dwellMinutes": 0,
                "cooldownMinutes": 1440,
                "maxVms": 50,
                "failover": {"recoveryPoint": "Latest", "shutdownSource": True, "autoCommit": True,
                             "autoReprotect": True},
            }
        },
        "drills": {
            "shop-monthly": {"target": {"recoveryPlan": "shop"}, "everyDays": 30, "testNetworkId": test_network()}
        },
    }  # fmt: skip
