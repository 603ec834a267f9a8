"""A DR run's state, typed. The engine stores ``ctx.state`` as JSON: steps load a ``RunState`` from it,
work on the typed objects and write it back (``RunState.load`` / ``RunState.save``).

Layouts of the stored JSON:

- layout 1 (no ``version`` field): the dict-based state written before the state was typed;
- layout 2 (``"version": 2``): the same keys, written by ``RunState.to_json``.

Layout 1 reads as layout 2 (missing keys take their defaults). Anything else fails with
``StateLayoutError`` naming the layout, rather than with a ``KeyError`` deep inside a step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import cast

from lib.domain.asr import Job, JobError
from lib.workflows.json_fields import Json, as_mapping, bounded, iso, opt_float, opt_str, parse_time, times_by_phase
from lib.workflows.parked import Parked
from lib.workflows.vmstate import VmProgress

LAYOUT = 2
KNOWN_LAYOUTS = (1, 2)


class StateLayoutError(Exception):
    """A stored run state this code cannot read; ``layout`` is the stored version (1 when absent)."""

    def __init__(self, layout: object, reason: str) -> None:
        super().__init__(f"run state layout {layout!r} cannot be read: {reason}")
        self.layout = layout
        self.reason = reason


def _count(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


@dataclass
class JobRecord:
    """Evidence kept for one ASR job of the run (keyed by job name in ``RunState.jobs``)."""

    phase: str  # the run's phase that started or adopted it (failover, commit, reprotect, test_failover, ...)
    target: str  # the VM (or recovery plan) it acts on
    state: str  # ASR's job state when last read (InProgress until first polled)
    scenario: str | None = None  # ASR's scenarioName (None until first polled)
    start: datetime | None = None  # job start, ASR's clock
    end: datetime | None = None  # job end, ASR's clock (None while it runs)
    errors: list[JobError] = field(default_factory=list)  # ASR's errors on the job

    @classmethod
    def of(cls, job: Job, phase: str) -> JobRecord:
        return cls(phase, job.target_name, job.state, job.scenario, job.start_time, job.end_time, list(job.errors))

    def to_json(self) -> Json:
        return {
            "phase": self.phase,
            "scenario": self.scenario,
            "target": self.target,
            "state": self.state,
            "start": iso(self.start),
            "end": iso(self.end),
            "errors": [_error_json(e) for e in self.errors],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> JobRecord:
        errors = [as_mapping(e) for e in cast(list[object], data.get("errors") or [])]
        return cls(
            phase=str(data.get("phase", "")),
            target=str(data.get("target", "")),
            state=str(data.get("state", "")),
            scenario=opt_str(data.get("scenario")),
            start=parse_time(data.get("start")),
            end=parse_time(data.get("end")),
            errors=[
                JobError(str(e.get("code", "")), str(e.get("message", "")), str(e.get("level") or "Error"))
                for e in errors
            ],
        )


def _error_json(error: JobError) -> Json:
    # A warning (e.g. the source VM could not be shut down) keeps its level; an error reads as before (layout 1).
    data: Json = {"code": error.code, "message": bounded(error.message)}
    if error.level != "Error":
        data["level"] = error.level
    return data


@dataclass
class PlanProgress:
    """A recovery plan's part of the run: one plan-level ASR job per phase, then per-item handling."""

    name: str | None  # the recovery plan (None for a run on a VM list)
    jobs: dict[str, str] = field(default_factory=dict)  # phase -> the plan job's name
    processed: list[str] = field(default_factory=list)  # phases whose plan-level handling is over
    started_at: dict[str, datetime] = field(default_factory=dict)  # phase -> when we started its plan job

    def to_json(self) -> Json:
        data: Json = {"name": self.name, "jobs": dict(self.jobs), "processed": list(self.processed)}
        if self.started_at:
            data["started_at"] = {k: v.isoformat() for k, v in self.started_at.items()}
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> PlanProgress:
        return cls(
            name=opt_str(data.get("name")),
            jobs={str(k): str(v) for k, v in as_mapping(data.get("jobs")).items()},
            processed=[str(p) for p in cast(list[object], data.get("processed") or [])],
            started_at=times_by_phase(data.get("started_at")),
        )


@dataclass
class TestVmCheck:
    """A drill's check of one VM's test VM."""

    test_vm: str | None  # the test VM ASR created (None when the item is gone)
    ok: bool  # the test VM runs and the test-failover job succeeded with every task done
    failed_tasks: list[str]  # job tasks that did not succeed

    def to_json(self) -> Json:
        return {"test_vm": self.test_vm, "ok": self.ok, "failed_tasks": list(self.failed_tasks)}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TestVmCheck:
        tasks = cast(list[object], data.get("failed_tasks") or [])
        return cls(opt_str(data.get("test_vm")), bool(data.get("ok")), [str(t) for t in tasks])


