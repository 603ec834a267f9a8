"""A phase applied per VM: observe every item with one listing, decide per VM (a pure function), act.

Observation before action is what keeps a redelivered or retried step from issuing an ASR action twice:
an item already in the phase's end state is marked done, and an item whose ``currentScenario`` shows the
phase's job running gets that job adopted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import Enum

from lib.domain.asr import Job, ProtectedItem
from lib.domain.errors import OperationNotAllowed, ResourceNotFound, SiteRecoveryError, Throttled
from lib.domain.errors import TransientSiteRecoveryError as Transient
from lib.engine import Next, Outcome
from lib.ports.site_recovery import by_vm_name
from lib.workflows.action import ActionPhase, PhaseRun, job_failed_message
from lib.workflows.pacing import job_wait_s
from lib.workflows.parking import WAITING_FOR_REGION, held, park, parked_wait, refused, region_refusal, unpark
from lib.workflows.steps import poll_wait
from lib.workflows.stopping import cancel_if_offered, leave_untouched, stopping
from lib.workflows.vmstate import RecoveryPointUsed, VmProgress

CLOCK_SKEW = timedelta(minutes=15)  # our clock vs ASR's, when asking ASR for jobs since the run began
REPROTECT = "reprotect"  # the phase a region outage can hold up (its target region must be up)
SUSPENDED = "Suspended"  # an ASR job waiting for input: it is not finished, the run keeps polling and says so
PARTIAL = "PartiallySucceeded"


class Move(Enum):
    """What to do with one VM in this call of a phase."""

    MISSING = "missing"  # the item left the vault: the VM fails
    ALREADY_DONE = "already-done"  # ASR shows the phase's end state, with no job of ours: done
    POLL = "poll"  # we recorded a job: read it
    ADOPT = "adopt"  # ASR runs the phase's job we did not record (a worker died after starting it)
    HOLD = "hold"  # not its turn: earlier group unfinished, no free slot, or ASR throttles
    REFUSE = "refuse"  # ASR does not allow the action now: the VM fails with the reason
    START = "start"  # start the action


@dataclass(frozen=True)
class Gate:
    """Whether a VM may start now: boot-order group, parallelism and throttling."""

    group: int | None  # the one group allowed to start (None: any, for unordered phases)
    running: int  # jobs of this phase running now
    parallelism: int  # the request's bound on running jobs
    throttled: bool  # ASR throttled a start in this call: start nothing more
    stopping: bool = False  # a cancel was asked for: start nothing more at all

    def admits(self, group: int) -> bool:
        free = self.running < self.parallelism and not self.throttled and not self.stopping
        return self.group in (None, group) and free


def decide(phase: ActionPhase, item: ProtectedItem | None, row: VmProgress, gate: Gate) -> Move:
    """Pure: the move for one VM from what ASR shows and what the run recorded."""
    if item is None:
        return Move.MISSING
    recorded = row.jobs.get(phase.name)
    if recorded is not None:
        return Move.POLL
    if phase.completed(item, row):
        return Move.ALREADY_DONE
    if item.current_scenario == phase.scenario and item.current_job_name:
        return Move.ADOPT
    if not gate.admits(row.group):
        return Move.HOLD
    if not item.allows(phase.operation):
        return Move.REFUSE
    return Move.START


@dataclass
class SharedReads:
    """One call's observation of ASR, shared by the phases a pipelined call handles: ONE vault-wide item
    listing and ONE jobs listing from ``since`` (the earliest job any of them still has to read)."""

    items: dict[str, ProtectedItem]
    since: datetime
    jobs: dict[str, Job] | None = None  # listed on first need


@dataclass
class Tally:
    """What this call did so far: it feeds the gate and the step's outcome."""

    group: int | None  # the boot-order group allowed to start (None: any)
    running: int = 0  # jobs of this phase running after the VMs handled so far
    started: list[str] = field(default_factory=list)  # VMs whose action this call started
    finished: dict[str, str] = field(default_factory=dict)  # VM -> how its phase ended in this call
    throttled: SiteRecoveryError | None = None  # ASR throttled a start: the rest wait for the next call
    recent: dict[str, Job] | None = None  # newest job per VM of the phase's scenario, listed at most once
    suspended: list[str] = field(default_factory=list)  # VMs whose job is Suspended (waits for input in ASR)
    parked: int = 0  # VMs whose reprotect ASR refused in this call because their target region is down
    stopping: bool = False  # a cancel was asked for (``lib.workflows.stopping``)
    listed: dict[str, Job] | None = None  # the run's jobs from ONE filtered listing per call (``_read_job``)
    next_s: float | None = None  # the earliest next read any running job asks for (``lib.domain.polling``)
    shared: SharedReads | None = None  # set when other phases of this call share its listings

    def wants(self, delay_s: float) -> None:
        self.next_s = delay_s if self.next_s is None else min(self.next_s, delay_s)

    def gate(self, parallelism: int) -> Gate:
        return Gate(self.group, self.running, parallelism, self.throttled is not None, self.stopping)


