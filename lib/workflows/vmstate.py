"""Per-VM progress inside a run, typed; stored as one JSON object per VM under the run state's ``vms``.

A phase listed in ``done`` is never run again for that VM, even on resume: that is what makes
"resume retries only what failed" safe. The JSON keys are those of layout 1 (runs stored before the
state was typed), so old runs load unchanged and readers of the stored JSON (drctl, reports) keep working.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal, cast

from lib.domain.asr import ProtectedItem
from lib.domain.polling import ProgressSample
from lib.workflows.json_fields import Json, as_mapping, bounded, iso, opt_float, opt_str, parse_time, times_by_phase

__all__ = ["ACTIVE", "FAILED", "RecoveryPointUsed", "Status", "VmError", "VmProgress"]

Status = Literal["active", "failed"]
ACTIVE: Status = "active"
FAILED: Status = "failed"


@dataclass
class VmError:
    """Why a VM left the run: the phase it failed in, ASR's (or our) error code, and a readable message."""

    phase: str  # the phase that failed (failover, commit, reprotect, healthy, test_failover, cleanup)
    code: str  # ASR's error code (e.g. 70094), or ours (ItemNotFound, OperationNotAllowed, ReprotectTimeout)
    message: str  # what happened, for operators

    def to_json(self) -> Json:
        return {"phase": self.phase, "code": self.code, "message": bounded(self.message)}

    @classmethod
    def from_json(cls, data: object) -> VmError | None:
        if not isinstance(data, Mapping):
            return None
        return cls(str(data.get("phase", "")), str(data.get("code", "")), str(data.get("message", "")))


@dataclass
class RecoveryPointUsed:
    """The recovery point an item-level failover used: its ARM ``id``, ``kind`` (ApplicationConsistent,
    CrashConsistent or Custom) and ``time`` (None when only the id was given); its age is the VM's RPO."""

    id: str  # the point's ARM id
    kind: str  # ApplicationConsistent, CrashConsistent, or Custom (an id the operator gave)
    time: datetime | None  # when the point was taken (None for a Custom id)

    def to_json(self) -> Json:
        return {"id": self.id, "kind": self.kind, "time": iso(self.time)}

    @classmethod
    def from_json(cls, data: object) -> RecoveryPointUsed | None:
        if not isinstance(data, Mapping):
            return None
        return cls(str(data.get("id", "")), str(data.get("kind", "")), parse_time(data.get("time")))


