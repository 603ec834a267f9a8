"""Scheduled drills as typed values (the policy's ``drills`` section) and the pure decision of which are due.

``due_drills(drills, now, facts)`` answers, per drill: start it now (with an idempotency key for the due period, so
two timer fires in one period start one drill) or skip it, with the reason. The facts (last successful drill per VM,
VMs held by active runs, regions with an active incident, the kill switch) are gathered by the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from lib.guard.policy import Target

__all__ = [
    "DAYS",
    "Drill",
    "DrillAction",
    "DrillDecision",
    "DrillFacts",
    "DrillWindow",
    "VmDrillHistory",
    "due_drills",
    "last_successful_drill",
    "target_last_success",
]

DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")  # datetime.weekday() order


@dataclass(frozen=True)
class DrillWindow:
    """When a drill may start: on ``days`` (the day the window opens), from ``start`` to ``end`` local time in
    ``time_zone``. ``end`` at or before ``start`` means the window runs past midnight into the next day."""

    days: tuple[str, ...] = DAYS
    start: time = time(0, 0)
    end: time = time(0, 0)
    time_zone: str = "UTC"

    def opened_on(self, now: datetime) -> date | None:
        """The local date the window containing ``now`` opened on, or None when ``now`` is outside every window."""
        local = now.astimezone(ZoneInfo(self.time_zone))
        today, clock = local.date(), local.time().replace(tzinfo=None)
        if self.end > self.start:
            inside = DAYS[today.weekday()] in self.days and self.start <= clock < self.end
            return today if inside else None
        if DAYS[today.weekday()] in self.days and clock >= self.start:
            return today
        yesterday = today - timedelta(days=1)
        if DAYS[yesterday.weekday()] in self.days and clock < self.end:
            return yesterday
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "days": list(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "timeZone": self.time_zone,
        }


@dataclass(frozen=True)
class Drill:
    """One scheduled drill of the policy (``drills.<name>``)."""

    name: str
    target: Target
    every_days: int
    test_network_id: str
    probe_url: str | None = None
    window: DrillWindow | None = None  # None: any time

    def request_body(self) -> dict[str, Any]:
        """The body of ``POST /api/drills`` this drill starts (the same validation applies)."""
        body: dict[str, Any] = {
            "target": self.target.to_json(),
            "testNetworkId": self.test_network_id,
            "reason": f"scheduled drill {self.name!r} (every {self.every_days} days)",
        }
        if self.probe_url:
            body["probeUrl"] = self.probe_url
        return body

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target.to_json(),
            "everyDays": self.every_days,
            "testNetworkId": self.test_network_id,
            "probeUrl": self.probe_url,
            "window": self.window.to_json() if self.window else None,
        }


@dataclass(frozen=True)
class VmDrillHistory:
    """What is known of one VM's test failovers: ASR's ``lastSuccessfulTestFailoverTime`` (by hand or ours), and
    our own latest drill run that covered the VM (when it ended, whether it passed, and when its cleanup job ended
    on ASR's clock)."""

    asr_last_success: datetime | None = None
    own_last_end: datetime | None = None
    own_last_passed: bool = False
    own_last_cleanup_end: datetime | None = None  # ASR's clock, comparable with asr_last_success


def _stamped_by_our_failed_drill(vm: VmDrillHistory) -> bool:
    """ASR stamps its time when a test failover is cleaned up, which our failed drills do too."""
    if vm.asr_last_success is None or vm.own_last_end is None or vm.own_last_passed:
        return False
    if vm.own_last_cleanup_end is not None:  # same clock: the stamp is no later than our cleanup's end
        return vm.asr_last_success <= vm.own_last_cleanup_end
    return vm.own_last_end >= vm.asr_last_success


def last_successful_drill(vm: VmDrillHistory) -> datetime | None:
    """Pure: when the VM last passed a drill. ASR's time counts (a test failover by hand counts) unless it was
    stamped by the cleanup of our own latest drill on the VM, which failed."""
    own = vm.own_last_end if vm.own_last_passed else None
    asr = None if _stamped_by_our_failed_drill(vm) else vm.asr_last_success
    known = [t for t in (own, asr) if t is not None]
    return max(known) if known else None


@dataclass(frozen=True)
class DrillFacts:
    """The world as the scheduler saw it. VM names are lower case."""

    target_vms: Mapping[str, tuple[str, ...]]  # drill name -> the VMs its target covers (empty: unknown target)
    target_regions: Mapping[str, frozenset[str]] = field(default_factory=dict)  # drill -> the VMs' primary regions
    vms: Mapping[str, VmDrillHistory] = field(default_factory=dict)
    busy_vms: Mapping[str, str] = field(default_factory=dict)  # VM -> the active run that holds it
    incident_regions: frozenset[str] = frozenset()
    kill_switch: bool = False


class DrillAction(StrEnum):
    START = "start"
    SKIP = "skip"


@dataclass(frozen=True)
class DrillDecision:
    drill: str
    action: DrillAction
    reason: str
    last_success: datetime | None = None  # the target's last successful drill (None: never)
    idempotency_key: str = ""  # for START: one run per drill and due period

    def to_json(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "action": self.action.value,
            "reason": self.reason,
            "lastSuccess": self.last_success.isoformat() if self.last_success else None,
            "idempotencyKey": self.idempotency_key or None,
        }


def target_last_success(vms: Sequence[str], histories: Mapping[str, VmDrillHistory]) -> datetime | None:
    """Pure: a target passed a drill when every one of its VMs did: the oldest of their last successes (None when
    one of them never passed, or the target has no VM)."""
    times = [last_successful_drill(histories.get(vm, VmDrillHistory())) for vm in vms]
    if not times or any(t is None for t in times):
        return None
    return min(t for t in times if t is not None)


def _decide(drill: Drill, now: datetime, facts: DrillFacts) -> DrillDecision:
    vms = facts.target_vms.get(drill.name, ())
    last = target_last_success(vms, facts.vms)

    def skip(reason: str) -> DrillDecision:
        return DrillDecision(drill.name, DrillAction.SKIP, reason, last)

    if not vms:
        return skip("target not found in the vault (no protected VM matches it)")
    due_at = last + timedelta(days=drill.every_days) if last else None
    if due_at is not None and now < due_at:
        return skip(f"not due yet: last successful drill {last:%Y-%m-%d %H:%M} UTC, due {due_at:%Y-%m-%d %H:%M} UTC")
    opened = drill.window.opened_on(now) if drill.window else now.date()
    if opened is None:
        return skip("due, but outside its window")
    if facts.kill_switch:
        return skip("due, but the kill switch is on")
    busy = sorted({f"{vm} ({facts.busy_vms[vm]})" for vm in vms if vm in facts.busy_vms})
    if busy:
        return skip(f"due, but a run is active on {', '.join(busy)}")
    incident = sorted(facts.target_regions.get(drill.name, frozenset()) & facts.incident_regions)
    if incident:
        return skip(f"due, but {', '.join(incident)} has an active incident")
    why = "never drilled" if last is None else f"last successful drill {last:%Y-%m-%d %H:%M} UTC"
    key = f"drill:{drill.name}:{opened.isoformat()}"
    return DrillDecision(drill.name, DrillAction.START, f"due ({why}; every {drill.every_days} days)", last, key)


def due_drills(drills: Mapping[str, Drill], now: datetime, facts: DrillFacts) -> list[DrillDecision]:
    """Pure: one decision per drill, in name order."""
    return [_decide(drills[name], now, facts) for name in sorted(drills)]