def latest_jobs(run: PhaseRun) -> dict[str, Job]:
    """The newest job of the phase's scenario per target VM (preflight saw each VM before it, so it is ours)."""
    latest: dict[str, Job] = {}
    # Only jobs since the run began (less a margin for clock skew): the vault's whole history can be thousands.
    for job in run.deps.asr.list_jobs(since=run.ctx.run_started_at - CLOCK_SKEW):
        if job.scenario != run.phase.scenario or job.start_time is None:
            continue
        key = job.target_name.lower()
        current = latest.get(key)
        if current is None or (current.start_time is not None and job.start_time > current.start_time):
            latest[key] = job
    return latest


# A job we started but never read has no ASR start time yet: list from a little before our own record of it,
# so that a few seconds between our clock and ASR's cannot hide it (a job still missing is read with a GET).
CLOCK_SLACK = timedelta(minutes=10)


def listing_since(run: PhaseRun) -> datetime:
    """The earliest start of this phase's jobs the run still has to read (ASR's time where a read gave it)."""
    name, starts = run.phase.name, []
    for _vm, row in run.state.pending(name):
        job_name = row.jobs.get(name)
        if job_name is None:
            continue
        record = run.state.jobs.get(job_name)
        if record is not None and record.start is not None:
            starts.append(record.start)
        else:
            starts.append(row.started_at.get(name, run.ctx.now) - CLOCK_SLACK)
    return min(starts, default=run.ctx.now - CLOCK_SLACK)


def _read_job(run: PhaseRun, job_name: str, tally: Tally) -> Job:
    """A running job of the run, from one ``startTime``-filtered listing per call instead of a GET per job."""
    if tally.shared is not None:
        if tally.shared.jobs is None:
            tally.shared.jobs = {job.name: job for job in run.deps.asr.list_jobs(since=tally.shared.since)}
        tally.listed = tally.shared.jobs
    if tally.listed is None:
        tally.listed = {job.name: job for job in run.deps.asr.list_jobs(since=listing_since(run))}
    job = tally.listed.get(job_name)
    return job if job is not None else run.deps.asr.get_job(job_name)


def _already_done(run: PhaseRun, vm: str, row: VmProgress, tally: Tally) -> None:
    # A drill VM whose test failover failed had nothing to clean up: its newest cleanup job is older.
    if not row.drill_error:
        tally.recent = tally.recent if tally.recent is not None else latest_jobs(run)
        job = tally.recent.get(vm.lower())
        if job is not None:  # the phase was done before we recorded its job (a worker died after acting)
            row.jobs[run.phase.name] = job.name
            run.state.record_job(job, run.phase.name)
            row.started_at[run.phase.name] = run.ctx.now
    row.mark_done(run.phase.name)
    tally.finished[vm] = "already done"


def _poll(run: PhaseRun, vm: str, row: VmProgress, tally: Tally) -> None:
    name = run.phase.name
    job = _read_job(run, row.jobs[name], tally)
    run.state.record_job(job, name)
    if not job.finished:
        cancel_if_offered(run, job)
        tally.running += 1
        started = row.started_at.get(name, run.ctx.now)
        timing = run.req.timing
        tally.wants(
            job_wait_s(run.state, name, run.phase.scenario, job, started=started, now=run.ctx.now, timing=timing)
        )
        if job.state == SUSPENDED:
            tally.suspended.append(vm)
        return
    refusal = region_refusal(job) if name == REPROTECT else None
    done = job.succeeded or (job.state == PARTIAL and _reached_end(run, vm, row))
    if done:
        row.mark_done(name)
        row.item_id = job.new_item_id or row.item_id
        _note_point(row, vm, job)
        unpark(run.ctx, run.deps, run.state, vm)
        warnings = [f"{e.code} {e.message}" for e in job.errors if e.level.lower() == "warning"]
        if warnings:  # e.g. the source VM could not be shut down: ASR went on without it (kept in the jobs too)
            tally.finished[vm] = f"{job.state} with warnings: {'; '.join(warnings)}"
            return
    elif refusal is not None:
        park(run.ctx, run.state, vm, row, refusal)
        tally.parked += 1
    else:
        row.mark_failed(name, *job_failed_message(job))
    tally.finished[vm] = job.state


def _note_point(row: VmProgress, vm: str, job: Job) -> None:
    """A failover at ``Latest`` chose no point: ASR's job says which it used, so the RPO is measured, not estimated."""
    point = job.point_of(vm) if row.rp is None and job.scenario == "UnplannedFailover" else None
    if point is not None:
        row.rp = RecoveryPointUsed(point[0], "Latest", point[1])


def _reached_end(run: PhaseRun, vm: str, row: VmProgress) -> bool:
    """A partially succeeded job on one VM counts by what ASR shows now: done if the item reached the phase's end
    (read afresh: the listing this call started with may predate the job's end)."""
    item = by_vm_name(run.deps.asr.list_protected_items()).get(vm.lower())
    return item is not None and run.phase.completed(item, row)