@dataclass
class ProbeRecord:
    """The last answer of the drill's application probe."""

    url: str  # the probed URL (the request's probe_url)
    ok: bool  # the app answered with success
    detail: str  # e.g. "200 OK", "HTTP 503", "connection refused"

    def to_json(self) -> Json:
        return {"url": self.url, "ok": self.ok, "detail": self.detail}

    @classmethod
    def from_json(cls, data: object) -> ProbeRecord | None:
        if not isinstance(data, Mapping):
            return None
        return cls(str(data.get("url", "")), bool(data.get("ok")), str(data.get("detail", "")))


@dataclass
class Validation:
    """A drill's validation: per-VM test VM checks, the probe, and the verdict with its reason."""

    vms: dict[str, TestVmCheck] = field(default_factory=dict)  # VM -> its test VM check
    probe: ProbeRecord | None = None  # last probe answer (None when no probe URL or not probed yet)
    probe_attempts: int = 0  # probes made so far (the drill gives up after a few)
    ok: bool = False  # the drill's VMs and app passed
    reason: str = ""  # why not, one clause per problem

    def to_json(self) -> Json:
        data: Json = {"vms": {vm: c.to_json() for vm, c in self.vms.items()}, "probe": None, "ok": self.ok}
        data["probe"] = self.probe.to_json() if self.probe else None
        data["reason"] = self.reason
        if self.probe_attempts:
            data["probe_attempts"] = self.probe_attempts
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Validation:
        attempts = data.get("probe_attempts", 0)
        return cls(
            vms={str(vm): TestVmCheck.from_json(as_mapping(c)) for vm, c in as_mapping(data.get("vms")).items()},
            probe=ProbeRecord.from_json(data.get("probe")),
            probe_attempts=attempts if isinstance(attempts, int) else 0,
            ok=bool(data.get("ok", False)),
            reason=str(data.get("reason") or ""),
        )


@dataclass
class RunLink:
    """Another run this one started (a rollback's return trip): its id, why, its kind and who chose it."""

    run_id: str
    reason: str  # "rollback"
    kind: str  # the linked run's workflow (failback, or failover for the return of a failback)
    by: str  # who chose it

    def to_json(self) -> Json:
        return {"runId": self.run_id, "reason": self.reason, "kind": self.kind, "by": self.by}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RunLink:
        return cls(str(data.get("runId", "")), str(data.get("reason", "")), str(data.get("kind", "")),
                   str(data.get("by", "")))  # fmt: skip


