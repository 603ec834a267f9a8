"""Recovery overhead: what the orchestrator adds to ASR's own time, in ASR seconds, against a reference poller.

Two scenarios on the HTTPS emulator: a recovery plan (two boot groups) and a VM list, each failover → commit →
reprotect → protected and healthy again. The app is the real thing: the engine on Azurite tables, the
production ASR adapter, the ARM read budget. Time is simulated (``bench/_simtime.py``): the emulator and the
app run at real speed and jump together over idle waits, so the app's timers are scaled exactly like ASR's
clock (1:1) and its working time counts at its real length.

Per phase, the **notice lag** is the time from ASR's change (a job's end; for ``healthy``, the item's
``VmHealth`` event when initial replication ended) to the app's transition that acted on it. The reference
poller does what the published scripts do: start the same actions, then a fixed 30 s ``Get-Job`` loop with
one GET per job, and one GET per VM every 30 s until each is protected again.

``overhead_share`` is the orchestrator's added time over ASR's: the run's time (start → last VM noticed
healthy) minus the time ASR was busy on the run (the union of its jobs and reverse replications), divided by
the latter. ``arm_reads_per_vm_hour``: ARM GETs of the run (counted at the adapter, retries included) per VM
per hour of run time. Prints one JSON line.

``vm_list_commit_modes`` runs the VM list with the request's ``commitMode`` ``together`` (the default, the figures
above) and ``per-vm`` side by side, also with one VM's failover 30 minutes slower (``one-slow``): ``protected_mean_s``
is the mean time from the start to each VM's ASR healthy event, ``healthy_mean_s`` to the app noticing it.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from bench._simtime import JumpClock, QueueSleeper
from devhost.azurite import running_azurite
from devhost.local import local_settings
from emulator.launcher import EmulatorInfo, running_emulator
from lib.adapters.arm_read_meter import ArmReadMeter
from lib.adapters.asr_client import ClientOptions
from lib.adapters.asr_sdk import SdkSiteRecovery, build_site_recovery
from lib.adapters.http_probe import UrllibProbe
from lib.adapters.log_notifier import LogNotifier
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.adapters.storage_clients import StorageClients
from lib.adapters.table_locks import TableItemLocks
from lib.adapters.table_read_budget import TableReadBudget
from lib.adapters.table_run_store import TableRunStore
from lib.bootstrap import workflows
from lib.domain.asr import Job
from lib.domain.dr import parse_request
from lib.domain.read_budget import ReadPace
from lib.engine import Driver, Engine
from lib.ports.site_recovery import by_vm_name
from lib.workflows.deps import DrDeps

VMS = [f"app-{i}" for i in range(6)]
PHASES = ("failover", "commit", "reprotect", "healthy")
JOB_PHASES = PHASES[:3]
REFERENCE_POLL_S = 30.0
TIMING = {"reprotectWarnSeconds": 6 * 3600, "reprotectMaxSeconds": 8 * 3600}
RETRIES = ClientOptions(retry_total=3, retry_backoff_factor=0.05)
Lags = dict[str, list[float]]


def _topology() -> dict[str, Any]:
    return {
        "subscriptionId": "6f4e2a10-0000-4000-8000-00000000b003",
        "resourceGroup": "rg-bench",
        "vault": "vault-bench",
        "primaryRegion": "eastus",
        "recoveryRegion": "westus",
        "vms": [{"name": vm, "diskGiB": 32 * (1 + i % 3)} for i, vm in enumerate(VMS)],
        "recoveryPlans": [{"name": "app", "groups": [VMS[:2], VMS[2:]]}],
    }


def _t(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _healthy_events(asr: SdkSiteRecovery, emu: EmulatorInfo) -> dict[str, datetime]:
    events = asr.client.replication_events.list(emu.resource_group, emu.vault)
    found: dict[str, datetime] = {}
    for e in events:
        p = e.properties
        if p is not None and p.event_type == "VmHealth" and p.affected_object_friendly_name and p.time_of_occurrence:
            found[p.affected_object_friendly_name] = p.time_of_occurrence
    return found


Span = tuple[datetime, datetime]


def _asr_busy_s(spans: list[Span]) -> float:
    """How long ASR was working on the run: the union of its jobs and reverse replications (reprotect job
    end → healthy). The rest of the run's time is the orchestrator's: gaps when nothing of the run ran."""
    busy, end = 0.0, None
    for s, e in sorted(spans):
        if end is None or s > end:
            busy += (e - s).total_seconds()
            end = e
        elif e > end:
            busy += (e - end).total_seconds()
            end = e
    return busy


def _our_lags(state: dict[str, Any], history: Any, healthy_at: dict[str, datetime]) -> tuple[Lags, dict[str, datetime]]:
    """Per phase: ASR's change (job end; VmHealth event) → the app's transition that acted on it."""
    lags: Lags = {p: [] for p in PHASES}
    noticed_healthy: dict[str, datetime] = {}
    for h in history:
        details: dict[str, Any] = dict(h.details)
        if h.step in JOB_PHASES:
            # A pipelined call (``lib.workflows.pipeline``) reports the later phases' VMs under "pipelined".
            finished = {h.step: details.get("finished") or {}}
            finished.update({p: d.get("finished") or {} for p, d in (details.get("pipelined") or {}).items()})
            for phase, vms in finished.items():
                for vm in vms:
                    record = state["jobs"].get(state["vms"][vm]["jobs"].get(phase, ""), {})
                    if record.get("end"):
                        lags[phase].append((h.at - _t(record["end"])).total_seconds())
            job = details.get("job")
            if isinstance(job, dict) and job.get("end") and h.outcome == "next":  # a plan job, noticed
                lags[h.step].append((h.at - _t(job["end"])).total_seconds())
        for vm, seen in _watched(h.step, details).items():
            if seen == "healthy" and vm not in noticed_healthy:
                noticed_healthy[vm] = h.at
                lags["healthy"].append((h.at - healthy_at[vm]).total_seconds())
    return lags, noticed_healthy


def _watched(step: str, details: dict[str, Any]) -> dict[str, Any]:
    """What a transition saw of the VMs' health: ``await_healthy``'s, or (a per-VM run, commitMode per-vm) the
    watch inside a phase step's call, under "pipelined"."""
    if step in JOB_PHASES:
        return dict(((details.get("pipelined") or {}).get("healthy") or {}).get("progress") or {})
    return dict(details.get("progress") or {}) if step == "await_healthy" else {}


