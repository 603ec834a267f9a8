"""Helpers shared by the emulator tests: topology, credential, item lookup, LRO start, recorded key sets."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import HttpResponseError
from azure.core.polling import LROPoller
from azure.mgmt.recoveryservicessiterecovery import SiteRecoveryManagementClient
from azure.mgmt.recoveryservicessiterecovery import models as m

from emulator.launcher import EmulatorInfo

__all__ = ["Client", "SiteRecoveryManagementClient"]

# The SDK types every model field as Optional; tests read through ``Any`` rather than asserting non-None everywhere.
Client = Any

TEMPLATES = Path(__file__).resolve().parents[3] / "emulator" / "templates"
SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"
TEST_VNET = (
    f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-dr-test/providers/Microsoft.Network/virtualNetworks/vnet-test"
)


def make_topology(
    vms: list[dict[str, Any]] | None = None, plans: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {
        "subscriptionId": SUBSCRIPTION,
        "resourceGroup": "rg-asr",
        "vault": "vault-dr",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": vms if vms is not None else [{"name": "vm1", "diskGiB": 64}, {"name": "vm2", "diskGiB": 256}],
        "recoveryPlans": plans if plans is not None else [{"name": "plan1", "groups": [["vm1"], ["vm2"]]}],
        **extra,
    }


class FakeCredential:
    """Any bearer token is accepted by the emulator."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("emulator-token", int(time.time()) + 3600)


def arm_error(exc: HttpResponseError) -> Any:
    """The ARM error body the SDK parsed (code, message, details)."""
    assert exc.error is not None, f"no ARM error body in {exc!r}"
    return exc.error


def find_item(client: Client, emu: EmulatorInfo, vm: str) -> Any:
    """Re-discover an item by VM name (its fabric/container change at every switch-protection)."""
    for item in client.replication_protected_items.list(emu.resource_group, emu.vault):
        if item.properties.friendly_name == vm:
            return item
    raise AssertionError(f"no protected item for {vm}")


def where(item: Any) -> tuple[str, str, str]:
    """(fabric, container, item name) parsed from the item's ARM id."""
    parts = item.id.split("/")
    lower = [p.lower() for p in parts]
    fabric = parts[lower.index("replicationfabrics") + 1]
    container = parts[lower.index("replicationprotectioncontainers") + 1]
    return fabric, container, str(item.name)


def begin(method: Callable[..., LROPoller[Any]], *args: Any, **kwargs: Any) -> tuple[LROPoller[Any], str]:
    """Start an LRO and return (poller, ASR job name) taken from the 202's Azure-AsyncOperation header."""
    seen: dict[str, str] = {}

    def hook(response: Any) -> None:
        header = response.http_response.headers.get("Azure-AsyncOperation")
        if header and "job" not in seen:
            seen["job"] = header.split("?", 1)[0].rsplit("/", 1)[-1]
            seen["location"] = response.http_response.headers.get("Location", "")
            seen["retry_after"] = response.http_response.headers.get("Retry-After", "")

    poller = method(*args, raw_response_hook=hook, **kwargs)
    return poller, seen["job"]


def failover_input(
    direction: str = "PrimaryToRecovery", *, shutdown: bool = False, point: str | None = None
) -> m.UnplannedFailoverInput:
    return m.UnplannedFailoverInput(
        properties=m.UnplannedFailoverInputProperties(
            failover_direction=direction,
            source_site_operations="Required" if shutdown else "NotRequired",
            provider_specific_details=m.A2AUnplannedFailoverInput(recovery_point_id=point),
        )
    )


def switch_input(client_item: Any, recovery_container_id: str) -> m.SwitchProtectionInput:
    return m.SwitchProtectionInput(
        properties=m.SwitchProtectionInputProperties(
            replication_protected_item_name=client_item.name,
            provider_specific_details=m.A2ASwitchProtectionInput(recovery_container_id=recovery_container_id),
        )
    )


def container_id(item: Any) -> str:
    return str(item.id).split("/replicationProtectedItems/")[0]


def recorded(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((TEMPLATES / name).read_text())
    return data


def key_paths(value: Any, prefix: str = "") -> set[str]:
    """Every key path of a JSON document; list elements share the path ``name[]``."""
    paths: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            paths.add(path)
            paths |= key_paths(child, path)
    elif isinstance(value, list):
        for child in value:
            paths |= key_paths(child, f"{prefix}[]")
    return paths


def missing_keys(recorded_body: dict[str, Any], ours: dict[str, Any]) -> set[str]:
    """Key paths the real service returned that our body lacks (lists compared only where ours is non-empty)."""
    ours_paths = key_paths(ours)
    # Keys under "tags" are the customer's VM tags, not part of the schema.
    missing = {p for p in key_paths(recorded_body) - ours_paths if ".tags." not in p}
    # A list that is empty in our body (e.g. no health errors in this state) cannot show its element keys.
    return {p for p in missing if not any(p.startswith(q + "[]") for q in _empty_lists(ours))}


def _empty_lists(value: Any, prefix: str = "") -> set[str]:
    found: set[str] = set()
    if isinstance(value, dict):
        for key, child in value.items():
            path = f"{prefix}.{key}" if prefix else key
            if isinstance(child, list) and not child:
                found.add(path)
            found |= _empty_lists(child, path)
    elif isinstance(value, list):
        for child in value:
            found |= _empty_lists(child, f"{prefix}[]")
    return found
