"""What readiness reads from the emulator: vault/fabric/container health errors, the A2A agent fields, VM sizes
and compute usages per region, each injectable through the admin API."""

from __future__ import annotations

import json
import ssl
import urllib.request
from typing import Any

import pytest

from emulator.launcher import EmulatorInfo
from tests.integration.emulator.conftest import EmulatorFactory, make_client
from tests.integration.emulator.helpers import Client, find_item, make_topology

pytestmark = pytest.mark.integration


def _usages(emu: EmulatorInfo, region: str) -> dict[str, dict[str, Any]]:
    url = (
        f"{emu.endpoint}/subscriptions/{emu.subscription_id}/providers/Microsoft.Compute/locations/{region}"
        "/usages?api-version=2024-07-01"
    )
    request = urllib.request.Request(url, headers={"Authorization": "Bearer any"})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=emu.ca_bundle)) as answer:
        body = json.loads(answer.read())
    return {u["name"]["value"]: u for u in body["value"]}


def test_vault_fabric_and_container_errors_are_injectable(emu: EmulatorInfo, client: Client) -> None:
    health = client.replication_vault_health.get(emu.resource_group, emu.vault).properties
    assert health.vault_errors == [] and health.fabrics_health.issues == []
    emu.admin("POST", "vault-health", {"scope": "vault", "code": "1001", "category": "Configuration",
                                       "message": "The vault's managed identity was removed"})  # fmt: skip
    emu.admin("POST", "vault-health", {"scope": "fabric", "region": "westus"})
    emu.admin("POST", "vault-health", {"scope": "container", "code": "2002", "level": "Warning", "message": "x"})
    health = client.replication_vault_health.get(emu.resource_group, emu.vault).properties
    assert [(e.error_code, e.error_level, e.error_message) for e in health.vault_errors] == [
        ("1001", "Error", "The vault's managed identity was removed")
    ]
    fabric = health.fabrics_health.issues[0]
    assert (fabric.summary_code, fabric.severity, fabric.category) == ("708", "Error", "FabricInfrastructure")
    assert [i.summary_code for i in health.containers_health.issues] == ["2002"]
    assert emu.admin("DELETE", "vault-health") == {"cleared": 3}
    assert client.replication_vault_health.get(emu.resource_group, emu.vault).properties.vault_errors == []


def test_agent_fields_and_vm_size_come_from_the_item(emulator_factory: EmulatorFactory) -> None:
    emu = emulator_factory(make_topology(vms=[{"name": "vm1", "size": "Standard_D4s_v3"}, {"name": "vm2"}], plans=[]))
    client = make_client(emu)
    details = find_item(client, emu, "vm1").properties.provider_specific_details
    assert details.recovery_azure_vm_size == "Standard_D4s_v3"
    assert details.is_replication_agent_update_required is False
    emu.admin("POST", "agent", {"vm": "vm1", "isReplicationAgentUpdateRequired": True,
                                "agentExpiryDate": "2026-12-01T00:00:00Z", "agentVersion": "9.50.1.1"})  # fmt: skip
    details = find_item(client, emu, "vm1").properties.provider_specific_details
    assert (details.agent_version, details.is_replication_agent_update_required) == ("9.50.1.1", True)
    assert details.agent_expiry_date.year == 2026
    assert details.is_replication_agent_certificate_update_required is False  # untouched fields keep their value
    other = find_item(client, emu, "vm2").properties.provider_specific_details
    assert other.recovery_azure_vm_size == "Standard_DS1_v2" and other.is_replication_agent_update_required is False
    with pytest.raises(Exception, match="unknown agent fields"):
        emu.admin("POST", "agent", {"vm": "vm1", "agentVersio": "1"})


def test_usages_count_running_vms_and_take_an_injected_limit(emulator_factory: EmulatorFactory) -> None:
    topo = make_topology(vms=[{"name": "vm1", "size": "Standard_D4s_v3"}, {"name": "vm2"}], plans=[])
    emu = emulator_factory(topo)
    east, west = _usages(emu, "eastus"), _usages(emu, "westus")
    assert east["cores"]["currentValue"] == 5 and west["cores"]["currentValue"] == 0
    assert east["standardDSv3Family"]["currentValue"] == 4 and east["standardDSv2Family"]["currentValue"] == 1
    assert west["cores"]["limit"] == 100
    assert west["standardDSv3Family"]["name"]["localizedValue"] == "Standard DSv3 Family vCPUs"
    emu.admin("POST", "usages", {"region": "westus", "name": "standardDSv3Family", "limit": 2})
    emu.admin("POST", "usages", {"region": "westus", "name": "cores", "used": 97})
    west = _usages(emu, "westus")
    assert west["standardDSv3Family"]["limit"] == 2 and west["cores"]["currentValue"] == 97
    assert (
        "GET " + "/subscriptions/{subscriptionId}/providers/Microsoft.Compute/locations/{location}/usages"
        in (emu.requests_count()["byRoute"])
    )
