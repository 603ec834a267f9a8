"""Checks on the switch-protection (reprotect) input, and a record of every input received.

Both recorded clients (CLI and PowerShell) send the full A2A input: recovery container, recovery resource group,
policy, and per managed disk the staging (cache) storage account and the target resource group. The spec's minimal
example sends only ``instanceType``. Whether ASR fills in what is left out is **unverified**, so a minimal input is
accepted; whatever is sent must be well formed:

* ids of the right resource types (resource group, replication policy of this vault, storage account, disk);
* every disk belongs to the VM (its failed-over disk, or its original one);
* the staging account lies in the region the VM runs in now. A storage account id carries no region: the
  topology's ``resources`` (the ARM resources it serves) or ``storageAccounts`` ({name: region}) place it, else a
  name ending in a topology region does (``asrcachewestus``). An account placed by none of them is accepted: its
  region cannot be checked here (unverified, like the rest of what ASR does with the input).
"""

from __future__ import annotations

import re
from typing import Any

from emulator import arm_resources
from emulator import topology as topo
from emulator.backend import Backend
from emulator.errors import BadRequest
from emulator.models import Item

_RG = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourcegroups/(?P<rg>[^/]+)$", re.IGNORECASE)
_TYPED = r"^/subscriptions/[^/]+/resourcegroups/[^/]+/providers/{provider}/(?P<name>[^/]+)$"
_STORAGE = re.compile(_TYPED.format(provider="microsoft\\.storage/storageaccounts"), re.IGNORECASE)
_DISK = re.compile(_TYPED.format(provider="microsoft\\.compute/disks"), re.IGNORECASE)


def _invalid(field: str, reason: str) -> BadRequest:
    return BadRequest(f"'{field}' {reason}", inner_code="InvalidSwitchProtectionInput")


def _resource_group(b: Backend, field: str, value: Any) -> None:
    match = _RG.match(str(value or ""))
    if match is None:
        raise _invalid(field, f"must be a resource group id (/subscriptions/{{id}}/resourceGroups/{{name}}): {value!r}")
    if match["sub"].lower() != b.topology.subscription_id.lower():
        raise _invalid(field, f"names another subscription than the vault's: {value!r}")


def _policy(b: Backend, value: Any) -> None:
    prefix = f"{b.vault_id}/replicationPolicies/".lower()
    if not str(value or "").lower().startswith(prefix) or str(value).rstrip("/").lower() == prefix.rstrip("/"):
        raise _invalid("policyId", f"must be a replication policy of this vault ({prefix}...): {value!r}")


def storage_region(b: Backend, account_id: str) -> str | None:
    match = _STORAGE.match(account_id)
    if match is None:
        return None
    served = arm_resources.find(b, account_id)
    if served is not None and served.get("location"):
        return str(served["location"]).lower()
    name = match["name"].lower()
    placed = {str(k).lower(): str(v).lower() for k, v in (b.topology.extra.get("storageAccounts") or {}).items()}
    if name in placed:
        return placed[name]
    for region in (b.topology.primary_region, b.topology.recovery_region):
        if name.endswith(region):
            return region
    return None


def _disk_ids(b: Backend, item: Item) -> set[str]:
    """The VM's disks: the original one and, once failed over, the one in the recovery resource group."""
    sub = b.topology.subscription_id
    disk = f"{item.vm}_OsDisk_1_{item.guid.replace('-', '')}"
    return {
        f"/subscriptions/{sub}/resourcegroups/{item.vm_resource_group_in(region)}/providers/microsoft.compute/disks/"
        f"{disk}".lower()
        for region in (item.initial_primary, item.initial_recovery)
    }


def _disks(b: Backend, item: Item, disks: Any) -> None:
    if not isinstance(disks, list):
        raise _invalid("vmManagedDisks", "must be a list")
    known = _disk_ids(b, item)
    runs_in = item.running_in
    for index, disk in enumerate(disks):
        where = f"vmManagedDisks[{index}]"
        if not isinstance(disk, dict):
            raise _invalid(where, "must be an object")
        disk_id = str(disk.get("diskId") or "")
        if _DISK.match(disk_id) is None or disk_id.lower() not in known:
            raise _invalid(f"{where}.diskId", f"is not a disk of the virtual machine '{item.vm}': {disk_id!r}")
        staging = str(disk.get("primaryStagingAzureStorageAccountId") or "")
        if _STORAGE.match(staging) is None:
            raise _invalid(f"{where}.primaryStagingAzureStorageAccountId", f"must be a storage account id: {staging!r}")
        region = storage_region(b, staging)
        if region is not None and region != runs_in:
            raise _invalid(
                f"{where}.primaryStagingAzureStorageAccountId",
                f"is in '{region}', but the cache account must be in '{runs_in}' ({topo.region_display(runs_in)}), "
                "where the virtual machine runs now",
            )
        _resource_group(b, f"{where}.recoveryResourceGroupId", disk.get("recoveryResourceGroupId"))


def check_and_record(b: Backend, item: Item, details: dict[str, Any]) -> None:
    """Validate the A2A switch-protection details that were sent, then keep them for tests (``state()``)."""
    if details.get("recoveryResourceGroupId") is not None:
        _resource_group(b, "recoveryResourceGroupId", details["recoveryResourceGroupId"])
    if details.get("policyId") is not None:
        _policy(b, details["policyId"])
    if details.get("vmManagedDisks") is not None:
        _disks(b, item, details["vmManagedDisks"])
    b.switch_inputs.setdefault(item.vm, []).append(dict(details))
