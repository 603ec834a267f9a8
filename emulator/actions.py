"""Item, container and vault actions: validate the request body and the item state, then start the job.

Each function returns the started ``Job``; the HTTP layer answers 202 with the LRO headers for it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from emulator import outage, topology
from emulator.backend import Backend
from emulator.errors import BadRequest, NotFound, OperationNotAllowed
from emulator.job_records import finish_job, new_job
from emulator.jobs import (
    cleanup_unit,
    commit_unit,
    failover_unit,
    lay_out,
    switch_unit,
    test_failover_unit,
)
from emulator.models import Item, Job
from emulator.switch_input import check_and_record

DIRECTIONS = ("PrimaryToRecovery", "RecoveryToPrimary")
SOURCE_SITE_OPERATIONS = ("Required", "NotRequired")


def properties(body: Any, *, required: bool = True) -> dict[str, Any]:
    if body is None and not required:
        return {}
    if not isinstance(body, dict) or not isinstance(body.get("properties", {}), dict):
        raise BadRequest("The request body must be a JSON object with a 'properties' object.")
    if required and "properties" not in body:
        raise BadRequest("The request body is missing 'properties'.")
    props: dict[str, Any] = body.get("properties") or {}
    return props


def provider_details(props: dict[str, Any]) -> dict[str, Any]:
    details = props.get("providerSpecificDetails") or {}
    if not isinstance(details, dict):
        raise BadRequest("'providerSpecificDetails' must be an object for protected-item actions.")
    kind = details.get("instanceType")
    if kind is not None and kind != "A2A":
        raise BadRequest(
            f"The provider '{kind}' is not supported for this Azure-to-Azure protected item; use instanceType 'A2A'.",
            inner_code="InvalidProviderSpecificInput",
        )
    return details


def check_allowed(item: Item, operation: str) -> None:
    allowed = item.allowed_operations()
    if operation not in allowed:
        raise OperationNotAllowed(operation, item.vm, allowed)


def check_direction(item: Item, props: dict[str, Any]) -> None:
    direction = props.get("failoverDirection") or "PrimaryToRecovery"
    if direction not in DIRECTIONS:
        raise BadRequest(f"'failoverDirection' must be one of {list(DIRECTIONS)}.")
    if direction != "PrimaryToRecovery":
        raise OperationNotAllowed(
            f"UnplannedFailover ({direction})",
            item.vm,
            item.allowed_operations(),
            reason="For Azure-to-Azure the direction is relative to the item's current primary region: "
            "use PrimaryToRecovery (also for failback after reprotect).",
        )


def point_id(b: Backend, item: Item, name: str) -> str:
    """Recovery point id the way ASR stores it in ``failoverRecoveryPointId`` (container GUID in the path)."""
    return (
        f"{b.fabric_id(item.primary)}/replicationProtectionContainers/{b.container_guid(item.primary)}"
        f"/replicationProtectedItems/{item.name}/recoveryPoints/{name}"
    )


def resolve_point(
    b: Backend, item: Item, requested: str | None, now: datetime, kind: str = "Latest"
) -> tuple[str, datetime]:
    """(failoverRecoveryPointId, point time) for an explicit point id or a recovery point type."""
    points = b.recovery_points(item, now)
    if requested:
        name = requested.rstrip("/").rsplit("/", 1)[-1]
        known = b.issued_points.get(item.name, {})
        if name not in known or f"/replicationProtectedItems/{item.name}/".lower() not in requested.lower():
            raise BadRequest(
                f"The recovery point '{requested}' does not exist for the protected item '{item.vm}'.",
                inner_code="RecoveryPointNotFound",
                action="List the item's recovery points and pass one of their ids.",
            )
        return point_id(b, item, name), known[name].time
    if kind == "Latest" or not points:
        # "Latest" processes all pending data first: a brand-new point at failover time, or at the last moment
        # whose data reached the recovery region when the primary region is down.
        return point_id(b, item, b.new_guid()), outage.data_until(b, item, now)
    wanted = {"LatestApplicationConsistent": "ApplicationConsistent", "LatestCrashConsistent": "CrashConsistent"}
    candidates = [p for p in points if wanted.get(kind, p.kind) == p.kind] or points
    newest = max(candidates, key=lambda p: p.time)
    return point_id(b, item, newest.name), newest.time


def item_job(b: Backend, item: Item, scenario: str, friendly: str, now: datetime) -> tuple[Job, Any]:
    job, rng = new_job(
        b,
        scenario=scenario,
        friendly=friendly,
        target_kind="item",
        target_name=item.name,
        object_name=item.vm,
        object_id=item.guid,
        instance_type="ProtectionEntity",
        result_kind="items.get",
        result_ref=(item.name,),
        item_names=[item.name],
        start=now,
    )
    b.busy(item, job)
    return job, rng


def affected_details(b: Backend, item: Item) -> dict[str, str]:
    return {
        "primaryVmId": item.guid,
        "primaryVmName": item.vm,
        "recoveryVmId": "",
        "recoveryVmName": item.vm,
        "primaryCloudId": b.container_guid(item.primary),
        "primaryCloudName": topology.container_name(item.primary),
        "recoveryCloudId": b.container_guid(item.recovery),
        "recoveryCloudName": topology.container_name(item.recovery),
        "primaryVmmId": b.fabric_guid(item.primary),
        "primaryVmmName": topology.region_display(item.primary),
        "recoveryVmmId": b.fabric_guid(item.recovery),
        "recoveryVmmName": topology.region_display(item.recovery),
        "protectionProfileId": topology.stable_guid(item.guid, "protection-profile"),
        "primaryFabricProviderId": "Azure",
        "recoveryFabricProviderId": "Azure",
    }


def protected_item_details(
    item: Item, *, rp: tuple[str, datetime] | None, test: bool, network: str | None
) -> dict[str, Any]:
    return {
        "name": item.name,
        "friendlyName": item.vm,
        "testVmName": f"{item.vm}-test" if test else None,
        "testVmFriendlyName": f"{item.vm}-test" if test else None,
        "networkConnectionStatus": "Connected" if test else None,
        "networkFriendlyName": network.rsplit("/", 1)[-1] if network else None,
        "subnet": None,
        "recoveryPointId": rp[0] if rp else None,
        "recoveryPointTime": rp[1].isoformat().replace("+00:00", "Z") if rp else None,
    }


def unplanned_failover(b: Backend, item: Item, body: Any, now: datetime) -> Job:
    props = properties(body)
    details = provider_details(props)
    check_allowed(item, "UnplannedFailover")
    check_direction(item, props)
    sso = props.get("sourceSiteOperations") or "NotRequired"
    if sso not in SOURCE_SITE_OPERATIONS:
        raise BadRequest(f"'sourceSiteOperations' must be one of {list(SOURCE_SITE_OPERATIONS)}.")
    # No recovery point means Latest: ASR processes the pending data first (RPO close to 0).
    rp = resolve_point(b, item, details.get("recoveryPointId"), now, kind="Latest")
    job, rng = item_job(b, item, "UnplannedFailover", "Failover", now)
    unit = failover_unit(b, job, item, now, rng, shutdown=sso == "Required", rp_id=rp[0])
    job.tasks, job.end = unit.tasks, unit.end
    job.custom_details = {
        "instanceType": "FailoverJobDetails",
        "affectedObjectDetails": affected_details(b, item),
        "protectedItemDetails": [protected_item_details(item, rp=rp, test=False, network=None)],
    }
    finish_job(b, job, [unit])
    b.add_job(job)
    return job


def test_network(props: dict[str, Any]) -> str | None:
    network_type = props.get("networkType")
    network_id = props.get("networkId")
    if network_type == "NoNetworkAttachAsInput":
        return None
    if not network_id:
        raise BadRequest(
            "A test failover needs 'networkId' (the isolated test virtual network) with networkType "
            "'VmNetworkAsInput'.",
            inner_code="InvalidNetworkInput",
        )
    return str(network_id)


def test_failover(b: Backend, item: Item, body: Any, now: datetime) -> Job:
    props = properties(body)
    details = provider_details(props)
    check_allowed(item, "TestFailover")
    check_direction(item, props)
    network = test_network(props)
    rp = resolve_point(b, item, details.get("recoveryPointId"), now, kind="LatestProcessed")
    job, rng = item_job(b, item, "TestFailover", "Test failover", now)
    unit = test_failover_unit(b, job, item, now, rng, network=network or "")
    job.tasks, job.end = unit.tasks, unit.end
    job.custom_details = {
        "instanceType": "TestFailoverJobDetails",
        "affectedObjectDetails": affected_details(b, item),
        "testFailoverStatus": None,
        "comments": None,
        "networkName": network.rsplit("/", 1)[-1] if network else None,
        "networkFriendlyName": network.rsplit("/", 1)[-1] if network else None,
        "networkType": props.get("networkType") or "VmNetworkAsInput",
        "protectedItemDetails": [protected_item_details(item, rp=rp, test=True, network=network)],
    }
    finish_job(b, job, [unit], keep_scenario=True)
    b.add_job(job)
    return job


def test_failover_cleanup(b: Backend, item: Item, body: Any, now: datetime) -> Job:
    props = properties(body, required=False)
    check_allowed(item, "TestFailoverCleanup")
    job, rng = item_job(b, item, "TestFailoverCleanup", "Test failover cleanup", now)
    unit = cleanup_unit(b, job, item, now, rng)
    job.tasks, job.end = unit.tasks, unit.end
    job.custom_details = {
        "instanceType": "TestFailoverJobDetails",
        "affectedObjectDetails": affected_details(b, item),
        "testFailoverStatus": "Completed",
        "comments": props.get("comments"),
        "networkName": None,
        "networkFriendlyName": None,
        "networkType": None,
        "protectedItemDetails": [protected_item_details(item, rp=None, test=True, network=item.tfo_network_id)],
    }
    finish_job(b, job, [unit])
    b.add_job(job)
    return job


def failover_commit(b: Backend, item: Item, now: datetime) -> Job:
    check_allowed(item, "Commit")
    job, rng = item_job(b, item, "CommitFailover", "Commit", now)
    unit = commit_unit(b, job, item, now, rng)
    job.tasks, job.end = unit.tasks, unit.end
    job.custom_details = {"instanceType": "AsrJobDetails", "affectedObjectDetails": affected_details(b, item)}
    finish_job(b, job, [unit])
    b.add_job(job)
    return job


def switch_protection(b: Backend, item: Item, now: datetime, *, result: tuple[str, tuple[str, ...]]) -> Job:
    check_allowed(item, "SwitchProtection")
    job, rng = item_job(b, item, "SwitchReplicationGroupProtection", "Reprotect", now)
    job.result_kind, job.result_ref = result
    unit = switch_unit(b, job, item, now, rng)
    job.tasks, job.end = unit.tasks, unit.end
    job.custom_details = {
        "instanceType": "SwitchProtectionJobDetails",
        "affectedObjectDetails": affected_details(b, item),
    }
    finish_job(b, job, [unit])
    b.add_job(job)
    return job


def container_switch_protection(b: Backend, fabric: str, container: str, body: Any, now: datetime) -> Job:
    region = b.region_of_container(fabric, container)
    if region is None:
        raise NotFound(f"The protection container '{container}' was not found in fabric '{fabric}'.")
    props = properties(body)
    provider_details(props)
    name = props.get("replicationProtectedItemName")
    if not name:
        raise BadRequest("'replicationProtectedItemName' is required.")
    item = b.item_at(fabric, container, str(name))
    check_and_record(b, item, props.get("providerSpecificDetails") or {})
    wanted = (props.get("providerSpecificDetails") or {}).get("recoveryContainerId")
    if wanted and str(wanted).lower() != b.container_id(region).lower():
        raise BadRequest(
            f"'recoveryContainerId' must be the container the request is addressed to ({b.container_id(region)}): "
            "it becomes the recovery side after the switch.",
            inner_code="InvalidRecoveryContainer",
        )
    return switch_protection(b, item, now, result=("containers.get", (region,)))


def item_reprotect(b: Backend, item: Item, body: Any, now: datetime) -> Job:
    """``reProtect`` on an A2A item: accepted as an alias of switch-protection (asr-api.md §3.6)."""
    props = properties(body, required=False)
    check_and_record(b, item, provider_details(props))
    return switch_protection(b, item, now, result=("items.get", (item.name,)))


def refresh_vault_health(b: Backend, now: datetime) -> Job:
    job, rng = new_job(
        b,
        scenario="RefreshVaultHealth",
        friendly="Refresh vault health",
        target_kind="vault",
        target_name="Default",
        object_name=b.topology.vault,
        object_id=b.topology.vault,
        instance_type="Vault",
        result_kind="health.default",
        result_ref=(),
        item_names=[],
        start=now,
    )
    job.tasks, job.end, _ = lay_out(now, rng, [("RefreshHealthTask", "RefreshHealthTask", "Refreshing health", 20)])
    job.custom_details = {"instanceType": "AsrJobDetails", "affectedObjectDetails": {}}
    finish_job(b, job, [])
    b.add_job(job)
    return job


def cancel_job(b: Backend, job: Job, now: datetime) -> Job:
    """Only where ``allowedActions`` offers ``Cancel``; the job ends ``Cancelled`` at once and the item effects
    it had not reached yet never happen (the item is as before the job, or as far as the job got)."""
    if not job.cancellable(now):
        raise OperationNotAllowed("Cancel", f"job {job.name} ({job.scenario}, {job.state(now)[0]})", [])
    job.cancelled_at = now
    for name in job.item_names:
        item = b.items[name]
        if item.busy_job == job.name:
            item.busy_job = None
            item.scenario = None
    if job.target_kind == "plan":
        plan = b.plans[job.target_name]
        plan.busy_job = None
        plan.scenario_status = ("Cancelled", "Cancelled")
    return job
