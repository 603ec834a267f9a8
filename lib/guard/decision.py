"""What the guard decides for a region, and the facts it decides on: plain typed values with to_json/from_json.

The caller stores ``Decision`` (the audit trail), makes ``Decision.pending`` durable (a dwell or an approval
window, whose ``until`` is the timer to set), and starts a run for each of ``Decision.starts`` and nothing else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from lib.domain.errors import ValidationError

__all__ = ["Action", "Decision", "Outcome", "Pending", "PendingKind", "TargetDecision", "TargetFacts"]


class Outcome(StrEnum):
    STARTED = "started"  # failover runs start now for Decision.starts
    AWAITING_APPROVAL = "awaiting-approval"  # an operator approves, or the approval timeout decides
    DRY_RUN = "dry-run"  # the policy's mode is dry-run: the decision says what would have happened
    WAITING_QUORUM = "waiting-quorum"  # fewer distinct sources than minSources report the region down
    WAITING_DWELL = "waiting-dwell"  # the region must stay down until the dwell passes
    SUPPRESSED = "suppressed"  # a guardrail stopped it (kill switch, cap, cooldown, expired approval, bad policy)
    IGNORED = "ignored"  # nothing in the policy acts on this (mode off, no policy for the region, filtered out)
    RECOVERED = "recovered"  # every incident of the region is resolved; failing back stays an operator's call


class Action(StrEnum):
    START = "start"
    AWAIT_APPROVAL = "await-approval"
    WOULD_START = "would-start"  # dry-run: what would have started
    SKIP = "skip"


class PendingKind(StrEnum):
    DWELL = "dwell"
    APPROVAL = "approval"


@dataclass(frozen=True)
class Pending:
    """A dwell or an approval window the caller keeps durable between decisions, and feeds back in."""

    kind: PendingKind
    incident: str
    since: datetime
    until: datetime  # the timer: decide again at this time
    approved: bool = False  # set by the caller when an operator approves (approval only)

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "incident": self.incident,
            "since": self.since.isoformat(),
            "until": self.until.isoformat(),
            "approved": self.approved,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Pending:
        try:
            return cls(
                kind=PendingKind(data["kind"]),
                incident=str(data["incident"]),
                since=datetime.fromisoformat(str(data["since"])),
                until=datetime.fromisoformat(str(data["until"])),
                approved=data.get("approved") is True,
            )
        except (KeyError, ValueError) as exc:
            raise ValidationError("pending", f"is not a stored pending window ({exc})") from None


@dataclass(frozen=True)
class TargetFacts:
    """What the caller knows about one target (keyed by ``Target.key``) when it asks for a decision.

    ``vm_count`` None: unknown (a recovery plan not read yet); a VM-list target counts its own VMs.
    ``started_incidents``: incidents that already started a run for this target (one run per incident).
    """

    vm_count: int | None = None
    active_run: str | None = None
    last_auto_failover: datetime | None = None
    last_drill_ok: datetime | None = None
    started_incidents: frozenset[str] = frozenset()


@dataclass(frozen=True)
class TargetDecision:
    target: str  # Target.key
    action: Action
    reason: str

    def to_json(self) -> dict[str, Any]:
        return {"target": self.target, "action": self.action.value, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetDecision:
        return cls(str(data["target"]), Action(data["action"]), str(data.get("reason", "")))


@dataclass(frozen=True)
class Decision:
    region: str
    at: datetime
    outcome: Outcome
    reasons: tuple[str, ...]
    policy_hash: str
    sources: tuple[str, ...] = ()  # the distinct sources counted as active for the region
    incident: str | None = None  # the incident the decision is about (the earliest still active)
    incidents: tuple[str, ...] = ()  # every incident weighed (active or resolved)
    targets: tuple[TargetDecision, ...] = ()
    pending: Pending | None = None  # the window to keep after this decision; None: drop any

    @property
    def starts(self) -> tuple[str, ...]:
        """The targets to start a failover run for now: only ever from a ``started`` decision."""
        if self.outcome is not Outcome.STARTED:
            return ()
        return tuple(t.target for t in self.targets if t.action is Action.START)

    @property
    def timer(self) -> datetime | None:
        """When to decide again (the dwell's end, the approval timeout), or None."""
        if self.pending is None or self.outcome not in (Outcome.WAITING_DWELL, Outcome.AWAITING_APPROVAL):
            return None
        return self.pending.until

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "at": self.at.isoformat(),
            "outcome": self.outcome.value,
            "reasons": list(self.reasons),
            "policyHash": self.policy_hash,
            "sources": list(self.sources),
            "incident": self.incident,
            "incidents": list(self.incidents),
            "targets": [t.to_json() for t in self.targets],
            "pending": self.pending.to_json() if self.pending else None,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        pending = data.get("pending")
        incident = data.get("incident")
        return cls(
            region=str(data["region"]),
            at=datetime.fromisoformat(str(data["at"])),
            outcome=Outcome(data["outcome"]),
            reasons=tuple(str(r) for r in data.get("reasons", ())),
            policy_hash=str(data.get("policyHash", "")),
            sources=tuple(str(s) for s in data.get("sources", ())),
            incident=str(incident) if incident is not None else None,
            incidents=tuple(str(i) for i in data.get("incidents", ())),
            targets=tuple(TargetDecision.from_json(t) for t in data.get("targets", ())),
            pending=Pending.from_json(pending) if pending else None,
        )
