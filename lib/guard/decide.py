"""The guard's decision for one region: pure, from the policy, the signals, the time, the targets' facts and the
pending dwell or approval window. observe (the caller) -> ``decide`` -> act (the caller starts ``starts``).

The order of the checks is the order of the reasons an operator reads: is there a valid policy for the region,
does anything concern it, is it still down, is automatic action switched off, is there a quorum, has the dwell
passed, is it within the cap, which targets may start (active run, one run per incident, cooldown, drill gate),
and does it need an approval. A resolved region is ``recovered`` and never starts anything: no automatic failback.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from lib.guard.decision import Action, Decision, Outcome, Pending, PendingKind, TargetDecision, TargetFacts
from lib.guard.parse import PolicyErrors
from lib.guard.policy import Mode, OnApprovalTimeout, Policy, RegionPolicy, Target
from lib.guard.state import RegionState, region_state
from lib.signals import RegionHealthSignal

__all__ = ["decide"]


@dataclass(frozen=True)
class _Context:
    region: str
    policy: RegionPolicy
    state: RegionState
    now: datetime
    facts: Mapping[str, TargetFacts]
    pending: Pending | None
    base: Decision  # region, time, hash, sources and incidents filled in

    def decision(
        self,
        outcome: Outcome,
        reasons: Sequence[str],
        *,
        pending: Pending | None,
        targets: tuple[TargetDecision, ...] = (),
    ) -> Decision:
        return replace(self.base, outcome=outcome, reasons=tuple(reasons), pending=pending, targets=targets)


@dataclass(frozen=True)
class _Plan:
    targets: tuple[TargetDecision, ...]
    gated: tuple[str, ...]  # reasons some targets need an approval (drill gate)

    @property
    def startable(self) -> bool:
        return any(t.action is Action.START for t in self.targets)


def decide(
    policy: Policy | PolicyErrors,
    region: str,
    signals: Iterable[RegionHealthSignal],
    *,
    now: datetime,
    facts: Mapping[str, TargetFacts],
    pending: Pending | None = None,
) -> Decision:
    """What to do for ``region`` now. ``signals``: those seen for the region (deduplicated or not, in any
    order); ``facts``: per ``Target.key``; ``pending``: the dwell or approval window the last decision left."""
    if isinstance(policy, PolicyErrors):
        reasons = ["the policy is invalid, so nothing acts automatically", *policy.lines]
        return Decision(region, now, Outcome.SUPPRESSED, tuple(reasons), "", pending=pending)
    base = Decision(region, now, Outcome.IGNORED, (), policy.policy_hash)
    rules = policy.region(region)
    if rules is None:
        return replace(base, reasons=(f"the policy has no section for region {region}",))
    if rules.mode is Mode.OFF:
        return replace(base, reasons=(f"mode is off for {region}: signals are recorded, never acted on",))
    state = region_state(signals, region, rules.services, rules.include_maintenance)
    base = replace(
        base,
        sources=state.sources,
        incident=state.incident,
        incidents=tuple(i.incident for i in state.incidents),
        pending=pending,
    )
    ctx = _Context(region, rules, state, now, facts, pending, base)
    return _weigh(ctx, policy.kill_switch)


def _weigh(ctx: _Context, kill_switch: bool) -> Decision:
    state = ctx.state
    if not state.incidents:
        return ctx.decision(Outcome.IGNORED, state.left_out or [f"no signal concerns {ctx.region}"], pending=None)
    if not state.active:
        reasons = [f"region {ctx.region} recovered: every incident is resolved", _NO_FAILBACK]
        return ctx.decision(Outcome.RECOVERED, reasons, pending=None)
    if kill_switch:
        return ctx.decision(Outcome.SUPPRESSED, ["the kill switch is on: no automatic action"], pending=ctx.pending)
    reached = state.quorum_at(ctx.policy.min_sources)
    if reached is None:
        reason = f"{len(state.sources)} of {ctx.policy.min_sources} distinct sources needed report {ctx.region} down"
        return ctx.decision(Outcome.WAITING_QUORUM, [reason], pending=None)
    due = reached + timedelta(minutes=ctx.policy.dwell_minutes)
    if ctx.now < due:
        window = Pending(PendingKind.DWELL, str(state.incident), reached, due)
        reason = f"{ctx.region} must stay down until {due.isoformat()} (dwell {ctx.policy.dwell_minutes} min)"
        return ctx.decision(Outcome.WAITING_DWELL, [reason], pending=window)
    decision = _act(ctx)
    return _dry_run(decision) if ctx.policy.mode is Mode.DRY_RUN else decision


_NO_FAILBACK = "no automatic failback: failing back is an operator's call"


def _act(ctx: _Context) -> Decision:
    over = _over_cap(ctx)
    if over:
        return ctx.decision(Outcome.SUPPRESSED, [over], pending=None)
    plan = _plan(ctx)
    if not plan.startable:
        reasons = ["no target may start automatically", *(t.reason for t in plan.targets)]
        return ctx.decision(Outcome.SUPPRESSED, reasons, targets=plan.targets, pending=None)
    if ctx.policy.mode is Mode.APPROVAL or plan.gated:
        return _approval(ctx, plan)
    return _started(ctx, plan, ["the guardrails passed: failover starts"])


def _over_cap(ctx: _Context) -> str:
    total = 0
    for target in ctx.policy.targets:
        count = _facts(ctx, target).vm_count
        if count is None:
            return f"the VM count of {target.key} is unknown, so the cap of {ctx.policy.max_vms} cannot be checked"
        total += count
    if total > ctx.policy.max_vms:
        return f"{total} VMs across the region's targets exceed maxVms {ctx.policy.max_vms}: no automatic start"
    return ""


def _facts(ctx: _Context, target: Target) -> TargetFacts:
    known = ctx.facts.get(target.key)
    if known is None:
        return TargetFacts(vm_count=len(target.vms) if target.vms else None)
    if known.vm_count is None and target.vms:
        return replace(known, vm_count=len(target.vms))
    return known


def _plan(ctx: _Context) -> _Plan:
    decisions: list[TargetDecision] = []
    gated: list[str] = []
    for target in ctx.policy.targets:
        facts = _facts(ctx, target)
        why_not = _skip(ctx, target, facts)
        decisions.append(TargetDecision(target.key, Action.SKIP if why_not else Action.START, why_not or "may start"))
        stale = "" if why_not else _drill_gate(ctx, target, facts)
        if stale:
            gated.append(stale)
    return _Plan(tuple(decisions), tuple(gated))


def _skip(ctx: _Context, target: Target, facts: TargetFacts) -> str:
    if facts.active_run:
        return f"{target.key} already has an active run {facts.active_run}; it is not started twice"
    if ctx.state.incident in facts.started_incidents:
        return f"{target.key} already started a run for incident {ctx.state.incident}"
    last = facts.last_auto_failover
    cooldown = timedelta(minutes=ctx.policy.cooldown_minutes)
    if last is not None and ctx.now < last + cooldown:
        return f"{target.key} is in cooldown until {(last + cooldown).isoformat()} (last automatic failover)"
    return ""


def _drill_gate(ctx: _Context, target: Target, facts: TargetFacts) -> str:
    days = ctx.policy.require_drill_within_days
    if days is None:
        return ""
    last = facts.last_drill_ok
    if last is None:
        return f"{target.key} has no successful drill on record (requireDrillWithinDays {days}): approval needed"
    if ctx.now - last > timedelta(days=days):
        return f"{target.key}'s last successful drill ({last.isoformat()}) is older than {days} days: approval needed"
    return ""


def _approval(ctx: _Context, plan: _Plan) -> Decision:
    incident = str(ctx.state.incident)
    window = ctx.pending
    if window is None or window.kind is not PendingKind.APPROVAL or window.incident != incident:
        until = ctx.now + timedelta(minutes=ctx.policy.approval_timeout_minutes)
        window = Pending(PendingKind.APPROVAL, incident, ctx.now, until)
    elif window.approved:
        return _started(ctx, plan, ["an operator approved the failover", *plan.gated])
    elif ctx.now >= window.until:
        return _timed_out(ctx, plan, window)
    waiting = tuple(_awaiting(t) for t in plan.targets)
    reasons = [f"approval needed before {window.until.isoformat()}", *plan.gated]
    return ctx.decision(Outcome.AWAITING_APPROVAL, reasons, targets=waiting, pending=window)


def _timed_out(ctx: _Context, plan: _Plan, window: Pending) -> Decision:
    if ctx.policy.on_approval_timeout is OnApprovalTimeout.PROCEED:
        reason = f"nobody vetoed before {window.until.isoformat()} and onApprovalTimeout is proceed"
        return _started(ctx, plan, [reason])
    reason = f"the approval expired at {window.until.isoformat()} (onApprovalTimeout expire): nothing starts"
    skipped = tuple(TargetDecision(t.target, Action.SKIP, reason) for t in plan.targets)
    # The expired window is kept, so later signals of the same incident find it expired instead of asking again.
    return ctx.decision(Outcome.SUPPRESSED, [reason], targets=skipped, pending=window)


def _awaiting(target: TargetDecision) -> TargetDecision:
    if target.action is not Action.START:
        return target
    return TargetDecision(target.target, Action.AWAIT_APPROVAL, "starts when approved")


def _started(ctx: _Context, plan: _Plan, reasons: Sequence[str]) -> Decision:
    skipped = [t.reason for t in plan.targets if t.action is Action.SKIP]
    return ctx.decision(Outcome.STARTED, [*reasons, *skipped], targets=plan.targets, pending=None)


def _dry_run(decision: Decision) -> Decision:
    """What would have happened, recorded; nothing starts and no approval is asked for."""
    if decision.outcome not in (Outcome.STARTED, Outcome.AWAITING_APPROVAL, Outcome.SUPPRESSED):
        return decision
    would = tuple(
        TargetDecision(t.target, Action.WOULD_START, t.reason) if t.action is not Action.SKIP else t
        for t in decision.targets
    )
    reasons = (f"dry-run: would be {decision.outcome.value}", *decision.reasons)
    return replace(decision, outcome=Outcome.DRY_RUN, reasons=reasons, targets=would, pending=None)
