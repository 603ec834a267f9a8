"""Plain ARM resources by id (``GET {resource id}``): the VMs of the topology and its ``resources``.

A protected VM exists in its original region, and in the other region while it runs or is protected from there
(after a failover); other resources are listed in the topology with their location. Anything else is ARM's 404.
"""

from __future__ import annotations

from typing import Any

from emulator.backend import Backend


def _key(resource_id: str) -> str:
    return "/" + resource_id.split("?", 1)[0].strip("/").lower()


def _vm_json(resource_id: str, name: str, region: str) -> dict[str, Any]:
    return {
        "id": resource_id,
        "name": name,
        "type": "Microsoft.Compute/virtualMachines",
        "location": region,
        "properties": {"provisioningState": "Succeeded"},
    }


def find(b: Backend, path: str) -> dict[str, Any] | None:
    """The resource's JSON (``id``, ``name``, ``type``, ``location``), or None when ARM would answer 404."""
    wanted = _key(path)
    for item in b.items.values():
        for region in {item.initial_primary, item.primary, item.running_in}:
            vm_id = b.vm_id(item, region)
            if _key(vm_id) == wanted:
                return _vm_json(vm_id, item.vm, region)
    for spec in b.topology.resources:
        if _key(spec.id) == wanted:
            parts = spec.id.strip("/").split("/")
            kind = "/".join(parts[-3:-1])
            return {"id": spec.id, "name": parts[-1], "type": kind, "location": spec.location, "properties": {}}
    return None
