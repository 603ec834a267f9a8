"""Topology file: the vault, the two regions, the VMs and the recovery plans the emulator starts with.

Also the deterministic naming rules (fabric/container names as the portal creates them, opaque item names
derived from the VM name, stable GUIDs) so that two runs with the same topology expose the same ids.
"""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass, field
from typing import Any

from emulator.errors import TopologyError

_NS = uuid.UUID("5d1b7c2e-8a4f-4f0e-9a55-3c2b1d0e7f61")

REGION_NAMES = {
    "eastus": "East US",
    "eastus2": "East US 2",
    "westus": "West US",
    "westus2": "West US 2",
    "westus3": "West US 3",
    "centralus": "Central US",
    "northcentralus": "North Central US",
    "southcentralus": "South Central US",
    "westcentralus": "West Central US",
    "northeurope": "North Europe",
    "westeurope": "West Europe",
    "uksouth": "UK South",
    "ukwest": "UK West",
    "francecentral": "France Central",
    "germanywestcentral": "Germany West Central",
    "swedencentral": "Sweden Central",
    "switzerlandnorth": "Switzerland North",
    "norwayeast": "Norway East",
    "japaneast": "Japan East",
    "japanwest": "Japan West",
    "australiaeast": "Australia East",
    "australiasoutheast": "Australia Southeast",
    "southeastasia": "Southeast Asia",
    "eastasia": "East Asia",
    "canadacentral": "Canada Central",
    "canadaeast": "Canada East",
    "brazilsouth": "Brazil South",
    "centralindia": "Central India",
    "southindia": "South India",
    "koreacentral": "Korea Central",
    "koreasouth": "Korea South",
}

DEFAULT_DISK_GIB = 127
DEFAULT_VM_SIZE = "Standard_DS1_v2"


def stable_guid(*parts: str) -> str:
    return str(uuid.uuid5(_NS, "/".join(parts)))


def region_display(region: str) -> str:
    return REGION_NAMES.get(region.lower(), region)


def fabric_name(region: str) -> str:
    return f"asr-a2a-default-{region}"


def container_name(region: str) -> str:
    return f"asr-a2a-default-{region}-container"


