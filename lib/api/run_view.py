"""The run as the API shows it, projected from what the engine stores (the run, its state JSON, its history).

This is the ONE module that reads the workflows' run state for the API (``state["vms"]``, ``["jobs"]``,
``["evidence"]``; layout in ``lib.workflows.vmstate``). Point it at typed state here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lib.domain.dr import DrRequest, request_from_json
from lib.domain.runs import HistoryRecord, RunRecord, RunSummary

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
        "parallelism": req.parallelism,
        "reason": req.reason,
    }
    if req.kind == "drill":
        out["testNetworkId"] = req.test_network_id
        out["probeUrl"] = req.probe_url
    return out


def _steps(run: RunRecord, history: Sequence[HistoryRecord]) -> list[dict[str, Any]]:
    """One entry per stay in a step (a step re-entered after a resume appears again)."""
    steps: list[dict[str, Any]] = []
    entered = run.created_at
    for row in history:
        if row.outcome == "operation" and row.event.value in ("create", "approve", "cancel", "resume"):
            entered = row.at
            continue
        if not steps or steps[-1]["step"] != row.step or steps[-1]["endedAt"] is not None:
            steps.append({"step": row.step, "startedAt": _iso(entered), "endedAt": None, "outcome": None,
                          "reason": "", "executions": 0})  # fmt: skip
        current = steps[-1]
        current["executions"] += 1
        current["outcome"], current["reason"] = row.outcome, row.reason
        if row.outcome in ("next", "done", "fail", "error"):
            current["endedAt"] = _iso(row.at)
        entered = row.at
    return steps


def _jobs(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    jobs = state.get("jobs") or {}
    return [
        {"id": name, "phase": job.get("phase"), "target": job.get("target"), "state": job.get("state"),
         "startTime": job.get("start"), "endTime": job.get("end"), "errors": job.get("errors") or []}
        for name, job in jobs.items()
    ]  # fmt: skip


def _vms(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = state.get("vms") or {}
    per_vm = (state.get("evidence") or {}).get("vms") or {}
    out = []
    for vm, row in sorted(rows.items(), key=lambda kv: (kv[1].get("group", 0), kv[0].lower())):
        done = list(row.get("done") or [])
        evidence = per_vm.get(vm) or {}
        out.append({
            "vm": vm, "group": row.get("group", 0), "phase": done[-1] if done else "pending", "phasesDone": done,
            "state": row.get("status"), "reprotectPercent": row.get("progress"), "health": row.get("health"),
            "error": row.get("error") or row.get("drill_error"),
            "rtoSeconds": evidence.get("rto_s"), "rpoSeconds": evidence.get("rpo_s"),
        })  # fmt: skip
    return out


def _evidence(state: Mapping[str, Any]) -> dict[str, Any] | None:
    evidence = state.get("evidence")
    if not evidence:
        return None
    return {"rtoSeconds": evidence.get("rto_s"), "rpoSeconds": evidence.get("rpo_s"),
            "validation": evidence.get("validation")}  # fmt: skip


def _requested_by(req: DrRequest, history: Sequence[HistoryRecord]) -> dict[str, Any]:
    actor = history[0].actor if history else ""
    return {"name": req.requested_by or actor, "objectId": req.requested_by_id or None}


def run_view(run: RunRecord, history: Sequence[HistoryRecord]) -> dict[str, Any]:
    req = request_from_json(run.input)
    state = run.state
    return {
        "runId": run.run_id, "kind": run.workflow, "status": run.status.value, "step": run.step,
        "reason": run.reason, "error": run.error or None, "errorCode": run.error_code or None,
        "approval": run.approval or None, "createdAt": _iso(run.created_at), "updatedAt": _iso(run.updated_at),
        "requestedBy": _requested_by(req, history), "why": req.reason, "request": request_view(req),
        "steps": _steps(run, history), "jobs": _jobs(state), "vms": _vms(state), "evidence": _evidence(state),
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
