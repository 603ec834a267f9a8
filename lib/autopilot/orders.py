"""What the autopilot asks to start, and how a starter says no: the port between the service and the engine."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lib.domain.dr import ApprovalGate
from lib.domain.errors import AutopilotError
from lib.guard import FailoverOptions, Target

__all__ = ["ACTOR", "StartOrder", "StartRefused", "Started", "Starter", "auto_key"]

ACTOR = "autopilot"  # requested_by of the runs the autopilot starts


def auto_key(region: str, incident: str, target: str) -> str:
    """The idempotency key of the one run an incident may start for a target in a region."""
    return f"auto:{region}:{incident}:{target}"


@dataclass(frozen=True)
class StartOrder:
    region: str
    incident: str
    target: Target
    decision_id: str
    policy_hash: str
    options: FailoverOptions
    approval: ApprovalGate | None = None  # the run pauses for an operator before any ASR action

    @property
    def key(self) -> str:
        return auto_key(self.region, self.incident, self.target.key)


@dataclass(frozen=True)
class Started:
    run_id: str
    created: bool  # False: the idempotency key (same incident, same target) had started it already


class StartRefused(AutopilotError):
    """The target cannot start now (another run holds its VMs, a VM or plan is unknown): recorded, not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


Starter = Callable[[StartOrder], Started]
