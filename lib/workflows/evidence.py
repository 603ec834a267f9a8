"""The closing step: RTO/RPO per VM and overall, every ASR job, the outcome, and the locks released.

RTO = trigger → the failover job's end (the VM runs in the target region): the time from the trigger to the
moment we started the action (our clock) plus the job's own duration (ASR's clock). RPO = the age of
the recovery point used at the moment the failover started; with ``Latest`` ASR applies all pending data,
so the RPO is ASR's last reported replication lag for the VM (marked ``estimated``).
"""

from __future__ import annotations

from dataclasses import dataclass

from lib.domain.dr import DrRequest
from lib.domain.events import DRILL_COMPLETED
from lib.engine import Done, Fail, Outcome, StepContext
from lib.workflows.deps import DrDeps
from lib.workflows.json_fields import Json
from lib.workflows.preflight import release_locks
from lib.workflows.runstate import JobRecord, RunState
from lib.workflows.steps import request
from lib.workflows.vmstate import VmError, VmProgress

ACTION_PHASES = ("failover", "test_failover")  # the action whose job ends the outage for the VM


@dataclass(frozen=True)
class VmEvidence:
    """RTO and RPO of one VM, in seconds (None when the run has no job or time to measure them from)."""

    rto_s: float | None = None  # trigger -> failover job end: our clock to the action, then ASR's job duration
    rpo_s: float | None = None  # the recovery point's age at the job start (or ASR's lag, see rpo_estimated)
    rpo_estimated: bool = False  # the RPO is ASR's replication lag at preflight, not a recovery point's age

    def to_json(self) -> Json:
        return {"rto_s": self.rto_s, "rpo_s": self.rpo_s, "rpo_estimated": self.rpo_estimated}


def _job_for(state: RunState, row: VmProgress, phase: str) -> JobRecord | None:
    plan_jobs = state.plan.jobs if state.plan else {}
    name = row.jobs.get(phase) or plan_jobs.get(phase)
    return state.jobs.get(name) if name else None


def vm_evidence(state: RunState, row: VmProgress) -> VmEvidence:
    """Pure: RTO/RPO of one VM from the run's recorded times and jobs."""
    phase = next((p for p in ACTION_PHASES if _job_for(state, row, p) is not None), None)
    job = _job_for(state, row, phase) if phase else None
    if phase is None or job is None:
        return VmEvidence()
    start, end = job.start, job.end
    started = row.started_at.get("failover") or row.started_at.get("test_failover")
    rto = None
    if state.trigger_at and started and start and end:
        # Our clock up to the action, ASR's clock for the job: never subtract one clock from the other.
        rto = max(0.0, (started - state.trigger_at).total_seconds()) + max(0.0, (end - start).total_seconds())
    if row.rp and row.rp.time and start:
        return VmEvidence(rto, max(0.0, (start - row.rp.time).total_seconds()))
    if row.rpo_s is not None:
        return VmEvidence(rto, row.rpo_s, rpo_estimated=True)
    return VmEvidence(rto)


@dataclass(frozen=True)
class VmOutcome:
    """One VM's line of the report."""

    ok: bool  # the VM is still active (and, in a drill, its test failover did not fail)
    error: VmError | None  # why it failed (the drill's test-failover error when cleanup went on)
    phases: list[str]  # phases it finished
    measured: VmEvidence  # its RTO and RPO

    def to_json(self) -> Json:
        return {
            "outcome": "succeeded" if self.ok else "failed",
            "error": self.error.to_json() if self.error else None,
            "phases": list(self.phases),
            **self.measured.to_json(),
        }


def _outcomes(state: RunState) -> dict[str, VmOutcome]:
    return {
        vm: VmOutcome(
            ok=row.active and not row.drill_error,
            error=row.error or row.drill_error,
            phases=list(row.done),
            measured=vm_evidence(state, row),
        )
        for vm, row in state.vms.items()
    }


def _worst(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) if known else None


def report(ctx: StepContext, deps: DrDeps, state: RunState) -> Outcome:
    req = request(ctx)
    per_vm = _outcomes(state)
    rto = _worst([o.measured.rto_s for o in per_vm.values()])
    rpo = _worst([o.measured.rpo_s for o in per_vm.values()])
    evidence: Json = {
        "vms": {vm: o.to_json() for vm, o in per_vm.items()},
        "rto_s": rto,
        "rpo_s": rpo,
    }  # the jobs are the run's own ``state.jobs``: a copy here would double the largest part of the state
    if req.kind == "drill":
        evidence["validation"] = state.validation.to_json() if state.validation else None
    state.evidence = evidence
    release_locks(ctx, deps, state)
    failed = sorted(vm for vm, o in per_vm.items() if not o.ok)
    if req.kind == "drill":
        validation = state.validation
        ctx.emit(
            DRILL_COMPLETED,
            {"target": req.target_label, "passed": not failed and validation is not None and validation.ok,
             "rtoSeconds": rto, "rpoSeconds": rpo, "failedVms": failed,
             "validation": validation.to_json() if validation else None},
        )  # fmt: skip
    summary: Json = {"rto_s": rto, "rpo_s": rpo, "failed": failed}
    if req.kind == "drill":
        return _drill_verdict(state, per_vm, failed, summary)
    return _run_verdict(req, per_vm, failed, summary)


def _drill_verdict(state: RunState, per_vm: dict[str, VmOutcome], failed: list[str], summary: Json) -> Outcome:
    validation = state.validation
    if failed or validation is None or not validation.ok:
        why = (validation.reason if validation else "") or "; ".join(
            f"{vm}: {_error_json(per_vm[vm].error)}" for vm in failed
        )
        return Fail(f"drill failed ({why}); test resources were cleaned up", "DrillFailed", summary)
    return Done(f"drill passed for {len(per_vm)} VMs; test resources cleaned up", details=summary)


def _error_json(error: VmError | None) -> Json | None:
    return error.to_json() if error else None


def _run_verdict(req: DrRequest, per_vm: dict[str, VmOutcome], failed: list[str], summary: Json) -> Outcome:
    if not failed:
        where = (
            "every VM protected and healthy"
            if req.auto_reprotect
            else "every VM failed over and committed, NOT protected (autoReprotect was off: reprotect them yourself)"
        )
        return Done(f"{req.kind} of {req.target_label} finished: {where}", details=summary)
    if len(failed) == len(per_vm):
        first = per_vm[failed[0]].error
        return Fail(
            f"{req.kind} failed for every VM: {first.message if first else 'see history'}",
            first.code if first else "",
            summary,
        )
    return Done(
        f"{req.kind} finished for {len(per_vm) - len(failed)} of {len(per_vm)} VMs; failed: {', '.join(failed)}"
        " (resume retries only these)",
        partial=True,
        details=summary,
    )
