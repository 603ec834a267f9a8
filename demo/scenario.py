"""The demo's four acts, each through an entry point the deployed app has, and what each must show.

observe (the API, the emulator's own state and request counters) -> check -> record: every expectation becomes a
``Check`` in the summary; the demo exits 0 only when every check held.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from demo import topology
from demo.client import Api, DemoError
from demo.payloads import service_health
from demo.stack import Stack

__all__ = ["Act", "Check", "Scenario", "Watch"]

SETTLED = {"succeeded", "failed", "partially-succeeded", "cancelled", "awaiting-approval", "awaiting-decision"}
INCIDENT = "DEMO-7K2Q"
CLEAN = (None, "", "None", "MarkedForDeletion")  # MarkedForDeletion: cleaned up, the state not yet cleared
DRILL_TIMER = "drill_timer_tick"  # the timer trigger's function name in function_app.py
Watch = Callable[[list[dict[str, Any]]], None]  # shown the runs of an act at every poll


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Act:
    name: str
    started: float = 0.0
    ended: float = 0.0
    arm_calls: int = 0
    runs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass
class Scenario:
    stack: Stack
    watch: Watch
    timeout: float = 150.0
    poll: float = 0.5
    duplicates: int = 3
    acts: list[Act] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)

    @property
    def api(self) -> Api:
        return Api(self.stack.host)

    def check(self, name: str, ok: bool, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok

    # -- the acts ----------------------------------------------------------------------------------------------

    def play(self) -> None:
        self._act("1. outage: Service Health incident -> automatic failover", self.outage)
        self._act("2. resolved notice -> region recovered, no failback", self.recovered)
        self._act("3. operator failback over HTTP", self.failback)
        self._act("4. drill started by the timer trigger", self.drill)
        self.reports()

    def reports(self) -> None:
        """Every finished run wrote its report once (JSON and HTML in Blob storage), served by the API."""
        missing = []
        for run in (r for act in self.acts for r in act.runs):
            status, _h, _b = self.stack.host.request(
                "GET", f"/api/runs/{run['runId']}/report?format=html", key=self.stack.host.function_key
            )
            if status != 200:
                missing.append(f"{run['runId']} ({status})")
        self.check("a report for every run", not missing, f"missing: {', '.join(missing) or 'none'}")

    def outage(self, act: Act) -> None:
        active = self._notice("Active")
        for _ in range(self.duplicates):  # Azure may deliver a notification more than once
            self.api.call("POST", "/api/alerts", active, expect=(200, 202))
        try:
            runs = self._await_runs(act, "failover", len(topology.TARGETS))
        except DemoError as exc:
            latest = next(iter(self.api.decisions(topology.PRIMARY)), {})
            why = f"{latest.get('outcome')}: {'; '.join(latest.get('reasons', []))}" if latest else "no decision"
            raise DemoError(f"{exc}; the autopilot's latest decision for {topology.PRIMARY}: {why}") from None
        self._settle(act, runs)
        self.check("one failover run per target", len(act.runs) == len(topology.TARGETS),
                   f"{len(act.runs)} failover runs for {len(topology.TARGETS)} targets after "
                   f"{self.duplicates} deliveries of the incident")  # fmt: skip
        self._all_succeeded(act)
        self._where(act, topology.RECOVERY, "after the failover")
        self._one_post_per_target()

    def recovered(self, act: Act) -> None:
        resolved = self._notice("Resolved")
        for _ in range(2):
            self.api.call("POST", "/api/alerts", resolved, expect=(200, 202))
        decision = self._until(
            lambda: _first(self.api.decisions(topology.PRIMARY), "recovered"), "a recovered decision"
        )
        self.check("region recovered recorded", True, "; ".join(decision.get("reasons", [])))
        failbacks = self.api.runs("failback")
        self.check("no automatic failback", not failbacks, f"{len(failbacks)} failback runs after the resolve")

    def failback(self, act: Act) -> None:
        ids = []
        for target in topology.TARGETS:
            body = {"target": target, "reason": "demo: the primary region is back"}
            ids.append(self.api.call("POST", "/api/failback", body, expect=(202,))["runId"])
        self._settle(act, ids)
        self._all_succeeded(act)
        self._where(act, topology.PRIMARY, "after the failback")

    def drill(self, act: Act) -> None:
        timer = self._drill_timer()
        self.api.run_timer(timer)
        runs = self._await_runs(act, "drill", 1)
        self._settle(act, runs)
        self._all_succeeded(act)
        state = self.stack.emu.state()["vms"]
        dirty = sorted(
            vm for vm, s in state.items() if s.get("testFailoverState") not in (None, "", "None", "MarkedForDeletion")
        )
        self.check("drill cleaned up", not dirty, f"test failovers left: {dirty or 'none'}")
        validation = [(r.get("evidence") or {}).get("validation") for r in act.runs]
        self.check("drill validated", all(v for v in validation), f"validation: {validation}")

    # -- helpers -----------------------------------------------------------------------------------------------

    def _act(self, name: str, body: Callable[[Act], None]) -> None:
        act = Act(name, started=time.monotonic())
        before = int(self.stack.emu.requests_count()["total"])
        self.acts.append(act)
        try:
            body(act)
        except DemoError as exc:
            self.check(name, False, str(exc))
            raise
        finally:
            act.ended = time.monotonic()
            act.arm_calls = int(self.stack.emu.requests_count()["total"]) - before

    def _notice(self, stage: str) -> dict[str, Any]:
        return service_health(
            INCIDENT, topology.PRIMARY, stage=stage, at=datetime.now(UTC), subscription=self.stack.emu.subscription_id
        )

    def _until(self, probe: Callable[[], Any], what: str) -> Any:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            found = probe()
            if found:
                return found
            time.sleep(self.poll)
        raise DemoError(f"no {what} within {self.timeout:.0f} s")

    def _await_runs(self, act: Act, kind: str, count: int) -> list[str]:
        def enough() -> list[str]:
            ids = [r["runId"] for r in self.api.runs(kind)]
            return ids if len(ids) >= count else []

        self._until(enough, f"{count} {kind} run(s)")
        return [r["runId"] for r in self.api.runs(kind)]

    def _settle(self, act: Act, run_ids: Iterable[str]) -> None:
        ids = list(run_ids)

        def settled() -> bool:
            act.runs = [self.api.run(i) for i in ids]
            self.watch(act.runs)
            return all(r["status"] in SETTLED for r in act.runs)

        self._until(settled, f"end of runs {', '.join(ids)}")

    def _all_succeeded(self, act: Act) -> None:
        statuses = {r["runId"]: r["status"] for r in act.runs}
        self.check(f"{act.name}: runs succeeded", all(s == "succeeded" for s in statuses.values()), str(statuses))

    def _where(self, act: Act, region: str, when: str) -> None:
        state = self.stack.emu.state()["vms"]
        off = {vm: (s["primaryRegion"], s["protectionState"], s["replicationHealth"]) for vm, s in state.items()
               if s["runningIn"] != region or s["protectionState"] != "Protected"}  # fmt: skip
        self.check(f"every VM runs in {region}, protected, {when}", not off, f"not so: {off or 'none'}")

    def _one_post_per_target(self) -> None:
        routes = self.stack.emu.requests_count()["byRoute"]
        posts = {route: n for route, n in routes.items() if route.startswith("POST") and "unplannedFailover" in route}
        expected = sum(1 if "recoveryPlan" in t else len(t["vms"]) for t in topology.TARGETS)
        self.check("one failover POST per plan or VM", sum(posts.values()) == expected,
                   f"{sum(posts.values())} failover POSTs at the emulator, {expected} expected")  # fmt: skip

    def _drill_timer(self) -> str:
        return DRILL_TIMER


def _first(rows: list[dict[str, Any]], outcome: str) -> dict[str, Any] | None:
    return next((r for r in rows if r.get("outcome") == outcome), None)