@dataclass
class RunState:
    """Everything a DR run remembers between steps."""

    vms: dict[str, VmProgress] = field(default_factory=dict)  # VM name -> its progress (set by preflight)
    plan: PlanProgress | None = None  # the recovery plan's part (created by the first action phase)
    jobs: dict[str, JobRecord] = field(default_factory=dict)  # ASR job name -> evidence, for the report
    validation: Validation | None = None  # a drill's validation (None for failover and failback)
    evidence: Json | None = None  # the closing report: per-VM RTO/RPO and outcome, written once by ``report``
    locked_at: datetime | None = None  # last time the run (re)acquired its VM locks
    trigger_at: datetime | None = None  # what RTO counts from: the trigger's time, else the run's start
    transient_streak: int = 0  # ASR throttling/5xx answers in a row; lengthens the wait, reset by an answer
    reprotect_warned: bool = False  # the slow-reprotect event was published (once per run)
    health_poll_s: float | None = None  # the last reprotect poll interval chosen (``lib.domain.polling``)
    health_read_at: datetime | None = None  # the last reprotect listing: a reading seen after it changed since
    choice: str = ""  # an operator's answer to a partial failover: commit, retry or rollback
    chosen_by: str = ""  # who chose it
    linked_run: str = ""  # the rollback's return-trip run (on the run that chose rollback)
    parked: Parked | None = None  # reprotect waits for a region that is down (None: not parked)
    links: list[RunLink] = field(default_factory=list)  # runs this run started (``linked_run`` is the first)
    stop_requested: bool = False  # an operator cancelled while an ASR job ran: start nothing more, then stop
    cancelled_jobs: list[str] = field(default_factory=list)  # ASR jobs the run asked ASR to cancel (once each)
    budget_waits: int = 0  # polls the subscription's ARM read budget pushed later than the run wanted
    budget_wait_s: float = 0.0  # the time those polls were pushed back, in total

    def pending(self, phase: str) -> Iterator[tuple[str, VmProgress]]:
        """VMs still active that have not finished ``phase``, in group order then name order."""
        for vm, row in sorted(self.vms.items(), key=lambda kv: (kv[1].group, kv[0].lower())):
            if row.pending(phase):
                yield vm, row

    def has_pending(self, phase: str) -> bool:
        return any(True for _ in self.pending(phase))

    def record_job(self, job: Job, phase: str) -> JobRecord:
        record = self.jobs[job.name] = JobRecord.of(job, phase)
        return record

    def note_started_job(self, job_name: str, phase: str, target: str) -> None:
        self.jobs.setdefault(job_name, JobRecord(phase, target, "InProgress"))

    def plan_direction(self) -> str:
        """The one rule for a plan action's direction: against the plan's creation direction when its items
        replicate in reverse (they were failed over and reprotected), else along it. Preflight refuses a
        failover on reversed items and a failback on items in their original direction."""
        return "RecoveryToPrimary" if any(row.reverse for row in self.vms.values()) else "PrimaryToRecovery"

    # --- JSON ----------------------------------------------------------------------------------------------
    def to_json(self) -> Json:
        data: Json = {
            "version": LAYOUT,
            "vms": {vm: row.to_json() for vm, row in self.vms.items()},
            "jobs": {name: job.to_json() for name, job in self.jobs.items()},
        }
        optional: Json = {
            "plan": self.plan.to_json() if self.plan else None,
            "validation": self.validation.to_json() if self.validation else None,
            "evidence": self.evidence,
            "locked_at": iso(self.locked_at),
            "trigger_at": iso(self.trigger_at),
            "transient_streak": self.transient_streak or None,
            "reprotect_warned": self.reprotect_warned or None,
            "health_poll_s": self.health_poll_s,
            "health_read_at": iso(self.health_read_at),
            "choice": self.choice or None,
            "chosen_by": self.chosen_by or None,
            "linked_run": self.linked_run or None,
            "parked": self.parked.to_json() if self.parked else None,
            "links": [link.to_json() for link in self.links] or None,
            "stop_requested": self.stop_requested or None,
            "cancelled_jobs": list(self.cancelled_jobs) or None,
            "budget_waits": self.budget_waits or None,
            "budget_wait_s": round(self.budget_wait_s, 3) or None,
        }
        data.update({k: v for k, v in optional.items() if v is not None})
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> RunState:
        layout = data.get("version", 1)
        if layout not in KNOWN_LAYOUTS:
            raise StateLayoutError(layout, f"this code reads layouts {', '.join(map(str, KNOWN_LAYOUTS))}")
        try:
            return cls._read(data)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StateLayoutError(layout, f"{type(exc).__name__}: {exc}") from exc

    @classmethod
    def _read(cls, data: Mapping[str, object]) -> RunState:
        plan, validation, evidence = data.get("plan"), data.get("validation"), data.get("evidence")
        streak = data.get("transient_streak", 0)
        return cls(
            vms={str(vm): VmProgress.from_json(as_mapping(row)) for vm, row in as_mapping(data.get("vms")).items()},
            plan=PlanProgress.from_json(as_mapping(plan)) if isinstance(plan, Mapping) else None,
            jobs={str(n): JobRecord.from_json(as_mapping(j)) for n, j in as_mapping(data.get("jobs")).items()},
            validation=Validation.from_json(as_mapping(validation)) if isinstance(validation, Mapping) else None,
            evidence=dict(cast(Mapping[str, object], evidence)) if isinstance(evidence, Mapping) else None,
            locked_at=parse_time(data.get("locked_at")),
            trigger_at=parse_time(data.get("trigger_at")),
            transient_streak=streak if isinstance(streak, int) else 0,
            reprotect_warned=bool(data.get("reprotect_warned", False)),
            health_poll_s=opt_float(data.get("health_poll_s")),
            health_read_at=parse_time(data.get("health_read_at")),
            choice=str(data.get("choice") or ""),
            chosen_by=str(data.get("chosen_by") or ""),
            linked_run=str(data.get("linked_run") or ""),
            parked=Parked.from_json(data.get("parked")),
            links=[RunLink.from_json(as_mapping(link)) for link in cast(list[object], data.get("links") or [])],
            stop_requested=bool(data.get("stop_requested", False)),
            cancelled_jobs=[str(j) for j in cast(list[object], data.get("cancelled_jobs") or [])],
            budget_waits=_count(data.get("budget_waits")),
            budget_wait_s=opt_float(data.get("budget_wait_s")) or 0.0,
        )

    @classmethod
    def load(cls, stored: Mapping[str, object]) -> RunState:
        return cls.from_json(stored)

    def save(self, stored: dict[str, object]) -> None:
        """Write back into the engine's dict in place (the engine and ``on_resume`` keep that object)."""
        stored.clear()
        stored.update(self.to_json())
