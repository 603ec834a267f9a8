"""Request bodies of the A2A actions, as SDK models (the SDK leaves None-valued fields out of the JSON).

For A2A the direction of an item action is always ``PrimaryToRecovery``: an item's "primary" is its current
source, so failback is a PrimaryToRecovery failover of the reprotected item at its new container.
"""

from __future__ import annotations

from collections.abc import Mapping

from azure.mgmt.recoveryservicessiterecovery import models as m

from lib.adapters.asr_mapping import container_id_of, resource_group_id_of

A2A_DIRECTION = "PrimaryToRecovery"
TEST_NETWORK_TYPE = "VmNetworkAsInput"


def _site_operations(shutdown_source: bool) -> str:
    return "Required" if shutdown_source else "NotRequired"


def unplanned_failover_input(*, shutdown_source: bool, recovery_point_id: str | None) -> m.UnplannedFailoverInput:
    return m.UnplannedFailoverInput(
        properties=m.UnplannedFailoverInputProperties(
            failover_direction=A2A_DIRECTION,
            source_site_operations=_site_operations(shutdown_source),
            provider_specific_details=m.A2AUnplannedFailoverInput(recovery_point_id=recovery_point_id),
        )
    )


def test_failover_input(*, network_id: str, recovery_point_id: str | None) -> m.TestFailoverInput:
    return m.TestFailoverInput(
        properties=m.TestFailoverInputProperties(
            failover_direction=A2A_DIRECTION,
            network_type=TEST_NETWORK_TYPE,
            network_id=network_id,
            provider_specific_details=m.A2ATestFailoverInput(recovery_point_id=recovery_point_id),
        )
    )


def test_failover_cleanup_input(*, comments: str) -> m.TestFailoverCleanupInput:
    return m.TestFailoverCleanupInput(properties=m.TestFailoverCleanupInputProperties(comments=comments))


def _reverse_managed_disks(
    details: m.A2AReplicationDetails, cache_accounts: Mapping[str, str]
) -> list[m.A2AVmManagedDiskInputDetails] | None:
    """The failed-over VM's disks replicate back into the original disks' resource groups.

    Reverse replication needs a cache (staging) storage account in the region the VM now runs in, which
    nothing on the item names; it comes from configuration. Without it, or without a failed-over disk id,
    the list is left out for ASR to decide (and refuse with its own error if it must): a partial list
    would silently leave disks unprotected.
    """
    staging = cache_accounts.get((details.recovery_fabric_location or "").lower())
    disks = details.protected_managed_disks or []
    if not staging or not disks:
        return None
    entries: list[m.A2AVmManagedDiskInputDetails] = []
    for disk in disks:
        target_group = resource_group_id_of(disk.disk_id)
        if not disk.recovery_target_disk_id or not target_group:
            return None
        entries.append(
            m.A2AVmManagedDiskInputDetails(
                disk_id=disk.recovery_target_disk_id,
                primary_staging_azure_storage_account_id=staging,
                recovery_resource_group_id=target_group,
            )
        )
    return entries


def switch_protection_input(
    item: m.ReplicationProtectedItem, cache_accounts: Mapping[str, str] | None = None
) -> m.SwitchProtectionInput:
    """Reprotect the item from where it lives now: its current container becomes the recovery side."""
    props = item.properties or m.ReplicationProtectedItemProperties()
    provider = m.A2ASwitchProtectionInput(
        recovery_container_id=container_id_of(item.id or ""), policy_id=props.policy_id
    )
    details = props.provider_specific_details
    if isinstance(details, m.A2AReplicationDetails):
        first_disk = next(iter(details.protected_managed_disks or ()), None)
        provider.recovery_resource_group_id = resource_group_id_of(details.fabric_object_id) or resource_group_id_of(
            first_disk.disk_id if first_disk else None
        )
        provider.vm_managed_disks = _reverse_managed_disks(
            details, {k.lower(): v for k, v in (cache_accounts or {}).items()}
        )
    return m.SwitchProtectionInput(
        properties=m.SwitchProtectionInputProperties(
            replication_protected_item_name=item.name, provider_specific_details=provider
        )
    )


def _plan_a2a(recovery_point_type: str) -> list[m.RecoveryPlanProviderSpecificFailoverInput]:
    return [m.RecoveryPlanA2AFailoverInput(recovery_point_type=recovery_point_type)]


def plan_unplanned_failover_input(
    *, direction: str, shutdown_source: bool, recovery_point_type: str
) -> m.RecoveryPlanUnplannedFailoverInput:
    return m.RecoveryPlanUnplannedFailoverInput(
        properties=m.RecoveryPlanUnplannedFailoverInputProperties(
            failover_direction=direction,
            source_site_operations=_site_operations(shutdown_source),
            provider_specific_details=_plan_a2a(recovery_point_type),
        )
    )


def plan_test_failover_input(
    *, network_id: str, direction: str, recovery_point_type: str
) -> m.RecoveryPlanTestFailoverInput:
    return m.RecoveryPlanTestFailoverInput(
        properties=m.RecoveryPlanTestFailoverInputProperties(
            failover_direction=direction,
            network_type=TEST_NETWORK_TYPE,
            network_id=network_id,
            provider_specific_details=_plan_a2a(recovery_point_type),
        )
    )


def plan_test_failover_cleanup_input(*, comments: str) -> m.RecoveryPlanTestFailoverCleanupInput:
    return m.RecoveryPlanTestFailoverCleanupInput(
        properties=m.RecoveryPlanTestFailoverCleanupInputProperties(comments=comments)
    )
