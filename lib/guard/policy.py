"""The automatic-failover policy as typed values: what each protected region fails over, and the guardrails.

``Policy.to_json`` gives the public camelCase form with every default filled in, so two texts that mean the
same policy have the same ``policy_hash``. Reading a policy (and refusing a bad one) is ``lib.guard.parse``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from lib.signals import DEFAULT_SERVICES

if TYPE_CHECKING:
    from lib.guard.drills import Drill

__all__ = [
    "FailoverOptions",
    "Mode",
    "OnApprovalTimeout",
    "Policy",
    "Probe",
    "RegionPolicy",
    "Target",
]


class Mode(StrEnum):
    OFF = "off"  # signals for the region are recorded and ignored
    DRY_RUN = "dry-run"  # decisions are recorded with what would happen; nothing starts
    APPROVAL = "approval"  # an operator approves (or the timeout decides) before anything starts
    AUTO = "auto"  # the guardrails pass -> the failover starts


class OnApprovalTimeout(StrEnum):
    EXPIRE = "expire"  # nobody approved in time: nothing starts
    PROCEED = "proceed"  # "runs unless vetoed": the failover starts when the timeout passes


@dataclass(frozen=True)
class Target:
    """What one failover run covers: a recovery plan, or a list of protected VMs (exactly one of the two)."""

    recovery_plan: str | None = None
    vms: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        """Stable name of the target, for facts, decisions and runs: ``plan:<name>`` or ``vms:<a,b,...>``
        (VM names lower-cased and sorted, so the order they are listed in does not matter)."""
        if self.recovery_plan is not None:
            return f"plan:{self.recovery_plan}"
        return "vms:" + ",".join(sorted(v.lower() for v in self.vms))

    def to_json(self) -> dict[str, Any]:
        if self.recovery_plan is not None:
            return {"recoveryPlan": self.recovery_plan}
        return {"vms": list(self.vms)}


@dataclass(frozen=True)
class Probe:
    """A URL the probe timer checks; ``failures_to_signal`` failures in a row make an active ``probe`` signal."""

    url: str
    failures_to_signal: int = 3

    def to_json(self) -> dict[str, Any]:
        return {"url": self.url, "failuresToSignal": self.failures_to_signal}


@dataclass(frozen=True)
class FailoverOptions:
    """The options of the failover runs the policy starts (the same names as the HTTP failover body)."""

    recovery_point: str = "Latest"
    shutdown_source: bool = True
    auto_commit: bool = True
    auto_reprotect: bool = True
    commit_mode: str = "together"  # "per-vm": VM-list targets of independent VMs commit VM by VM (``commitMode``)

    def to_json(self) -> dict[str, Any]:
        return {
            "recoveryPoint": self.recovery_point,
            "shutdownSource": self.shutdown_source,
            "autoCommit": self.auto_commit,
            "autoReprotect": self.auto_reprotect,
            "commitMode": self.commit_mode,
        }


@dataclass(frozen=True)
class RegionPolicy:
    """The policy of one protected (primary) region, keyed by its ARM name in ``Policy.regions``."""

    targets: tuple[Target, ...]
    mode: Mode = Mode.DRY_RUN
    min_sources: int = 1
    dwell_minutes: int = 0
    cooldown_minutes: int = 1440
    max_vms: int = 500
    approval_timeout_minutes: int = 60
    on_approval_timeout: OnApprovalTimeout = OnApprovalTimeout.EXPIRE
    require_drill_within_days: int | None = None
    include_maintenance: bool = False
    unavailable_vm_share: float = 0.5
    services: tuple[str, ...] = DEFAULT_SERVICES
    probes: tuple[Probe, ...] = ()
    failover: FailoverOptions = field(default_factory=FailoverOptions)
    rpo_target_seconds: int | None = None  # readiness: an RPO above this is ActionRequired

    def to_json(self) -> dict[str, Any]:
        return {
            "targets": [t.to_json() for t in self.targets],
            "mode": self.mode.value,
            "minSources": self.min_sources,
            "dwellMinutes": self.dwell_minutes,
            "cooldownMinutes": self.cooldown_minutes,
            "maxVms": self.max_vms,
            "approvalTimeoutMinutes": self.approval_timeout_minutes,
            "onApprovalTimeout": self.on_approval_timeout.value,
            "requireDrillWithinDays": self.require_drill_within_days,
            "includeMaintenance": self.include_maintenance,
            "unavailableVmShare": self.unavailable_vm_share,
            "services": list(self.services),
            "probes": [p.to_json() for p in self.probes],
            "failover": self.failover.to_json(),
            "rpoTargetSeconds": self.rpo_target_seconds,
        }


@dataclass(frozen=True)
class Policy:
    """The whole policy. An empty one (no regions) acts on nothing: it is what runs when none is configured."""

    regions: Mapping[str, RegionPolicy] = field(default_factory=dict)
    kill_switch: bool = False
    drills: Mapping[str, Drill] = field(default_factory=dict)  # scheduled drills by name (lib.guard.drills)

    def region(self, name: str) -> RegionPolicy | None:
        return self.regions.get(name)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "killSwitch": self.kill_switch,
            "regions": {name: self.regions[name].to_json() for name in sorted(self.regions)},
        }
        if self.drills:  # only when present: a policy without drills keeps its hash
            data["drills"] = {name: self.drills[name].to_json() for name in sorted(self.drills)}
        return data

    @classmethod
    def from_json(cls, data: object) -> Policy:
        """The policy from its JSON form; raises ``PolicyInvalid`` (a ValidationError) naming every bad field."""
        # Imported here: the parser builds these types, so it imports this module first.
        from lib.guard.parse import PolicyErrors, policy_from_data

        parsed = policy_from_data(data)
        if isinstance(parsed, PolicyErrors):
            raise parsed.error()
        return parsed

    @property
    def policy_hash(self) -> str:
        """A stable fingerprint of what the policy means (defaults filled, keys sorted): decisions record it."""
        canonical = json.dumps(self.to_json(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]