def item_name(subscription: str, vault: str, vm: str) -> str:
    """Opaque, 43 characters like the portal's (e.g. ``YtSLUmr1siwOhCNihjyTaOjo3bXTQoCCN96TnEVq5fM``)."""
    digest = hashlib.sha256(f"{subscription}/{vault}/{vm}".lower().encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=").replace("-", "x").replace("_", "Z")


@dataclass(frozen=True)
class VmSpec:
    name: str
    disk_gib: int
    resource_group: str
    recovery_resource_group: str
    size: str = DEFAULT_VM_SIZE


@dataclass(frozen=True)
class PlanSpec:
    name: str
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ResourceSpec:
    """Any other ARM resource the emulator answers a plain GET for (a storage account, a load balancer...)."""

    id: str
    location: str


@dataclass(frozen=True)
class Topology:
    subscription_id: str
    resource_group: str
    vault: str
    primary_region: str
    recovery_region: str
    vms: tuple[VmSpec, ...]
    plans: tuple[PlanSpec, ...]
    page_size: int = 50
    retry_after: float = 30.0
    extra: dict[str, Any] = field(default_factory=dict)
    resources: tuple[ResourceSpec, ...] = ()

    def other_region(self, region: str) -> str:
        return self.recovery_region if region == self.primary_region else self.primary_region


def _require(raw: dict[str, Any], key: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value:
        raise TopologyError(f"topology: '{key}' must be a non-empty string")
    return value


def _parse_vms(raw_vms: list[Any], vm_rg_default: str) -> tuple[VmSpec, ...]:
    vms: list[VmSpec] = []
    seen: set[str] = set()
    for raw_vm in raw_vms:
        entry = {"name": raw_vm} if isinstance(raw_vm, str) else raw_vm
        name = _require(entry, "name")
        if name.lower() in seen:
            raise TopologyError(f"topology: duplicate VM name '{name}'")
        seen.add(name.lower())
        disk = int(entry.get("diskGiB") or DEFAULT_DISK_GIB)
        if disk <= 0:
            raise TopologyError(f"topology: diskGiB of '{name}' must be > 0")
        vm_rg = str(entry.get("resourceGroup") or vm_rg_default)
        size = str(entry.get("size") or DEFAULT_VM_SIZE)
        vms.append(VmSpec(name, disk, vm_rg, str(entry.get("recoveryResourceGroup") or f"{vm_rg}-asr"), size))
    return tuple(vms)


def _parse_plans(raw_plans: list[Any], known_vms: set[str]) -> tuple[PlanSpec, ...]:
    plans: list[PlanSpec] = []
    for entry in raw_plans:
        pname = _require(entry, "name")
        groups = tuple(tuple(str(vm) for vm in group) for group in entry.get("groups") or [])
        for group in groups:
            for vm in group:
                if vm.lower() not in known_vms:
                    raise TopologyError(f"topology: plan '{pname}' names unknown VM '{vm}'")
        plans.append(PlanSpec(pname, groups))
    return tuple(plans)


def _parse_resources(raw: Any, sub: str, default_rg: str) -> tuple[ResourceSpec, ...]:
    """``[{"id": "/subscriptions/.../providers/Microsoft.Storage/storageAccounts/sa1", "location": "eastus"}]``, or
    ``{"type": "Microsoft.Storage/storageAccounts", "name": "sa1", "resourceGroup": "rg", "location": "eastus"}``."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise TopologyError("topology: 'resources' must be a list")
    found: list[ResourceSpec] = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise TopologyError(f"topology: resources[{index}] must be an object")
        location = entry.get("location")
        if not isinstance(location, str) or not location:
            raise TopologyError(f"topology: resources[{index}].location must be a non-empty string")
        rid = entry.get("id")
        if not isinstance(rid, str) or not rid.startswith("/subscriptions/"):
            kind, name = entry.get("type"), entry.get("name")
            if not isinstance(kind, str) or kind.count("/") != 1 or not isinstance(name, str) or not name:
                raise TopologyError(f"topology: resources[{index}] needs an 'id', or a 'type' and a 'name'")
            group = str(entry.get("resourceGroup") or default_rg)
            rid = f"/subscriptions/{sub}/resourceGroups/{group}/providers/{kind}/{name}"
        found.append(ResourceSpec(rid, location))
    return tuple(found)


def parse_topology(raw: dict[str, Any]) -> Topology:
    if not isinstance(raw, dict):
        raise TopologyError("topology must be a JSON object")
    sub = _require(raw, "subscriptionId")
    rg = _require(raw, "resourceGroup")
    vault = _require(raw, "vault")
    primary = _require(raw, "primaryRegion").lower()
    recovery = _require(raw, "recoveryRegion").lower()
    if primary == recovery:
        raise TopologyError("topology: primaryRegion and recoveryRegion must differ")
    vms = _parse_vms(raw.get("vms") or [], str(raw.get("vmResourceGroup") or f"{rg}-vms"))
    plans = _parse_plans(raw.get("recoveryPlans") or [], {vm.name.lower() for vm in vms})
    page_size = int(raw.get("pageSize") or 50)
    if page_size <= 0:
        raise TopologyError("topology: pageSize must be > 0")
    known = {
        "subscriptionId", "resourceGroup", "vault", "primaryRegion", "recoveryRegion", "vms", "recoveryPlans",
        "resources",
    }  # fmt: skip
    return Topology(
        subscription_id=sub,
        resource_group=rg,
        vault=vault,
        primary_region=primary,
        recovery_region=recovery,
        vms=vms,
        plans=plans,
        page_size=page_size,
        retry_after=float(raw.get("retryAfterSeconds", 30.0)),
        extra={k: v for k, v in raw.items() if k not in known},
        resources=_parse_resources(raw.get("resources"), sub, str(raw.get("vmResourceGroup") or f"{rg}-vms")),
    )