# --- the app -------------------------------------------------------------------------------------------------
def _app(emu: EmulatorInfo, conn: str, body: dict[str, Any]) -> dict[str, Any]:
    name = "b" + uuid.uuid4().hex[:12]
    clock = JumpClock(emu)
    meter = ArmReadMeter()
    settings = local_settings(emu, conn)
    asr = build_site_recovery(settings, options=RETRIES, observer=meter)
    clients = StorageClients.from_connection_string(conn)
    store = TableRunStore.from_clients(clients, f"{name}runs", f"{name}idx")
    store.create_tables()

    def holder_active(run_id: str) -> bool:
        loaded = store.load(run_id)
        return loaded is not None and loaded.run.active

    locks = TableItemLocks(clients.table(f"{name}locks"), holder_active, clock.now)
    locks.ensure_table()
    budget = TableReadBudget(clients.table(f"{name}locks"), emu.subscription_id, ReadPace())
    deps = DrDeps(asr, locks, LogNotifier(), UrllibProbe(), budget=budget, read_meter=meter.reads)
    queue = MemoryWorkQueue("work", clock)
    engine = Engine(
        registry=workflows(), deps=deps, store=store, queue=queue, poison_queue=MemoryWorkQueue("p", clock), clock=clock
    )
    began, reads0 = clock.now(), meter.reads()
    run_id = engine.start("failover", parse_request("failover", body).to_json(), actor="bench").run_id
    run = Driver(engine, sleep=QueueSleeper(clock, queue)).run_until_finished(run_id, deadline_s=1800)
    assert run.status.value == "succeeded", run.error
    reads = meter.reads() - reads0
    history = engine.get(run_id).history
    assert isinstance(asr, SdkSiteRecovery)
    healthy_at = _healthy_events(asr, emu)
    state: dict[str, Any] = dict(run.state)
    lags, noticed_healthy = _our_lags(state, history, healthy_at)
    spans = [(_t(r["start"]), _t(r["end"])) for r in state["jobs"].values() if r.get("start") and r.get("end")]
    for vm, row in state["vms"].items():
        spans.append((_t(state["jobs"][row["jobs"]["reprotect"]]["end"]), healthy_at[vm]))
    total = (max(noticed_healthy.values()) - began).total_seconds()
    # How long each VM was away from protection, on average (ASR's healthy event; the app's notice of it): what
    # per-VM commit (commitMode per-vm) shortens.
    extra = {
        "budget_waits": state.get("budget_waits", 0),
        "protected_mean_s": round(sum((healthy_at[vm] - began).total_seconds() for vm in VMS) / len(VMS), 1),
        "healthy_mean_s": round(sum((t - began).total_seconds() for t in noticed_healthy.values()) / len(VMS), 1),
    }
    return _figures(lags, reads, total, _asr_busy_s(spans), **extra)


