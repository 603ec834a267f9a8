"""The drill timer's two ports answered by the autopilot: its decisions go to the decisions store (the same audit
trail as automatic failover, ``GET /api/decisions``), and "is this region in an incident" comes from the region-
health signals the autopilot recorded, weighed exactly as the guard weighs them."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from lib.guard import Policy, PolicyErrors, region_state
from lib.guard.decision import Action, Decision, Outcome, TargetDecision
from lib.ports.autopilot import DecisionRecord, DecisionStore, SignalStore
from lib.ports.clock import Clock
from lib.signals import DEFAULT_SERVICES

__all__ = ["DecisionDrillLog", "SignalIncidents"]

log = logging.getLogger("autopilot.drills")

# "not due yet" is the answer of almost every hourly tick: a log line, not an entry in the audit trail.
_QUIET = "not due yet"


@dataclass(frozen=True)
class DecisionDrillLog:
    decisions: DecisionStore
    clock: Clock

    def record(self, kind: str, subject: str, reason: str, details: Mapping[str, Any]) -> None:
        log.info("drill decision %s", json.dumps({"kind": kind, "subject": subject, "reason": reason,
                                                   "details": dict(details)}, sort_keys=True, default=str))  # fmt: skip
        if kind == "drill-skip" and reason.startswith(_QUIET):
            return
        outcome, action = _outcome(kind, reason)
        now = self.clock.now()
        target = str(details.get("target") or subject)
        run = details.get("runId")
        words = {"drill-start": f"drill {subject} starts", "drill-skip": f"drill {subject} does not start",
                 "test-failover-cleanup": f"test failover of {subject} cleaned up"}.get(kind, kind)  # fmt: skip
        for region in details.get("regions") or ["*"]:
            decision = Decision(
                region=str(region), at=now, outcome=outcome, reasons=(f"{words}: {reason}",),
                policy_hash=str(details.get("policyHash", "")), targets=(TargetDecision(target, action, reason),),
            )  # fmt: skip
            record_id = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:10]}"
            self.decisions.add(DecisionRecord(record_id, decision, (str(run),) if run else (), None))


def _outcome(kind: str, reason: str) -> tuple[Outcome, Action]:
    if kind in ("drill-start", "test-failover-cleanup") and "refused" not in reason:
        return Outcome.STARTED, Action.START
    # A due drill a guardrail held back (kill switch, a run on its VMs, an incident) is suppressed; anything else
    # (outside its window, a target the vault does not have, a refused cleanup) was not for acting on now.
    return (Outcome.SUPPRESSED if reason.startswith("due, but") else Outcome.IGNORED), Action.SKIP


@dataclass(frozen=True)
class SignalIncidents:
    signals: SignalStore
    policy: Policy | PolicyErrors

    def active(self, region: str) -> bool:
        rules = self.policy.region(region) if isinstance(self.policy, Policy) else None
        services = rules.services if rules else DEFAULT_SERVICES
        maintenance = rules.include_maintenance if rules else False
        return bool(region_state(self.signals.list(region), region, services, maintenance).active)
