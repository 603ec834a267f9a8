"""A region that is down: ``POST /_emulator/regions/{region}/outage {"down": bool}`` and topology ``downRegions``.

While a region is down (the vault lives elsewhere and keeps answering):

* items whose primary is there stop sending heartbeats: ``lastHeartbeat`` freezes at the outage start,
  ``rpoInSeconds`` grows with emulated time, and after ``outageCriticalAfterSeconds`` (default 30 min, ASR's
  default RPO critical threshold) replication health turns Critical with the health error ``HEARTBEAT_CODE``;
* no new recovery point reaches the recovery region: a failover recovers from the latest point taken before the
  outage (the lost tail is the RPO), also with ``Latest``;
* a failover with source shutdown proceeds; its shutdown task ends with a warning (ASR: "failover continues even
  if shutdown fails");
* switch-protection (reprotect) towards the down region fails in its prerequisite check with
  ``REPROTECT_CODE``, and ``SwitchProtection`` stays allowed, as the primary target site must be available;
* test failover and cleanup in the healthy region are unaffected.

Bringing the region back resumes heartbeats (RPO back to normal, the health error cleared); reprotect succeeds
from then on. The error codes are our names: what ASR reports in these cases is not recorded.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from emulator.clock import iso
from emulator.errors import ServiceError
from emulator.models import COMMITTED, HealthIssue, Item

if TYPE_CHECKING:  # the backend asks this module about recovery points: no import cycle at runtime
    from emulator.backend import Backend

HEARTBEAT_CODE = "ReplicationHeartbeatLost"
REPROTECT_CODE = "PrimaryTargetSiteUnavailable"
DEFAULT_CRITICAL_AFTER = timedelta(minutes=30)


def _state(b: Backend) -> dict[str, datetime]:
    """Down region -> when it went down."""
    return b.down_regions


def is_down(b: Backend, region: str) -> bool:
    return region.lower() in _state(b)


def down_since(b: Backend, region: str) -> datetime | None:
    return _state(b).get(region.lower())


def critical_after(b: Backend) -> timedelta:
    raw = b.topology.extra.get("outageCriticalAfterSeconds")
    return timedelta(seconds=float(raw)) if raw is not None else DEFAULT_CRITICAL_AFTER


def _known_region(b: Backend, region: str) -> str:
    wanted = region.lower()
    if wanted not in (b.topology.primary_region, b.topology.recovery_region):
        raise ValueError(
            f"region '{region}' is not in this topology ({b.topology.primary_region}, {b.topology.recovery_region})"
        )
    return wanted


def set_outage(b: Backend, region: str, down: bool, now: datetime) -> dict[str, Any]:
    """Take ``region`` down (from ``now``) or bring it back; idempotent either way."""
    name = _known_region(b, region)
    state = _state(b)
    if down and name not in state:
        state[name] = now
        since = now
        b.schedule(now + critical_after(b), lambda at: _turn_critical(b, name, since, at))
    elif not down and name in state:
        del state[name]
        for item in b.items.values():
            if item.primary == name:
                item.health = [h for h in item.health if h.code != HEARTBEAT_CODE]
                item.last_rpo_time = now
    return outage_json(b, now)


def _turn_critical(b: Backend, region: str, since: datetime, at: datetime) -> None:
    if _state(b).get(region) != since:
        return  # the region came back (or went down again later) before the threshold
    for item in b.items.values():
        if item.primary == region and item.active_location == "Primary":
            b.add_health_issue(item, heartbeat_issue(item, at))


def heartbeat_issue(item: Item, at: datetime) -> HealthIssue:
    return HealthIssue(
        code=HEARTBEAT_CODE,
        category="Replication",
        level="Error",
        message=f"Site Recovery has not received a heartbeat from the virtual machine '{item.vm}' in region "
        f"'{item.primary}' for a while; replication is not progressing.",
        created=at,
        possible_causes="The primary region or the virtual machine is unavailable.",
        recommended_action="If the primary region is down, fail the virtual machine over to the recovery region.",
        source="ReplicationUnitHealthValidator",
        error_type="Heartbeat",
        affects_replication=True,
    )


def data_until(b: Backend, item: Item, now: datetime) -> datetime:
    """The newest moment whose data reached the recovery region: the outage start while the primary is down."""
    since = down_since(b, item.primary)
    return min(now, since) if since is not None else now


def last_heartbeat(b: Backend, item: Item, now: datetime) -> datetime:
    return data_until(b, item, now)


def rpo_seconds(b: Backend, item: Item, now: datetime) -> int | None:
    """The item's RPO as ASR reports it: its normal lag, plus the time since the outage began."""
    since = down_since(b, item.primary)
    if item.rpo_seconds is None or since is None or item.active_location != "Primary":
        return item.rpo_seconds
    return item.rpo_seconds + int((now - since).total_seconds())


def shutdown_blocked(b: Backend, item: Item) -> bool:
    """The source VM cannot be shut down: its region is down (the failover continues with a warning)."""
    return is_down(b, item.primary)


def reprotect_failure(b: Backend, item: Item) -> tuple[str, str] | None:
    """Switch-protection makes the item's current primary its new recovery side: that region must be up."""
    if item.state != COMMITTED or not is_down(b, item.primary):
        return None
    return REPROTECT_CODE, (
        f"Reprotect of the virtual machine '{item.vm}' cannot start: the region '{item.primary}' that becomes its "
        "recovery region is unavailable. Retry once the region is available again."
    )


class RegionUnavailable(ServiceError):
    """ARM's answer when the regional resource provider does not respond (a region that is down)."""

    status = 504
    code = "GatewayTimeout"


def check_arm_scope(b: Backend, path: str) -> None:
    """ARM calls on a VM in a down region (its ``Microsoft.Compute/virtualMachines`` id, sub-resources included)
    time out at ARM's gateway; the vault and everything else keep answering."""
    parts = [p.lower() for p in path.strip("/").split("/")]
    if len(parts) < 8 or parts[0] != "subscriptions" or parts[2] != "resourcegroups":
        return
    if parts[4:7] != ["providers", "microsoft.compute", "virtualmachines"]:
        return
    group, vm = parts[3], parts[7]
    for item in b.items.values():
        for region in (item.initial_primary, item.initial_recovery):
            if item.vm.lower() == vm and item.vm_resource_group_in(region).lower() == group and is_down(b, region):
                raise RegionUnavailable(
                    "The gateway did not receive a response from 'Microsoft.Compute' within the specified time "
                    f"period (region '{region}' is unavailable)."
                )


def outage_json(b: Backend, now: datetime) -> dict[str, Any]:
    return {"now": iso(now), "downRegions": {region: iso(since) for region, since in sorted(_state(b).items())}}


def apply_topology(b: Backend, now: datetime) -> None:
    """Topology ``downRegions``: regions down from the start."""
    raw = b.topology.extra.get("downRegions") or []
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise ValueError("topology: downRegions must be a list of region names")
    for region in raw:
        set_outage(b, region, True, now)


def admin_outage(b: Backend, region: str, body: Any) -> dict[str, Any]:
    """``POST /_emulator/regions/{region}/outage`` with ``{"down": true|false}``."""
    if not isinstance(body, dict) or not isinstance(body.get("down"), bool):
        raise ValueError('the body must be {"down": true|false}')
    with b.lock:
        return set_outage(b, region, body["down"], b.sync())