# --- the reference poller ------------------------------------------------------------------------------------
class _Reference:
    """A fixed 30 s poll loop, one GET per job and one GET per VM, as the published runbooks do."""

    def __init__(self, emu: EmulatorInfo) -> None:
        self.clock = JumpClock(emu)
        self.meter = ArmReadMeter()
        self.asr = build_site_recovery(local_settings(emu), options=RETRIES, observer=self.meter)
        self.lags: Lags = {p: [] for p in PHASES}
        self.spans: list[Span] = []

    def wait_jobs(self, phase: str, names: list[str]) -> list[Job]:
        pending, done = list(names), []
        while pending:
            self.clock.jump(REFERENCE_POLL_S)
            for name in list(pending):
                job = self.asr.get_job(name)
                if job.finished:
                    assert job.succeeded and job.start_time and job.end_time, job
                    self.lags[phase].append((self.clock.now() - job.end_time).total_seconds())
                    self.spans.append((job.start_time, job.end_time))
                    pending.remove(name)
                    done.append(job)
        return done

    def healthy(self, emu: EmulatorInfo, reprotected: list[Job]) -> dict[str, datetime]:
        items = by_vm_name(self.asr.list_protected_items())  # once, to learn each item's new container
        refs = {vm: items[vm.lower()].ref for vm in VMS}
        pending, seen = set(VMS), {}
        while pending:
            self.clock.jump(REFERENCE_POLL_S)
            for vm in sorted(pending):
                item = self.asr.get_protected_item(refs[vm])
                if item.healthy_and_protected and not item.in_original_direction:
                    seen[vm] = self.clock.now()
                    pending.discard(vm)
        assert isinstance(self.asr, SdkSiteRecovery)
        healthy_at = _healthy_events(self.asr, emu)
        self.lags["healthy"] = [(seen[vm] - healthy_at[vm]).total_seconds() for vm in VMS]
        for job in reprotected:
            assert job.end_time is not None
            self.spans.append(
                (job.end_time, healthy_at[next(vm for vm in VMS if vm.lower() == job.target_name.lower())])
            )
        return seen


def _reference(emu: EmulatorInfo, plan: bool) -> dict[str, Any]:
    ref = _Reference(emu)
    asr = ref.asr
    began, reads0 = ref.clock.now(), ref.meter.reads()
    items = by_vm_name(asr.list_protected_items())
    if plan:
        job = asr.plan_unplanned_failover(
            "app", direction="PrimaryToRecovery", shutdown_source=True, recovery_point_type="Latest"
        )
        ref.wait_jobs("failover", [job])
        ref.wait_jobs("commit", [asr.plan_commit("app")])
    else:
        started = [asr.unplanned_failover(items[vm].ref, shutdown_source=True, recovery_point_id=None) for vm in VMS]
        ref.wait_jobs("failover", started)
        ref.wait_jobs("commit", [asr.commit(asr.get_protected_item(items[vm].ref).ref) for vm in VMS])
    switched = [asr.switch_protection(asr.get_protected_item(items[vm].ref)) for vm in VMS]
    reprotected = ref.wait_jobs("reprotect", switched)
    seen = ref.healthy(emu, reprotected)
    total = (max(seen.values()) - began).total_seconds()
    return _figures(ref.lags, ref.meter.reads() - reads0, total, _asr_busy_s(ref.spans))


# --- figures -------------------------------------------------------------------------------------------------
def _pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))  # nearest rank
    return round(ordered[rank], 2)


