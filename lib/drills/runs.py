"""What our own runs tell the drill timer: which VMs active runs hold, each VM's latest finished drill, and the ASR
jobs of drill runs that are over (a test failover one of them left behind is ours to clean up)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from lib.domain.dr import request_from_json
from lib.domain.runs import FINISHED, RunRecord, RunStatus
from lib.ports.run_store import RunStore
from lib.workflows.runstate import RunState, StateLayoutError

__all__ = ["OwnDrill", "RunFacts", "read_run_facts"]

MAX_INDEX_ROWS = 2000  # index rows scanned for finished drills (newest first)
MAX_DRILL_RUNS = 200  # finished drill runs loaded at most


@dataclass(frozen=True)
class OwnDrill:
    run_id: str
    ended: datetime  # our clock
    passed: bool
    cleanup_end: datetime | None = None  # when its last cleanup job ended, ASR's clock


@dataclass
class RunFacts:
    busy: dict[str, str] = field(default_factory=dict)  # VM (lower case) -> the active run holding it
    last_drill: dict[str, OwnDrill] = field(default_factory=dict)  # VM -> its newest finished drill run
    ended_drill_jobs: dict[str, str] = field(default_factory=dict)  # ASR job -> the finished drill run that started it


def run_vms(run: RunRecord, plan_vms: Mapping[str, tuple[str, ...]]) -> tuple[str, ...]:
    """The VMs a run covers, lower case: those in its state, else those its request names (a plan's items)."""
    state = _state(run)
    if state.vms:
        return tuple(vm.lower() for vm in state.vms)
    request = request_from_json(run.input)
    if request.plan:
        return plan_vms.get(request.plan.lower(), ())
    return tuple(vm.lower() for vm in request.vms)


def _state(run: RunRecord) -> RunState:
    try:
        return RunState.load(run.state)
    except StateLayoutError:
        return RunState()


def _cleanup_end(state: RunState) -> datetime | None:
    ends = [job.end for job in state.jobs.values() if job.phase == "cleanup" and job.end is not None]
    return max(ends) if ends else None


def read_run_facts(store: RunStore, plan_vms: Mapping[str, tuple[str, ...]]) -> RunFacts:
    facts = RunFacts()
    for summary in store.index_active():
        loaded = store.load(summary.run_id)
        if loaded is None or not loaded.run.active:
            continue
        for vm in run_vms(loaded.run, plan_vms):
            facts.busy.setdefault(vm, loaded.run.run_id)
    _read_finished_drills(store, plan_vms, facts)
    return facts


def _read_finished_drills(store: RunStore, plan_vms: Mapping[str, tuple[str, ...]], facts: RunFacts) -> None:
    token: str | None = None
    scanned = loaded_runs = 0
    while scanned < MAX_INDEX_ROWS and loaded_runs < MAX_DRILL_RUNS:
        page = store.index_list(None, 500, token)
        scanned += max(1, len(page.items))
        for row in page.items:
            if row.workflow != "drill" or row.status not in FINISHED or loaded_runs >= MAX_DRILL_RUNS:
                continue
            loaded = store.load(row.run_id)
            loaded_runs += 1
            if loaded is None or loaded.run.active:
                continue
            run = loaded.run
            state = _state(run)
            own = OwnDrill(run.run_id, run.updated_at, run.status is RunStatus.SUCCEEDED, _cleanup_end(state))
            for vm in run_vms(run, plan_vms):
                current = facts.last_drill.get(vm)
                if current is None or current.ended < own.ended:
                    facts.last_drill[vm] = own
            facts.ended_drill_jobs.update(dict.fromkeys(state.jobs, run.run_id))
        token = page.continuation
        if token is None:
            break
