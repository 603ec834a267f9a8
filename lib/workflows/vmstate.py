"""Per-VM progress inside a run's JSON state, and the evidence kept for every ASR job.

Layout of ``ctx.state`` (JSON only, persisted by the engine with each transition)::

    {"vms": {vm: {"item", "fabric", "container", "group", "status": "active"|"failed",
                  "done": [phase, ...], "jobs": {phase: job}, "error": {...} | None,
                  "progress": int | None, "rp": {...} | None, "rpo_s": float | None}},
     "plan": {"name", "jobs": {phase: job}, "processed": [phase, ...]},
     "jobs": {job: {"phase", "target", "state", "start", "end", "errors"}}}

A phase listed in ``done`` is never run again for that VM, even on resume: that is what makes
"resume retries only what failed" safe.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lib.domain.asr import Job, ProtectedItem

ACTIVE = "active"
FAILED = "failed"


def vm_table(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    vms: dict[str, dict[str, Any]] = state.setdefault("vms", {})
    return vms


def init_vm(state: dict[str, Any], vm: str, item: ProtectedItem, group: int) -> None:
    vm_table(state)[vm] = {
        "item": item.name,
        "fabric": item.fabric,
        "container": item.container,
        "group": group,
        "status": ACTIVE,
        "done": [],
        "jobs": {},
        "error": None,
        "progress": item.monitoring_percentage,
        "rp": None,
        "rpo_s": float(item.rpo_seconds) if item.rpo_seconds is not None else None,
        "health": item.replication_health,
    }


def pending(state: dict[str, Any], phase: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """VMs still active that have not finished ``phase``, in group order then name order."""
    rows = sorted(vm_table(state).items(), key=lambda kv: (kv[1]["group"], kv[0].lower()))
    for vm, row in rows:
        if row["status"] == ACTIVE and phase not in row["done"]:
            yield vm, row


def mark_done(row: dict[str, Any], phase: str) -> None:
    if phase not in row["done"]:
        row["done"].append(phase)


def mark_failed(row: dict[str, Any], phase: str, code: str, message: str) -> None:
    row["status"] = FAILED
    row["error"] = {"phase": phase, "code": code, "message": message}


def record_job(state: dict[str, Any], job: Job, phase: str) -> dict[str, Any]:
    evidence = {
        "phase": phase,
        "scenario": job.scenario,
        "target": job.target_name,
        "state": job.state,
        "start": job.start_time.isoformat() if job.start_time else None,
        "end": job.end_time.isoformat() if job.end_time else None,
        "errors": [{"code": e.code, "message": e.message} for e in job.errors],
    }
    jobs: dict[str, Any] = state.setdefault("jobs", {})
    jobs[job.name] = evidence
    return evidence


def note_started_job(state: dict[str, Any], job_name: str, phase: str, target: str) -> None:
    jobs: dict[str, Any] = state.setdefault("jobs", {})
    jobs.setdefault(job_name, {"phase": phase, "target": target, "state": "InProgress", "errors": []})


def summary(state: dict[str, Any]) -> dict[str, Any]:
    rows = vm_table(state)
    failed = {vm: row["error"] for vm, row in rows.items() if row["status"] == FAILED}
    return {"vms": len(rows), "failed": failed, "active": len(rows) - len(failed)}
