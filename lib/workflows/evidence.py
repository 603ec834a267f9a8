"""The closing step: RTO/RPO per VM and overall, every ASR job, the outcome, and the locks released.

RTO = trigger → the failover job's end (the VM runs in the target region): the time from the trigger to the
moment we started the action (our clock) plus the job's own duration (ASR's clock). RPO = the age of
the recovery point used at the moment the failover started; with ``Latest`` ASR applies all pending data,
so the RPO is ASR's last reported replication lag for the VM (marked ``estimated``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from lib.domain.dr import request_from_json
from lib.engine.api import Done, Fail, Outcome, StepContext
from lib.workflows import vmstate as vs
from lib.workflows.deps import DrDeps
from lib.workflows.preflight import release_locks


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def _job_for(state: dict[str, Any], row: dict[str, Any], phase: str) -> dict[str, Any] | None:
    jobs: dict[str, Any] = state.get("jobs", {})
    name = row["jobs"].get(phase) or state.get("plan", {}).get("jobs", {}).get(phase)
    found = jobs.get(name) if name else None
    return found if isinstance(found, dict) else None


def vm_evidence(state: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    trigger = _time(state.get("trigger_at"))
    job = _job_for(state, row, "failover") or _job_for(state, row, "test_failover")
    out: dict[str, Any] = {"rto_s": None, "rpo_s": None, "rpo_estimated": False}
    if job is None:
        return out
    start, end = _time(job.get("start")), _time(job.get("end"))
    started = _time(row.get("started_at", {}).get("failover") or row.get("started_at", {}).get("test_failover"))
    if trigger and started and start and end:
        # Our clock up to the action, ASR's clock for the job: never subtract one clock from the other.
        out["rto_s"] = max(0.0, (started - trigger).total_seconds()) + max(0.0, (end - start).total_seconds())
    point = row.get("rp") or {}
    point_time = _time(point.get("time"))
    if point_time and start:
        out["rpo_s"] = max(0.0, (start - point_time).total_seconds())
    elif row.get("rpo_s") is not None:
        out["rpo_s"], out["rpo_estimated"] = row["rpo_s"], True
    return out


def report(ctx: StepContext, deps: DrDeps) -> Outcome:
    req = request_from_json(ctx.input)
    rows = vs.vm_table(ctx.state)
    per_vm: dict[str, Any] = {}
    for vm, row in rows.items():
        drill_error = row.get("drill_error")
        ok = row["status"] == vs.ACTIVE and not drill_error
        per_vm[vm] = {
            "outcome": "succeeded" if ok else "failed",
            "error": row["error"] or drill_error,
            "phases": row["done"],
            **vm_evidence(ctx.state, row),
        }
    rtos = [v["rto_s"] for v in per_vm.values() if v["rto_s"] is not None]
    rpos = [v["rpo_s"] for v in per_vm.values() if v["rpo_s"] is not None]
    evidence = {
        "vms": per_vm,
        "rto_s": max(rtos) if rtos else None,
        "rpo_s": max(rpos) if rpos else None,
        "jobs": ctx.state.get("jobs", {}),
    }
    if req.kind == "drill":
        evidence["validation"] = ctx.state.get("validation")
    ctx.state["evidence"] = evidence
    release_locks(ctx, deps)
    failed = sorted(vm for vm, v in per_vm.items() if v["outcome"] == "failed")
    deps.notifier.publish(
        "Autopilot.RunFinished",
        f"runs/{ctx.run_id}",
        {"runId": ctx.run_id, "kind": req.kind, "target": req.target_label, "failedVms": failed},
    )
    summary = {"rto_s": evidence["rto_s"], "rpo_s": evidence["rpo_s"], "failed": failed}
    if req.kind == "drill":
        validation = ctx.state.get("validation") or {}
        if failed or not validation.get("ok", False):
            why = validation.get("reason") or "; ".join(f"{vm}: {per_vm[vm]['error']}" for vm in failed)
            return Fail(f"drill failed ({why}); test resources were cleaned up", "DrillFailed", summary)
        return Done(f"drill passed for {len(per_vm)} VMs; test resources cleaned up", details=summary)
    if not failed:
        return Done(f"{req.kind} of {req.target_label} finished: every VM protected and healthy", details=summary)
    if len(failed) == len(per_vm):
        first = per_vm[failed[0]]["error"] or {}
        return Fail(
            f"{req.kind} failed for every VM: {first.get('message', 'see history')}",
            str(first.get("code", "")),
            summary,
        )
    return Done(
        f"{req.kind} finished for {len(per_vm) - len(failed)} of {len(per_vm)} VMs; failed: {', '.join(failed)}"
        " (resume retries only these)",
        partial=True,
        details=summary,
    )
