"""The vault: all state, the simulated clock, ids, lookups and the lazy effect queue.

Every request calls ``sync()`` under ``lock`` first: effects (job task completions, end of initial
replication, ...) whose emulated time has passed are applied in time order, so state is computed from the
clock without a background thread.
"""

from __future__ import annotations

import heapq
import random
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from emulator import outage
from emulator import topology as topo
from emulator.clock import SimClock
from emulator.errors import NotFound
from emulator.faults import FaultRegistry
from emulator.models import PROTECTED, Event, HealthIssue, InfraIssue, Item, Job, Plan, Scenario, Usage, no_tfo_issue

# Recovery-point cadence (A2A policy defaults: crash-consistent every 5 min, app-consistent every 4 h).
CRASH_EVERY = timedelta(minutes=5)
CRASH_WINDOW = timedelta(hours=1)
APP_EVERY = timedelta(hours=4)
RETENTION = timedelta(hours=24)


@dataclass(frozen=True)
class RecoveryPointInfo:
    name: str
    time: datetime
    kind: str  # CrashConsistent | ApplicationConsistent


class Backend:
    def __init__(self, topology: topo.Topology, clock: SimClock, *, seed: int = 0, faults: FaultRegistry) -> None:
        self.topology = topology
        self.clock = clock
        self.seed = seed
        self.faults = faults
        self.lock = threading.RLock()
        self.endpoint = "https://127.0.0.1"
        self.items: dict[str, Item] = {}
        self.plans: dict[str, Plan] = {}
        self.jobs: dict[str, Job] = {}
        self.cancel_ops: dict[str, str] = {}  # a job cancel's operation id (lower case) -> the cancelled job
        self.events: list[Event] = []
        self.issued_points: dict[str, dict[str, RecoveryPointInfo]] = {}
        self.down_regions: dict[str, datetime] = {}  # region -> outage start (emulator.outage)
        self.switch_inputs: dict[str, list[dict[str, Any]]] = {}  # VM -> switch-protection inputs received
        self.infra_issues: list[InfraIssue] = []
        self.usages: dict[str, dict[str, Usage]] = {}  # region -> usage name -> counter (see compute.py)
        self._effects: list[tuple[datetime, int, Callable[[datetime], None]]] = []
        self._seq = 0
        self._job_counter = 0
        self._event_counter = 0
        self._rng = random.Random(f"{seed}:state")
        self._now = clock.now()
        self._build()

    # --- construction ------------------------------------------------------------------------------------
    def _build(self) -> None:
        t = self.topology
        since = self._now - RETENTION
        for vm in t.vms:
            name = topo.item_name(t.subscription_id, t.vault, vm.name)
            item = Item(
                vm=vm.name,
                name=name,
                guid=topo.stable_guid(t.subscription_id, t.vault, "vm", vm.name.lower()),
                disk_gib=vm.disk_gib,
                vm_resource_group=vm.resource_group,
                recovery_resource_group=vm.recovery_resource_group,
                initial_primary=t.primary_region,
                initial_recovery=t.recovery_region,
                primary=t.primary_region,
                event_correlation_id=self.new_guid(),
                lifecycle_id=self.new_guid(),
                protected_since=since,
                monitoring_pct=0,
                last_rpo_time=self._now,
                vm_running={t.primary_region: True, t.recovery_region: False},
                vm_size=vm.size,
            )
            item.health = [no_tfo_issue(vm.name, since)]
            self.items[name] = item
        by_vm = {item.vm.lower(): item.name for item in self.items.values()}
        for plan in t.plans:
            groups = [[by_vm[vm.lower()] for vm in group] for group in plan.groups]
            self.plans[plan.name] = Plan(
                plan.name, topo.stable_guid(t.subscription_id, t.vault, "plan", plan.name), groups
            )

    # --- clock and effects -------------------------------------------------------------------------------
    def sync(self) -> datetime:
        """Apply every effect that is due and return the emulated 'now' for this request."""
        with self.lock:
            now = max(self.clock.now(), self._now)
            while self._effects and self._effects[0][0] <= now:
                at, _, fn = heapq.heappop(self._effects)
                fn(at)
            self._now = now
            return now

    def schedule(self, at: datetime, fn: Callable[[datetime], None], job: Job | None = None) -> None:
        """Run ``fn(at)`` once the clock reaches ``at`` (skipped if ``job`` was cancelled before ``at``)."""

        def guarded(when: datetime) -> None:
            if job is not None and job.cancelled_at is not None and job.cancelled_at <= when:
                return
            fn(when)

        self._seq += 1
        heapq.heappush(self._effects, (at, self._seq, guarded))

    def job_rng(self) -> tuple[str, random.Random]:
        """A new job name and an RNG for its jitter, both deterministic for (seed, job number)."""
        self._job_counter += 1
        rng = random.Random(f"{self.seed}:job:{self._job_counter}")
        return str(uuid.UUID(int=rng.getrandbits(128), version=4)), rng

    def new_guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    # --- ids ------------------------------------------------------------------------------------------------
    @property
    def vault_id(self) -> str:
        t = self.topology
        return (
            f"/Subscriptions/{t.subscription_id}/resourceGroups/{t.resource_group}"
            f"/providers/Microsoft.RecoveryServices/vaults/{t.vault}"
        )

    def fabric_id(self, region: str) -> str:
        return f"{self.vault_id}/replicationFabrics/{topo.fabric_name(region)}"

    def container_id(self, region: str) -> str:
        return f"{self.fabric_id(region)}/replicationProtectionContainers/{topo.container_name(region)}"

    def container_guid(self, region: str) -> str:
        return topo.stable_guid(self.topology.subscription_id, self.topology.vault, "container", region)

    def fabric_guid(self, region: str) -> str:
        return topo.stable_guid(self.topology.subscription_id, self.topology.vault, "fabric", region)

    def item_id(self, item: Item, region: str | None = None) -> str:
        return f"{self.container_id(region or item.primary)}/replicationProtectedItems/{item.name}"

    def plan_id(self, plan: Plan) -> str:
        return f"{self.vault_id}/replicationRecoveryPlans/{plan.name}"

    def job_id(self, name: str) -> str:
        return f"{self.vault_id}/replicationJobs/{name}"

    def vm_id(self, item: Item, region: str) -> str:
        sub = self.topology.subscription_id
        rg = item.vm_resource_group_in(region).lower()
        return f"/subscriptions/{sub}/resourcegroups/{rg}/providers/microsoft.compute/virtualmachines/{item.vm.lower()}"

    def region_of_fabric(self, fabric: str) -> str | None:
        for region in (self.topology.primary_region, self.topology.recovery_region):
            if topo.fabric_name(region).lower() == fabric.lower():
                return region
        return None

    def region_of_container(self, fabric: str, container: str) -> str | None:
        region = self.region_of_fabric(fabric)
        if region is None or topo.container_name(region).lower() != container.lower():
            return None
        return region

    # --- lookups --------------------------------------------------------------------------------------------
    def item_at(self, fabric: str, container: str, name: str) -> Item:
        """The item, only if it currently lives in that fabric/container (it moves at switch-protection)."""
        region = self.region_of_container(fabric, container)
        item = self.items.get(name)
        if region is None or item is None or item.primary != region:
            raise NotFound(
                f"The replication protected item '{name}' was not found in container '{container}' of fabric "
                f"'{fabric}'."
            )
        return item

    def item_by_vm(self, vm: str) -> Item:
        for item in self.items.values():
            if item.vm.lower() == vm.lower():
                return item
        raise NotFound(f"No protected item for VM '{vm}'.")

    def plan(self, name: str) -> Plan:
        for plan in self.plans.values():
            if plan.name.lower() == name.lower():
                return plan
        raise NotFound(f"The recovery plan '{name}' was not found.")

    def job(self, name: str) -> Job:
        job = self.jobs.get(name.lower())
        if job is None:
            raise NotFound(f"The job '{name}' was not found.")
        return job

    def add_job(self, job: Job) -> None:
        self.jobs[job.name.lower()] = job

    def busy(self, entity: Item | Plan, job: Job) -> None:
        entity.busy_job = job.name
        entity.scenario = Scenario(job.scenario, job.name, job.start)

    # --- recovery points ---------------------------------------------------------------------------------
    def recovery_points(self, item: Item, now: datetime) -> list[RecoveryPointInfo]:
        """Points in the retention window, in a deterministic but unsorted order (as ASR returns them)."""
        if item.protected_since is None or item.state not in (PROTECTED, "UnplannedFailoverCommitPendingStatesBegin"):
            return []
        newest = item.last_failover_time or outage.data_until(self, item, now)
        points: list[RecoveryPointInfo] = []
        epoch = datetime(2000, 1, 1, tzinfo=newest.tzinfo)
        for every, window, kind in (
            (CRASH_EVERY, CRASH_WINDOW, "CrashConsistent"),
            (APP_EVERY, RETENTION, "ApplicationConsistent"),
        ):
            t = epoch + every * ((newest - epoch) // every)
            while t >= max(item.protected_since, newest - window):
                name = topo.stable_guid(item.guid, item.event_correlation_id, kind, t.isoformat())
                points.append(RecoveryPointInfo(name, t, kind))
                t -= every
        random.Random(f"{item.guid}:{len(points)}:{newest.isoformat()}").shuffle(points)
        issued = self.issued_points.setdefault(item.name, {})
        for point in points:
            issued[point.name] = point
        return points

    # --- events ---------------------------------------------------------------------------------------------
    def add_event(self, event: Event) -> None:
        self.events.append(event)

    def next_event_name(self, kind: str) -> str:
        self._event_counter += 1
        return f"{kind}MonitoringEvent;{9091989892524070155 + self._event_counter}_{self.new_guid()}"

    def add_health_issue(self, item: Item, issue: HealthIssue) -> None:
        item.health = [h for h in item.health if h.code != issue.code] + [issue]
