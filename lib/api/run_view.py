"""The run as the API shows it, projected from what the engine stores (the run, its state JSON, its history).

This is the ONE module that reads the workflows' run state for the API, through the typed ``RunState``
(``lib.workflows.runstate``), so a stored layout the code cannot read fails here with the layout named.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lib.domain.dr import DrRequest, request_from_json
from lib.domain.runs import HistoryRecord, RunRecord, RunSummary
from lib.workflows.partial import placement
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress

__all__ = ["history_view", "request_view", "run_view", "started_view", "summary_view"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def request_view(req: DrRequest) -> dict[str, Any]:
    """The stored request in the public body's words (what was asked)."""
    target: dict[str, Any] = (
        {"recoveryPlan": req.plan} if req.plan else {"vms": list(req.vms), "groups": [list(g) for g in req.groups]}
    )
    out: dict[str, Any] = {
        "target": target,
        "recoveryPoint": req.recovery_point,
        "shutdownSource": req.shutdown_source,
        "autoCommit": req.auto_commit,
        "autoReprotect": req.auto_reprotect,
        "commitMode": req.commit_mode,
        "parallelism": req.parallelism,
        "reason": req.reason,
    }
    if req.kind == "drill":
        out["testNetworkId"] = req.test_network_id
        out["probeUrl"] = req.probe_url
    if req.approval is not None:  # set by the autopilot: the run waits for an operator before any ASR action
        out["approval"] = {"timeoutSeconds": req.approval.timeout_s, "onTimeout": req.approval.on_timeout}
    if req.trigger is not None:  # the autopilot decision that started the run
        out["trigger"] = dict(req.trigger)
    return out


_ENTERING = ("create", "approve", "cancel", "cancel-request", "resume")  # operations that (re)start a step


def _steps(run: RunRecord, history: Sequence[HistoryRecord]) -> list[dict[str, Any]]:
    """One entry per stay in a step (a step re-entered after a resume appears again)."""
    steps: list[dict[str, Any]] = []
    entered = run.created_at
    for row in history:
        if row.outcome == "operation" and row.event.value in _ENTERING:
            entered = row.at
            continue
        if not steps or steps[-1]["step"] != row.step or steps[-1]["endedAt"] is not None:
            steps.append({"step": row.step, "startedAt": _iso(entered), "endedAt": None, "outcome": None,
                          "reason": "", "executions": 0})  # fmt: skip
        current = steps[-1]
        current["executions"] += 1
        current["outcome"], current["reason"] = row.outcome, row.reason
        if row.outcome in ("next", "done", "fail", "error", "cancelled"):
            current["endedAt"] = _iso(row.at)
        entered = row.at
    return steps


def _jobs(state: RunState) -> list[dict[str, Any]]:
    return [
        {"id": name, "phase": job.phase, "target": job.target, "state": job.state,
         "startTime": _iso(job.start), "endTime": _iso(job.end),
         "errors": [{"code": e.code, "message": e.message, "level": e.level} for e in job.errors]}
        for name, job in state.jobs.items()
    ]  # fmt: skip


def _vm_error(row: VmProgress) -> dict[str, Any] | None:
    error = row.error or row.drill_error
    return error.to_json() if error else None


def _vms(state: RunState, kind: str) -> list[dict[str, Any]]:
    moves = kind in ("failover", "failback")  # where a VM is means something for runs that move VMs
    per_vm = _mapping((state.evidence or {}).get("vms"))
    out = []
    for vm, row in sorted(state.vms.items(), key=lambda kv: (kv[1].group, kv[0].lower())):
        evidence = _mapping(per_vm.get(vm))
        out.append({
            "vm": vm, "group": row.group, "phase": row.done[-1] if row.done else "pending",
            "phasesDone": list(row.done), "state": row.status, "reprotectPercent": row.progress,
            "health": row.health, "error": _vm_error(row), "where": placement(row) if moves else None,
            "rtoSeconds": evidence.get("rto_s"), "rpoSeconds": evidence.get("rpo_s"),
        })  # fmt: skip
    return out


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _evidence(state: RunState) -> dict[str, Any] | None:
    if not state.evidence:
        return None
    validation = state.validation.to_json() if state.validation else state.evidence.get("validation")
    return {"rtoSeconds": state.evidence.get("rto_s"), "rpoSeconds": state.evidence.get("rpo_s"),
            "validation": validation}  # fmt: skip


def _linked_from(run: RunRecord) -> dict[str, Any] | None:
    link = run.input.get("linkedFrom")
    return dict(link) if isinstance(link, Mapping) else None


def _cancel(state: RunState) -> dict[str, Any] | None:
    if not (state.stop_requested or state.cancelled_jobs):
        return None
    return {"requested": state.stop_requested, "cancelledJobs": list(state.cancelled_jobs)}


def _requested_by(req: DrRequest, history: Sequence[HistoryRecord]) -> dict[str, Any]:
    actor = history[0].actor if history else ""
    return {"name": req.requested_by or actor, "objectId": req.requested_by_id or None}


def run_view(
    run: RunRecord, history: Sequence[HistoryRecord], lease: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The run for people and clients; ``lease`` is who holds (or held) the run's lease, and until when."""
    req = request_from_json(run.input)
    state = RunState.load(run.state)
    return {
        "choices": list(run.choices), "decidedBy": state.chosen_by or None, "choice": state.choice or None,
        "linkedRun": state.linked_run or None, "lease": dict(lease) if lease else None,
        "rollbackRun": state.linked_run or None, "links": [link.to_json() for link in state.links],
        "linkedFrom": _linked_from(run), "cancel": _cancel(state),
        "runId": run.run_id, "kind": run.workflow, "status": run.status.value, "step": run.step,
        "reason": run.reason, "error": run.error or None, "errorCode": run.error_code or None,
        "approval": run.approval or None, "createdAt": _iso(run.created_at), "updatedAt": _iso(run.updated_at),
        "requestedBy": _requested_by(req, history), "why": req.reason, "request": request_view(req),
        "steps": _steps(run, history), "jobs": _jobs(state), "vms": _vms(state, run.workflow),
        "evidence": _evidence(state),
        # waiting-for-region: which region, which VMs, since when, attempts, the next attempt (None: not parked)
        "parked": state.parked.to_json() if state.parked else None,
    }  # fmt: skip


def history_view(history: Sequence[HistoryRecord]) -> list[dict[str, Any]]:
    return [
        {"seq": h.seq, "at": _iso(h.at), "event": h.event.value,
         "from": h.from_status.value if h.from_status else None, "to": h.to_status.value, "step": h.step,
         "version": h.version, "outcome": h.outcome, "reason": h.reason, "details": dict(h.details),
         "actor": h.actor, "attempt": h.attempt, "error": h.error or None, "code": h.code or None}
        for h in history
    ]  # fmt: skip


def summary_view(s: RunSummary) -> dict[str, Any]:
    return {"runId": s.run_id, "kind": s.workflow, "status": s.status.value, "createdAt": _iso(s.created_at),
            "updatedAt": _iso(s.updated_at), "step": s.step, "reason": s.reason}  # fmt: skip


def started_view(run: RunRecord) -> dict[str, Any]:
    return {"runId": run.run_id, "status": run.status.value, "kind": run.workflow}