@dataclass
class VmProgress:
    """One VM of a run: where its protected item is, which phases it finished, and the evidence kept."""

    item: str  # the protected item's name (ASR keeps it when reprotect moves the item to another container)
    fabric: str  # the item's current replication fabric
    container: str  # the item's current protection container
    group: int  # boot-order group (0 first); a VM starts an ordered phase only after earlier groups finished it
    status: Status = ACTIVE  # "failed" takes the VM out of every later phase until a resume
    done: list[str] = field(default_factory=list)  # phases finished, in order; never run again for this VM
    jobs: dict[str, str] = field(default_factory=dict)  # phase -> ASR job name started (or adopted) for it
    error: VmError | None = None  # why the VM failed (None while active)
    progress: int | None = None  # reprotect (initial replication) percentage last seen
    rp: RecoveryPointUsed | None = None  # recovery point chosen for an item-level failover (None: Latest)
    rpo_s: float | None = None  # ASR's replication lag at preflight: the RPO estimate when no point was chosen
    health: str | None = None  # replication health last seen (Normal, Warning, Critical, None)
    from_region: str = ""  # JSON "from": the item's primary region at preflight
    to_region: str = ""  # JSON "to": the region the run moves the VM to (its recovery region at preflight)
    reverse: bool = False  # the item replicated against its original direction at preflight (failed over)
    # phase -> when we started or adopted its job. Its end is the job record's (``RunState.jobs``), not kept here.
    started_at: dict[str, datetime] = field(default_factory=dict)
    item_id: str | None = None  # the item's new ARM id after switch-protection moved it
    healthy_at: datetime | None = None  # when the VM was first seen protected and healthy in the new direction
    drill_error: VmError | None = None  # a drill's test-failover failure, kept while the VM is still cleaned up
    ir_first: ProgressSample | None = None  # reprotect: the first replication percentage seen, and when
    ir_last: ProgressSample | None = None  # reprotect: the latest percentage, and when it was first seen

    def saw_progress(self, pct: int, at: datetime, before: datetime | None) -> None:
        """Keep the samples the reprotect poll predicts from (``lib.domain.polling.end_window``). ``before``: the
        run's previous read of the item (its reading then was older); the reprotect we started bounds it too."""
        bounds = [t for t in (before, self.started_at.get("reprotect")) if t is not None and t < at]
        after = max(bounds, default=None)
        if self.ir_first is None:
            self.ir_first = self.ir_last = ProgressSample(at, pct, after)
        elif self.ir_last is None or pct != self.ir_last.pct:
            self.ir_last = ProgressSample(at, pct, after)

    @classmethod
    def new(cls, item: ProtectedItem, group: int) -> VmProgress:
        return cls(
            item=item.name,
            fabric=item.fabric,
            container=item.container,
            group=group,
            progress=item.monitoring_percentage,
            rpo_s=float(item.rpo_seconds) if item.rpo_seconds is not None else None,
            health=item.replication_health,
            from_region=item.primary_location,
            to_region=item.recovery_location,
            reverse=not item.in_original_direction,
        )

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    def pending(self, phase: str) -> bool:
        return self.active and phase not in self.done

    def mark_done(self, phase: str) -> None:
        if phase not in self.done:
            self.done.append(phase)

    def mark_failed(self, phase: str, code: str, message: str) -> None:
        self.status = FAILED
        self.error = VmError(phase, code, message)

    def reactivate(self) -> None:
        self.status, self.error = ACTIVE, None

    def seen_at(self, item: ProtectedItem) -> None:
        """Remember where the item lives now (reprotect moves it to the other fabric and container)."""
        self.item, self.fabric, self.container = item.name, item.fabric, item.container

    def to_json(self) -> Json:
        data: Json = {
            "item": self.item,
            "fabric": self.fabric,
            "container": self.container,
            "group": self.group,
            "status": self.status,
            "done": list(self.done),
            "jobs": dict(self.jobs),
            "error": self.error.to_json() if self.error else None,
            "progress": self.progress,
            "rp": self.rp.to_json() if self.rp else None,
            "rpo_s": self.rpo_s,
            "health": self.health,
            "from": self.from_region,
            "to": self.to_region,
            "reverse": self.reverse,
        }
        # Like layout 1, the time map appears once a phase started. Layout 1's "phase_end" (the phase's job end)
        # is read from the job record instead: the same time twice per VM and phase cost ~150 bytes a VM.
        if self.started_at:
            data["started_at"] = {k: v.isoformat() for k, v in self.started_at.items()}
        optional = {
            "item_id": self.item_id,
            "healthy_at": iso(self.healthy_at),
            "drill_error": self.drill_error.to_json() if self.drill_error else None,
            "ir": _samples_json(self.ir_first, self.ir_last),
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> VmProgress:
        status = data.get("status", ACTIVE)
        if status not in (ACTIVE, FAILED):
            raise ValueError(f"status must be 'active' or 'failed', got {status!r}")
        group = data.get("group", 0)
        progress = data.get("progress")
        return cls(
            item=str(data["item"]),
            fabric=str(data.get("fabric", "")),
            container=str(data.get("container", "")),
            group=group if isinstance(group, int) else 0,
            status=status,
            done=[str(p) for p in cast(list[object], data.get("done") or [])],
            jobs={str(k): str(v) for k, v in as_mapping(data.get("jobs")).items()},
            error=VmError.from_json(data.get("error")),
            progress=progress if isinstance(progress, int) and not isinstance(progress, bool) else None,
            rp=RecoveryPointUsed.from_json(data.get("rp")),
            rpo_s=opt_float(data.get("rpo_s")),
            health=opt_str(data.get("health")),
            from_region=str(data.get("from", "")),
            to_region=str(data.get("to", "")),
            reverse=bool(data.get("reverse", False)),
            started_at=times_by_phase(data.get("started_at")),
            item_id=opt_str(data.get("item_id")),
            healthy_at=parse_time(data.get("healthy_at")),
            drill_error=VmError.from_json(data.get("drill_error")),
            ir_first=_sample(as_mapping(data.get("ir")).get("first")),
            ir_last=_sample(as_mapping(data.get("ir")).get("last")),
        )


def _samples_json(first: ProgressSample | None, last: ProgressSample | None) -> Json | None:
    if first is None or last is None:
        return None
    return {"first": _sample_json(first), "last": _sample_json(last)}


def _sample_json(sample: ProgressSample) -> Json:
    data: Json = {"at": sample.at.isoformat(), "pct": sample.pct}
    if sample.after is not None:  # as seconds before ``at``, rounded up (earlier: still a bound); small per VM
        data["gap"] = math.ceil((sample.at - sample.after).total_seconds() * 10) / 10
    return data


def _sample(data: object) -> ProgressSample | None:
    fields = as_mapping(data)
    at, pct, gap = parse_time(fields.get("at")), fields.get("pct"), opt_float(fields.get("gap"))
    if at is None or not isinstance(pct, int) or isinstance(pct, bool):
        return None
    return ProgressSample(at, pct, at - timedelta(seconds=gap) if gap is not None else None)
