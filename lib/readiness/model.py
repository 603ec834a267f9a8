"""Readiness results as typed values: a state per check, the worst of them per target, with to_json/from_json."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

__all__ = ["Category", "Check", "State", "TargetReadiness", "worst"]


class State(StrEnum):
    READY = "Ready"
    WARNING = "Warning"
    ACTION_REQUIRED = "ActionRequired"


_RANK = {State.READY: 0, State.WARNING: 1, State.ACTION_REQUIRED: 2}


class Category(StrEnum):
    """Where a check shows up: the portal's tiles and configuration-issue classes, or our own rows."""

    REPLICATION = "replication"
    RPO = "rpo"
    FAILOVER = "failover"
    FAILOVER_TEST = "failover-test"
    MISSING_CONFIGURATIONS = "missing-configurations"
    MISSING_RESOURCES = "missing-resources"
    SUBSCRIPTION_QUOTA = "subscription-quota"
    SOFTWARE_UPDATES = "software-updates"
    INFRASTRUCTURE = "infrastructure"
    APP_REGION = "app-region"
    POLICY = "policy"


def worst(states: Iterable[State]) -> State:
    return max(states, key=_RANK.__getitem__, default=State.READY)


@dataclass(frozen=True)
class Check:
    name: str
    state: State
    reason: str
    category: Category
    items: tuple[str, ...] = ()  # the VMs (or settings) behind a Warning / ActionRequired

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state.value, "reason": self.reason,
                "category": self.category.value, "items": list(self.items)}  # fmt: skip

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Check:
        return cls(str(data["name"]), State(data["state"]), str(data["reason"]), Category(data["category"]),
                   tuple(str(i) for i in data.get("items") or ()))  # fmt: skip


@dataclass(frozen=True)
class TargetReadiness:
    """One target (``plan:<name>`` or ``vms:<names>``, as ``lib.guard.Target.key``) at one evaluation."""

    target: str
    region: str  # the protected (primary) region; "" when unknown
    checks: tuple[Check, ...]
    evaluated_at: datetime

    @property
    def state(self) -> State:
        return worst(c.state for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        """What is not Ready, worst first."""
        bad = sorted((c for c in self.checks if c.state is not State.READY), key=lambda c: -_RANK[c.state])
        return [f"{c.name}: {c.reason}" for c in bad]

    def to_json(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "region": self.region,
            "state": self.state.value,
            "evaluatedAt": self.evaluated_at.isoformat(),
            "reasons": self.reasons,
            "checks": [c.to_json() for c in self.checks],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetReadiness:
        return cls(
            target=str(data["target"]),
            region=str(data.get("region") or ""),
            checks=tuple(Check.from_json(c) for c in data.get("checks") or ()),
            evaluated_at=datetime.fromisoformat(str(data["evaluatedAt"])),
        )