def _figures(lags: Lags, reads: int, total_s: float, asr_s: float, **extra: Any) -> dict[str, Any]:
    return {
        "lags": lags,
        "reads": reads,
        "total_s": round(total_s, 1),
        "asr_busy_s": round(asr_s, 1),
        "added_s": round(total_s - asr_s, 1),
        "vm_hours": len(VMS) * total_s / 3600,
        **extra,
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    lags: Lags = {p: [x for r in runs for x in r["lags"][p]] for p in PHASES}
    added = sum(r["added_s"] for r in runs)
    asr = sum(r["asr_busy_s"] for r in runs)
    return {
        "notice_lag_p50_s": {p: _pct(lags[p], 0.5) for p in PHASES},
        "notice_lag_p99_s": {p: _pct(lags[p], 0.99) for p in PHASES},
        "samples": {p: len(lags[p]) for p in PHASES},
        "overhead_share": round(added / asr, 4),
        "arm_reads_per_vm_hour": round(sum(r["reads"] for r in runs) / sum(r["vm_hours"] for r in runs), 1),
        "scenarios": {r["scenario"]: {k: r[k] for k in ("total_s", "asr_busy_s", "added_s", "reads")} for r in runs},
    }


def _scenario(name: str, fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    return {"scenario": name, **fn()}


def main() -> dict[str, Any]:
    ours: list[dict[str, Any]] = []
    reference: list[dict[str, Any]] = []
    bodies = {
        "plan": {"target": {"recoveryPlan": "app"}, "recoveryPoint": "Latest", "timing": TIMING},
        "vm-list": {"target": {"vms": VMS}, "recoveryPoint": "Latest", "timing": TIMING},
    }
    with running_azurite() as azurite:
        for name, body in bodies.items():
            with running_emulator(_topology(), time_scale=1.0) as emu:
                ours.append(_scenario(name, lambda: _app(emu, azurite.connection_string, body)))  # noqa: B023  # called at once
            with running_emulator(_topology(), time_scale=1.0) as emu:
                reference.append(_scenario(name, lambda: _reference(emu, name == "plan")))  # noqa: B023  # called at once
        together = next(r for r in ours if r["scenario"] == "vm-list")
        modes = _commit_modes(azurite.connection_string, bodies["vm-list"], together)
    app, ref = _summary(ours), _summary(reference)
    ratios = {
        "notice_lag_p99_ref_over_ours": {
            p: round(ref["notice_lag_p99_s"][p] / max(app["notice_lag_p99_s"][p] or 0.0, 0.01), 1) for p in PHASES
        },
        "arm_reads_ref_over_ours": round(ref["arm_reads_per_vm_hour"] / app["arm_reads_per_vm_hour"], 2),
        "overhead_share_ref_over_ours": round(ref["overhead_share"] / max(app["overhead_share"], 1e-4), 1),
    }
    return {
        "bench": "recovery-overhead",
        "vms": len(VMS),
        "clock": "simulated; app timers 1:1 with ASR's clock, idle waits skipped",
        **app,
        "budget_waits": sum(r.get("budget_waits", 0) for r in ours),
        "reference": {"poll_s": REFERENCE_POLL_S, **ref},
        "ratios": ratios,
        "vm_list_commit_modes": modes,
    }


SLOW_VM_S = 1800  # the "one-slow" case: one VM's failover takes 30 minutes longer (the emulator's jobSlow fault)


def _commit_modes(conn: str, body: dict[str, Any], together: dict[str, Any]) -> dict[str, Any]:
    """The VM list with commitMode together and per-vm side by side: as above (every failover about as long), and
    with one VM's failover slow, which a barrier makes every VM wait for."""
    runs: dict[str, dict[str, Any]] = {"even": {"together": together}, "one-slow": {}}
    for case, modes in (("even", ("per-vm",)), ("one-slow", ("together", "per-vm"))):
        for mode in modes:
            with running_emulator(_topology(), time_scale=1.0) as emu:
                if case == "one-slow":
                    emu.add_fault({"kind": "jobSlow", "vm": VMS[-1], "operation": "UnplannedFailover",
                                   "seconds": SLOW_VM_S})  # fmt: skip
                runs[case][mode] = _app(emu, conn, {**body, "commitMode": mode})
    keys = ("total_s", "protected_mean_s", "healthy_mean_s", "added_s", "reads")
    return {
        case: {
            mode: {k: r[k] for k in keys} | {"notice_lag_p99_s": {p: _pct(r["lags"][p], 0.99) for p in PHASES}}
            for mode, r in by_mode.items()
        }
        for case, by_mode in runs.items()
    }


if __name__ == "__main__":
    print(json.dumps(main()))
