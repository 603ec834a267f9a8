"""Protected-item, recovery-point and container JSON, field for field as the recorded A2A bodies.

Every key of ``templates/a2a_rpi_*.json`` (real service responses) is present; values follow the item's
state (asr-api.md §6, §7.1).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emulator import outage
from emulator import topology as topo
from emulator.backend import Backend, RecoveryPointInfo
from emulator.clock import IDLE_SCENARIO_TIME, iso
from emulator.jobs import monitoring_percentage
from emulator.models import COMMITTED, IR, TFO_DESCRIPTIONS, VM_PROTECTION_STATES, HealthIssue, Item

ITEM_TYPE = (
    "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers/replicationProtectedItems"
)
POINT_TYPE = ITEM_TYPE + "/recoveryPoints"
CONTAINER_TYPE = "Microsoft.RecoveryServices/vaults/replicationFabrics/replicationProtectionContainers"
FABRIC_TYPE = "Microsoft.RecoveryServices/vaults/replicationFabrics"
POLICY = "24-hour-retention-policy"


def health_error_json(issue: HealthIssue, entity_id: str) -> dict[str, Any]:
    return {
        "innerHealthErrors": [],
        "errorSource": issue.source,
        "errorType": issue.error_type,
        "errorLevel": issue.level,
        "errorCategory": issue.category,
        "errorCode": issue.code,
        "summaryMessage": "",
        "errorMessage": issue.message,
        "possibleCauses": issue.possible_causes,
        "recommendedAction": issue.recommended_action,
        "creationTimeUtc": iso(issue.created),
        "recoveryProviderErrorMessage": None,
        "entityId": entity_id,
        "errorId": f"6:{issue.error_type}",
        "customerResolvability": "NotAllowed",
    }


def _disk(b: Backend, item: Item, now: datetime) -> dict[str, Any]:
    sub = b.topology.subscription_id
    src_rg, dst_rg = item.vm_resource_group_in(item.primary), item.vm_resource_group_in(item.recovery)
    disk = f"{item.vm}_OsDisk_1_{item.guid.replace('-', '')}"
    in_ir = item.state == IR
    target = f"/subscriptions/{sub}/resourceGroups/{dst_rg}/providers/Microsoft.Compute/disks/{disk}"
    return {
        "diskId": _disk_id(b, item),
        "recoveryResourceGroupId": f"/subscriptions/{sub}/resourceGroups/{dst_rg}",
        "recoveryTargetDiskId": target if item.state == COMMITTED else None,
        "recoveryReplicaDiskId": f"{target}-ASRReplica",
        "recoveryOrignalTargetDiskId": target if not item.forward else None,
        "recoveryReplicaDiskAccountType": "Premium_LRS",
        "recoveryTargetDiskAccountType": "Premium_LRS",
        "recoveryDiskEncryptionSetId": None,
        "primaryDiskEncryptionSetId": None,
        "diskName": disk,
        "diskCapacityInBytes": item.disk_gib * 1024**3,
        "primaryStagingAzureStorageAccountId": (
            f"/subscriptions/{sub}/resourceGroups/{src_rg}/providers/Microsoft.Storage/storageAccounts/"
            f"asrcache{item.primary[:10]}"
        ),
        "diskType": "OperatingSystem",
        "resyncRequired": False,
        "monitoringPercentageCompletion": monitoring_percentage(item, now) if in_ir else None,
        "monitoringJobType": "InitialReplication" if in_ir else None,
        "dataPendingInStagingStorageAccountInMB": 0.0,
        "dataPendingAtSourceAgentInMB": 1.234375,
        "diskState": "InitialReplicationPending" if in_ir else "Protected",
        "allowedDiskLevelOperation": [],
        "isDiskEncrypted": False,
        "secretIdentifier": None,
        "dekKeyVaultArmId": None,
        "isDiskKeyEncrypted": False,
        "keyIdentifier": None,
        "kekKeyVaultArmId": None,
        "failoverDiskName": disk,
        "tfoDiskName": f"{disk}-ASRtest",
    }


def _nic(b: Backend, item: Item) -> dict[str, Any]:
    sub = b.topology.subscription_id
    src, dst = (
        f"/subscriptions/{sub}/resourceGroups/{item.vm_resource_group_in(r)}" for r in (item.primary, item.recovery)
    )
    return {
        "nicId": topo.stable_guid(item.guid, "nic"),
        "replicaNicId": None,
        "sourceNicArmId": f"{src}/providers/Microsoft.Network/networkInterfaces/{item.vm}-nic",
        "vMNetworkName": f"{src}/providers/Microsoft.Network/virtualNetworks/vnet-{item.primary}",
        "recoveryVMNetworkId": f"{dst}/providers/Microsoft.Network/virtualNetworks/vnet-{item.recovery}",
        "ipConfigs": [
            {
                "name": "ipconfig1",
                "isPrimary": True,
                "subnetName": "default",
                "staticIPAddress": None,
                "ipAddressType": "Dynamic",
                "isSeletedForFailover": True,
                "recoverySubnetName": "default",
                "recoveryStaticIPAddress": "",
                "recoveryIPAddressType": "Dynamic",
                "recoveryPublicIPAddressId": None,
                "recoveryLBBackendAddressPoolIds": None,
                "tfoSubnetName": None,
                "tfoStaticIPAddress": None,
                "tfoPublicIPAddressId": None,
                "tfoLBBackendAddressPoolIds": None,
            }
        ],
        "selectionType": "SelectedByUserOverride",
        "recoveryNetworkSecurityGroupId": None,
        "enableAcceleratedNetworkingOnRecovery": False,
        "tfoVMNetworkId": item.tfo_network_id,
        "tfoNetworkSecurityGroupId": None,
        "enableAcceleratedNetworkingOnTfo": None,
        "recoveryNicName": None,
        "recoveryNicResourceGroupName": None,
        "reuseExistingNic": False,
        "tfoRecoveryNicName": None,
        "tfoRecoveryNicResourceGroupName": None,
        "tfoReuseExistingNic": False,
        "targetNicName": None,
    }


def _a2a_details(b: Backend, item: Item, now: datetime) -> dict[str, Any]:
    sub = b.topology.subscription_id
    vm_state, vm_desc = VM_PROTECTION_STATES[item.state]
    in_ir = item.state == IR
    failed_over = item.active_location == "Recovery"
    return {
        "instanceType": "A2A",
        "fabricObjectId": b.vm_id(item, item.primary),
        "initialPrimaryZone": "",
        "initialPrimaryFabricLocation": item.initial_primary,
        "initialRecoveryZone": "",
        "initialPrimaryExtendedLocation": None,
        "initialRecoveryExtendedLocation": None,
        "initialRecoveryFabricLocation": item.initial_recovery,
        "multiVmGroupId": topo.stable_guid(item.guid, "mvg"),
        "multiVmGroupName": "",
        "multiVmGroupCreateOption": "AutoCreated",
        "managementId": topo.stable_guid(item.guid, "management", item.primary),
        "protectionClusterId": None,
        "isClusterInfraReady": None,
        "protectedDisks": None,
        "unprotectedDisks": None,
        "protectedManagedDisks": [_disk(b, item, now)],
        "recoveryBootDiagStorageAccountId": None,
        "primaryFabricLocation": item.primary,
        "recoveryFabricLocation": item.recovery,
        "osType": "Windows",
        "recoveryAzureVMSize": item.vm_size,
        "recoveryAzureVMName": item.vm,
        "recoveryAzureResourceGroupId": (
            f"/subscriptions/{sub}/resourceGroups/{item.vm_resource_group_in(item.recovery)}"
        ),
        "recoveryCloudService": None,
        "recoveryAvailabilitySet": None,
        "selectedRecoveryAzureNetworkId": (
            f"/subscriptions/{sub}/resourceGroups/{item.vm_resource_group_in(item.recovery)}"
            f"/providers/Microsoft.Network/virtualNetworks/vnet-{item.recovery}"
        ),
        "selectedTfoAzureNetworkId": item.tfo_network_id,
        "vmNics": [_nic(b, item)],
        "vmSyncedConfigDetails": {"tags": {"emulated": "true"}, "inputEndpoints": []},
        "monitoringPercentageCompletion": monitoring_percentage(item, now),
        "monitoringJobType": item.monitoring_job_type,
        "lastHeartbeat": iso(outage.last_heartbeat(b, item, now)),
        "agentVersion": item.agent.version,
        "agentExpiryDate": item.agent.expiry,
        "isReplicationAgentUpdateRequired": item.agent.update_required,
        "agentCertificateExpiryDate": item.agent.certificate_expiry,
        "isReplicationAgentCertificateUpdateRequired": item.agent.certificate_update_required,
        "recoveryFabricObjectId": b.vm_id(item, item.recovery) if failed_over else None,
        "vmProtectionState": vm_state,
        "vmProtectionStateDescription": vm_desc,
        "lifecycleId": item.lifecycle_id,
        "testFailoverRecoveryFabricObjectId": None,
        "rpoInSeconds": None if in_ir else outage.rpo_seconds(b, item, now),
        "lastRpoCalculatedTime": None if in_ir else iso(item.last_rpo_time),
        "rtoInSeconds": None,
        "primaryAvailabilityZone": None,
        "recoveryAvailabilityZone": None,
        "primaryExtendedLocation": None,
        "recoveryExtendedLocation": None,
        "vmEncryptionType": "NotEncrypted",
        "tfoAzureVMName": f"{item.vm}-test",
        "recoveryAzureGeneration": "V2",
        "recoveryProximityPlacementGroupId": None,
        "autoProtectionOfDataDisk": "Disabled",
        "recoveryVirtualMachineScaleSetId": None,
        "recoveryCapacityReservationGroupId": None,
        "churnOptionSelected": "Normal",
    }


def item_json(b: Backend, item: Item, now: datetime) -> dict[str, Any]:
    scenario = item.scenario
    return {
        "id": b.item_id(item),
        "name": item.name,
        "type": ITEM_TYPE,
        "properties": {
            "friendlyName": item.vm,
            "protectedItemType": "",
            "protectableItemId": None,
            "recoveryServicesProviderId": (
                f"{b.fabric_id(item.primary)}/replicationRecoveryServicesProviders/{b.fabric_guid(item.primary)}"
            ),
            "primaryFabricFriendlyName": topo.region_display(item.primary),
            "primaryFabricProvider": "AzureFabric",
            "recoveryFabricFriendlyName": topo.region_display(item.recovery),
            "recoveryFabricId": b.fabric_id(item.recovery),
            "primaryProtectionContainerFriendlyName": topo.container_name(item.primary),
            "recoveryProtectionContainerFriendlyName": topo.container_name(item.recovery),
            "protectionState": item.state,
            "protectionStateDescription": item.protection_state_description(),
            "activeLocation": item.active_location,
            "testFailoverState": item.tfo_state,
            "testFailoverStateDescription": TFO_DESCRIPTIONS[item.tfo_state],
            "switchProviderState": "None",
            "switchProviderStateDescription": None,
            "allowedOperations": item.allowed_operations(),
            "replicationHealth": item.replication_health(),
            "failoverHealth": item.failover_health(),
            "healthErrors": [health_error_json(issue, item.guid) for issue in item.health],
            "policyId": f"{b.vault_id}/replicationPolicies/{POLICY}",
            "policyFriendlyName": POLICY,
            "lastSuccessfulFailoverTime": iso(item.last_failover_time),
            "lastSuccessfulTestFailoverTime": iso(item.last_tfo_time),
            "currentScenario": {
                "scenarioName": scenario.name if scenario else "None",
                "jobId": b.job_id(scenario.job_name if scenario else "None"),
                "startTime": iso(scenario.start) if scenario else IDLE_SCENARIO_TIME,
            },
            "failoverRecoveryPointId": item.failover_rp_id,
            "providerSpecificDetails": _a2a_details(b, item, now),
            "recoveryContainerId": b.container_id(item.recovery),
            "eventCorrelationId": item.event_correlation_id,
        },
    }


def point_json(b: Backend, item: Item, point: RecoveryPointInfo) -> dict[str, Any]:
    disk = _disk_id(b, item)
    return {
        "id": f"{b.item_id(item)}/recoveryPoints/{point.name}",
        "name": point.name,
        "type": POINT_TYPE,
        "properties": {
            "recoveryPointTime": iso(point.time),
            "recoveryPointType": point.kind,
            "providerSpecificDetails": {
                "instanceType": "A2A",
                "recoveryPointSyncType": "PerVmRecoveryPoint",
                "disks": [disk],
            },
        },
    }


def _disk_id(b: Backend, item: Item) -> str:
    sub = b.topology.subscription_id
    disk = f"{item.vm}_OsDisk_1_{item.guid.replace('-', '')}".lower()
    rg = item.vm_resource_group_in(item.primary).lower()
    return f"/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/disks/{disk}"


def fabric_json(b: Backend, region: str) -> dict[str, Any]:
    return {
        "id": b.fabric_id(region),
        "name": topo.fabric_name(region),
        "type": FABRIC_TYPE,
        "location": region,
        "properties": {
            "friendlyName": topo.fabric_name(region),
            "encryptionDetails": None,
            "rolloverEncryptionDetails": None,
            "internalIdentifier": b.fabric_guid(region),
            "bcdrState": "Valid",
            "customDetails": {"instanceType": "Azure", "location": region, "containerIds": [b.container_id(region)]},
            "healthErrorDetails": [],
            "health": "Normal",
        },
    }


def container_json(b: Backend, region: str) -> dict[str, Any]:
    count = sum(1 for item in b.items.values() if item.primary == region)
    return {
        "id": b.container_id(region),
        "name": topo.container_name(region),
        "type": CONTAINER_TYPE,
        "location": region,
        "properties": {
            "fabricFriendlyName": topo.region_display(region),
            "friendlyName": topo.container_name(region),
            "fabricType": "Azure",
            "protectedItemCount": count,
            "pairingStatus": "Paired",
            "role": "Primary" if region == b.topology.primary_region else "Recovery",
            "fabricSpecificDetails": {"instanceType": "A2A"},
        },
    }