def _adopt(run: PhaseRun, vm: str, row: VmProgress, item: ProtectedItem, tally: Tally) -> None:
    assert item.current_job_name  # decide() adopts only a named running job
    row.jobs[run.phase.name] = item.current_job_name  # adopt: never start it twice
    row.started_at[run.phase.name] = run.ctx.now
    _poll(run, vm, row, tally)


def _refuse(run: PhaseRun, vm: str, row: VmProgress, item: ProtectedItem, tally: Tally) -> None:
    op = run.phase.operation.value
    row.mark_failed(
        run.phase.name,
        "OperationNotAllowed",
        f"ASR does not allow {op} on {vm} now: state {item.protection_state}"
        f" ({item.protection_state_description}), allowed {sorted(item.allowed_operations)}",
    )
    tally.finished[vm] = "refused"


def _start(run: PhaseRun, vm: str, row: VmProgress, item: ProtectedItem, tally: Tally) -> None:
    name = run.phase.name
    try:
        job_name = run.phase.start_item(run.deps, item, row, run.req)
    except (Throttled, Transient) as exc:
        tally.throttled = exc  # keep what already started; try the rest on the next call
        return
    except (OperationNotAllowed, ResourceNotFound) as exc:
        row.mark_failed(name, exc.code, exc.message)
        tally.finished[vm] = "refused"
        return
    row.jobs[name] = job_name
    row.started_at[name] = run.ctx.now
    run.state.note_started_job(job_name, name, vm)
    tally.started.append(vm)
    tally.running += 1
    now = run.ctx.now
    tally.wants(job_wait_s(run.state, name, run.phase.scenario, None, started=now, now=now, timing=run.req.timing))


def _act(run: PhaseRun, tally: Tally, *, move: Move, vm: str, row: VmProgress, item: ProtectedItem | None) -> None:
    if item is None or move is Move.MISSING:
        row.mark_failed(run.phase.name, "ItemNotFound", f"VM {vm} is no longer a protected item in the vault")
    elif move is Move.ALREADY_DONE:
        _already_done(run, vm, row, tally)
    elif move is Move.POLL:
        _poll(run, vm, row, tally)
    elif move is Move.ADOPT:
        _adopt(run, vm, row, item, tally)
    elif move is Move.REFUSE:
        _refuse(run, vm, row, item, tally)
    elif move is Move.START:
        _start(run, vm, row, item, tally)
    elif move is Move.HOLD and tally.stopping:
        leave_untouched(run, vm, row)
        tally.finished[vm] = "not started (cancelled)"


def item_phase(run: PhaseRun, todo: list[tuple[str, VmProgress]], shared: SharedReads | None = None) -> Outcome:
    """``shared``: listings this call already made for another phase (``lib.workflows.pipeline``)."""
    items = shared.items if shared is not None else by_vm_name(run.deps.asr.list_protected_items())
    # Groups run in order: a VM may start only when every VM of earlier groups finished this phase.
    group = min(row.group for _vm, row in todo) if run.phase.ordered else None
    tally = Tally(group=group, stopping=stopping(run), shared=shared)
    for vm, row in todo:
        if held(run.ctx, run.state, vm):
            continue  # parked: waits for its region until the next attempt is due
        item = items.get(vm.lower())
        if item is not None:
            row.seen_at(item)
        move = decide(run.phase, item, row, tally.gate(run.req.parallelism))
        _act(run, tally, move=move, vm=vm, row=row, item=item)
    if tally.finished:
        tally.wants(0.0)  # a VM finished: the next boot-order group (or a freed slot) starts on the next call
    if tally.parked:
        refused(run.ctx, run.deps, run.state, run.req.timing)
    if run.state.has_pending(run.phase.name):
        return _keep_going(run, tally)
    return Next(f"{run.phase.name}: finished for every VM", _details(tally))


def _details(tally: Tally) -> dict[str, object]:
    return {"started": tally.started, "finished": tally.finished, "running": tally.running}


def _keep_going(run: PhaseRun, tally: Tally) -> Outcome:
    """The phase's wait: the parked wait when only VMs waiting for a region are left, else the poll wait."""
    parked = run.state.parked
    if parked is not None and tally.running == 0 and all(vm in parked.vms for vm, _ in run.state.pending(REPROTECT)):
        return parked_wait(run.ctx, run.state)
    reason = f"{run.phase.name}: {tally.running} running, {len(tally.started)} started"
    if tally.suspended:
        reason += f"; ASR job suspended (waiting for input in ASR) on {', '.join(tally.suspended)}"
    if parked is not None:
        reason += f"; {', '.join(parked.vms)} {WAITING_FOR_REGION} {parked.region}"
    delay = tally.next_s
    if tally.throttled is not None:
        reason += f"; ASR throttled ({tally.throttled.code}), the rest start later"
        delay = None  # the throttled starts retry after the request's poll cap, not at a dense pace
    return poll_wait(run.req, reason, _details(tally), delay)
