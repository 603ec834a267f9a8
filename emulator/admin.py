"""Admin API under ``/_emulator/`` (no auth, not counted): request counters, faults, state, time control."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime
from typing import Any

from emulator import topology as topo
from emulator.backend import Backend
from emulator.clock import iso
from emulator.faults import FaultRuleError
from emulator.jobs import monitoring_percentage
from emulator.models import HealthIssue
from emulator.plan_actions import plan_allowed


class RequestCounter:
    """ARM requests by ``"<METHOD> <route template>"``; unknown paths count as ``"<METHOD> <unmatched>"``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()

    def count(self, method: str, template: str | None) -> None:
        with self._lock:
            self._counts[f"{method} {template or '<unmatched>'}"] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._counts.values()), "byRoute": dict(sorted(self._counts.items()))}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def vm_state(b: Backend, now: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in b.items.values():
        out[item.vm] = {
            "itemName": item.name,
            "itemId": b.item_id(item),
            "fabric": topo.fabric_name(item.primary),
            "container": topo.container_name(item.primary),
            "primaryRegion": item.primary,
            "recoveryRegion": item.recovery,
            "originalDirection": item.forward,
            "protectionState": item.state,
            "protectionStateDescription": item.protection_state_description(),
            "activeLocation": item.active_location,
            "runningIn": item.running_in,
            "vmRunning": dict(item.vm_running),
            "allowedOperations": item.allowed_operations(),
            "replicationHealth": item.replication_health(),
            "failoverHealth": item.failover_health(),
            "healthErrorCodes": [h.code for h in item.health],
            "monitoringPercentageCompletion": monitoring_percentage(item, now),
            "testFailoverState": item.tfo_state,
            "testVmRunning": item.test_vm_running,
            "currentJob": item.busy_job,
            "lastSuccessfulFailoverTime": iso(item.last_failover_time),
            "lastSuccessfulTestFailoverTime": iso(item.last_tfo_time),
        }
    return out


def full_state(b: Backend, now: datetime) -> dict[str, Any]:
    running = [j.name for j in b.jobs.values() if not j.finished(now)]
    return {
        "now": iso(now),
        "timeScale": b.clock.scale,
        "vms": vm_state(b, now),
        "plans": {
            p.name: {"allowedOperations": plan_allowed(b, p), "currentJob": p.busy_job, "items": p.item_names}
            for p in b.plans.values()
        },
        "jobs": {"total": len(b.jobs), "running": running},
        "faults": b.faults.rules(),
    }


def _inject_health(b: Backend, body: dict[str, Any], now: datetime) -> dict[str, Any]:
    item = b.item_by_vm(str(body.get("vm") or ""))
    level = str(body.get("level") or "Error")
    issue = HealthIssue(
        code=str(body.get("code") or "10008"),
        category=str(body.get("category") or "Replication"),
        level=level,
        message=str(body.get("message") or "RPO Throttled"),
        created=now,
        source=str(body.get("source") or "ReplicationUnitHealthValidator"),
        error_type=str(body.get("errorType") or "10008"),
        affects_replication=bool(body.get("affectsReplication", body.get("category", "Replication") == "Replication")),
    )
    b.add_health_issue(item, issue)
    return {"vm": item.vm, "healthErrorCodes": [h.code for h in item.health]}


def handle(
    b: Backend, counter: RequestCounter, method: str, path: str, *, query: dict[str, str], body: Any
) -> tuple[int, Any]:
    route = path.rstrip("/").lower()
    try:
        if route == "/_emulator/requests" and method == "GET":
            return 200, counter.snapshot()
        if route == "/_emulator/requests/reset" and method == "POST":
            counter.reset()
            return 200, counter.snapshot()
        if route == "/_emulator/faults" and method == "POST":
            rule = b.faults.add(body)
            return 200, {"id": rule.id if rule else "throttle", "rule": rule.as_json() if rule else None}
        if route == "/_emulator/faults" and method == "GET":
            return 200, {"rules": b.faults.rules(), "throttleEnforced": b.faults.enforce_throttle}
        if route == "/_emulator/faults" and method == "DELETE":
            count = len(b.faults.rules())
            b.faults.clear()
            return 200, {"cleared": count}
        if route == "/_emulator/state" and method == "GET":
            with b.lock:
                return 200, full_state(b, b.sync())
        if route == "/_emulator/time-scale" and method == "POST":
            b.clock.set_scale(float((body or {})["timeScale"]))
            return 200, {"timeScale": b.clock.scale, "now": iso(b.sync())}
        if route == "/_emulator/advance" and method == "POST":
            b.clock.advance(float((body or {})["seconds"]))
            return 200, {"now": iso(b.sync())}
        if route == "/_emulator/health-issues" and method == "POST":
            with b.lock:
                return 200, _inject_health(b, body or {}, b.sync())
        if route == "/_emulator/health-issues" and method == "DELETE":
            with b.lock:
                item = b.item_by_vm(query.get("vm", ""))
                code = query.get("code")
                item.health = [h for h in item.health if code and h.code != code]
                return 200, {"vm": item.vm, "healthErrorCodes": [h.code for h in item.health]}
    except (FaultRuleError, KeyError, ValueError, TypeError) as exc:
        return 400, {"error": {"code": "InvalidAdminRequest", "message": str(exc)}}
    return 404, {"error": {"code": "NotFound", "message": f"No admin route {method} {path}"}}
