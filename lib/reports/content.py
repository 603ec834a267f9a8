"""The report of a finished run, as JSON: what was asked and by whom, what started it, every step and ASR job with
times, per-VM RTO/RPO and recovery point, a drill's validation, and where each VM ended up.

Built from the run's typed state (``RunState``) and its history, through the same projection the API's run view
uses, so the report and ``GET /api/runs/{id}`` never disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from lib.api.run_view import run_view
from lib.domain.runs import HistoryRecord, RunRecord
from lib.workflows.partial import placement
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress

__all__ = ["REPORT_VERSION", "build_report", "report_name"]

REPORT_VERSION = 1
_OPERATIONS = ("approve", "cancel", "resume", "decide", "continue")


def report_name(run_id: str, created_at: datetime, ext: str) -> str:
    """Where a run's report lives in the container: ``runs/{yyyy}/{mm}/{runId}.{ext}`` (the month it started)."""
    return f"runs/{created_at:%Y}/{created_at:%m}/{run_id}.{ext}"


def _trigger(run: RunRecord) -> dict[str, Any] | None:
    """The policy decision that started the run, when one did (the run input's ``trigger``)."""
    trigger = run.input.get("trigger")
    return dict(trigger) if isinstance(trigger, Mapping) else None


def _final_state(kind: str, row: VmProgress) -> dict[str, Any]:
    if kind == "drill":
        words = "test failover cleaned up" if "cleanup" in row.done else "test failover not cleaned up"
        return {"where": words, "region": row.from_region or None}
    moved = "failover" in row.done
    return {"where": placement(row), "region": (row.to_region if moved else row.from_region) or None}


def _vm_extras(kind: str, state: RunState, recovery_point: str) -> dict[str, dict[str, Any]]:
    evidence = state.evidence or {}
    per_vm = evidence.get("vms") if isinstance(evidence.get("vms"), Mapping) else {}
    out: dict[str, dict[str, Any]] = {}
    for vm, row in state.vms.items():
        measured = per_vm.get(vm) if isinstance(per_vm, Mapping) else None
        point = row.rp.to_json() if row.rp else {"id": None, "kind": recovery_point, "time": None}
        out[vm] = {
            "recoveryPoint": point,
            "rpoEstimated": bool(measured.get("rpo_estimated")) if isinstance(measured, Mapping) else False,
            "outcome": measured.get("outcome") if isinstance(measured, Mapping) else None,
            "from": row.from_region or None,
            "to": row.to_region or None,
            "final": _final_state(kind, row),
        }
    return out


def _operations(history: Sequence[HistoryRecord]) -> list[dict[str, Any]]:
    return [
        {"at": h.at.isoformat(), "event": h.event.value, "by": h.actor, "reason": h.reason}
        for h in history
        if h.outcome == "operation" and h.event.value in _OPERATIONS
    ]


def build_report(run: RunRecord, history: Sequence[HistoryRecord], generated_at: datetime) -> dict[str, Any]:
    """Pure: the report of ``run`` (finished) from its record and history."""
    view = run_view(run, history)
    state = RunState.load(run.state)
    extras = _vm_extras(run.workflow, state, str(view["request"].get("recoveryPoint") or ""))
    vms = [{**vm, **extras.get(vm["vm"], {})} for vm in view["vms"]]
    evidence = view["evidence"] or {}
    finished_at = history[-1].at if history else run.updated_at
    return {
        "reportVersion": REPORT_VERSION,
        "generatedAt": generated_at.isoformat(),
        "runId": run.run_id,
        "kind": run.workflow,
        "status": run.status.value,
        "reason": run.reason,
        "error": view["error"],
        "errorCode": view["errorCode"],
        "createdAt": view["createdAt"],
        "finishedAt": finished_at.isoformat(),
        "durationSeconds": max(0.0, (finished_at - run.created_at).total_seconds()),
        "requestedBy": view["requestedBy"],
        "why": view["why"],
        "request": view["request"],
        "trigger": _trigger(run),
        "operations": _operations(history),
        "steps": view["steps"],
        "jobs": view["jobs"],
        "vms": vms,
        "rtoSeconds": evidence.get("rtoSeconds"),
        "rpoSeconds": evidence.get("rpoSeconds"),
        "validation": evidence.get("validation") if run.workflow == "drill" else None,
        "linkedRun": view["linkedRun"],
    }
