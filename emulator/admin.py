"""Admin API under ``/_emulator/`` (no auth, not counted): request counters, faults, state, time control."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import datetime
from typing import Any

from emulator import compute, outage
from emulator import topology as topo
from emulator.backend import Backend
from emulator.clock import iso
from emulator.faults import FaultRuleError
from emulator.jobs import monitoring_percentage
from emulator.models import AgentStatus, HealthIssue, InfraIssue
from emulator.plan_actions import plan_allowed

LOG_SIZE = 10_000  # newest request log entries kept; a long soak must not grow the emulator without bound


class RequestCounter:
    """ARM requests by ``"<METHOD> <route template>"``; unknown paths count as ``"<METHOD> <unmatched>"``.

    It also keeps a log of the newest ``LOG_SIZE`` requests with their arrival time, so that a benchmark can
    tell when a request reached ASR (real wall-clock time, not the emulated clock).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._log: deque[dict[str, Any]] = deque(maxlen=LOG_SIZE)
        self._seq = 0

    def count(self, method: str, template: str | None, path: str = "") -> None:
        arrived = time.time()
        route = f"{method} {template or '<unmatched>'}"
        with self._lock:
            self._counts[route] += 1
            self._seq += 1
            self._log.append({"seq": self._seq, "time": arrived, "route": route, "path": path})

    def log(self, since: int = 0) -> dict[str, Any]:
        """Entries with ``seq > since``, oldest first, and ``last`` (the newest seq, to pass as ``since`` next)."""
        with self._lock:
            return {"entries": [e for e in self._log if e["seq"] > since], "last": self._seq}

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"total": sum(self._counts.values()), "byRoute": dict(sorted(self._counts.items()))}

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._log.clear()


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
            "rpoInSeconds": outage.rpo_seconds(b, item, now),
            "lastSuccessfulFailoverTime": iso(item.last_failover_time),
            "lastSuccessfulTestFailoverTime": iso(item.last_tfo_time),
            "vmSize": item.vm_size,
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
        "downRegions": outage.outage_json(b, now)["downRegions"],
        "switchProtectionInputs": {vm: list(inputs) for vm, inputs in b.switch_inputs.items()},
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


AdminHandler = Callable[[Backend, RequestCounter, dict[str, str], Any], Any]


def _requests(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    return counter.snapshot()


def _request_log(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    return counter.log(int(query.get("since") or 0))


def _reset_requests(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    counter.reset()
    return counter.snapshot()


def _add_fault(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    rule = b.faults.add(body)
    return {"id": rule.id if rule else "throttle", "rule": rule.as_json() if rule else None}


def _faults(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    return {"rules": b.faults.rules(), "throttleEnforced": b.faults.enforce_throttle}


def _clear_faults(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    count = len(b.faults.rules())
    b.faults.clear()
    return {"cleared": count}


def _state(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    with b.lock:
        return full_state(b, b.sync())


def _set_time_scale(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    b.clock.set_scale(float((body or {})["timeScale"]))
    return {"timeScale": b.clock.scale, "now": iso(b.sync())}


def _advance(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    b.clock.advance(float((body or {})["seconds"]))
    return {"now": iso(b.sync())}


def _add_health_issue(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    with b.lock:
        return _inject_health(b, body or {}, b.sync())


def _clear_health_issues(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    with b.lock:
        item = b.item_by_vm(query.get("vm", ""))
        code = query.get("code")
        item.health = [h for h in item.health if code and h.code != code]
        return {"vm": item.vm, "healthErrorCodes": [h.code for h in item.health]}


_AGENT_FIELDS = {
    "agentVersion": "version",
    "agentExpiryDate": "expiry",
    "isReplicationAgentUpdateRequired": "update_required",
    "agentCertificateExpiryDate": "certificate_expiry",
    "isReplicationAgentCertificateUpdateRequired": "certificate_update_required",
}


def _set_agent(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    """Change an item's Mobility-agent fields; fields not given keep their value."""
    fields = dict(body or {})
    with b.lock:
        item = b.item_by_vm(str(fields.pop("vm", "")))
        unknown = set(fields) - set(_AGENT_FIELDS)
        if unknown:
            raise ValueError(f"unknown agent fields {sorted(unknown)}; known: {sorted(_AGENT_FIELDS)}")
        current = vars(item.agent) | {_AGENT_FIELDS[k]: v for k, v in fields.items()}
        item.agent = AgentStatus(**current)
        return {"vm": item.vm, **{k: getattr(item.agent, v) for k, v in _AGENT_FIELDS.items()}}


def _add_infra_issue(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    fields = body or {}
    scope = str(fields.get("scope") or "vault")
    if scope not in ("vault", "fabric", "container"):
        raise ValueError("scope must be vault, fabric or container")
    region = str(fields.get("region") or ("" if scope == "vault" else b.topology.primary_region)).lower()
    with b.lock:
        issue = InfraIssue(
            scope=scope,
            region=region,
            code=str(fields.get("code") or "708"),
            category=str(fields.get("category") or "FabricInfrastructure"),
            level=str(fields.get("level") or "Error"),
            message=str(fields.get("message") or "Recovery Services Provider heartbeat is missing"),
            created=b.sync(),
        )
        b.infra_issues.append(issue)
        return {"issues": len(b.infra_issues)}


def _clear_infra_issues(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    with b.lock:
        count = len(b.infra_issues)
        b.infra_issues.clear()
        return {"cleared": count}


def _set_usage(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    fields = body or {}
    limit, extra = fields.get("limit"), fields.get("used")
    with b.lock:
        return compute.set_usage(
            b,
            str(fields["region"]),
            str(fields.get("name") or "cores"),
            limit=None if limit is None else int(limit),
            extra_used=None if extra is None else int(extra),
        )


def _usages(b: Backend, counter: RequestCounter, query: dict[str, str], body: Any) -> Any:
    with b.lock:
        b.sync()
        return {"region": query["region"], "usages": compute.usages_json(b, query["region"])}


ROUTES: dict[tuple[str, str], AdminHandler] = {
    ("/_emulator/requests", "GET"): _requests,
    ("/_emulator/requests/log", "GET"): _request_log,
    ("/_emulator/requests/reset", "POST"): _reset_requests,
    ("/_emulator/faults", "POST"): _add_fault,
    ("/_emulator/faults", "GET"): _faults,
    ("/_emulator/faults", "DELETE"): _clear_faults,
    ("/_emulator/state", "GET"): _state,
    ("/_emulator/time-scale", "POST"): _set_time_scale,
    ("/_emulator/advance", "POST"): _advance,
    ("/_emulator/health-issues", "POST"): _add_health_issue,
    ("/_emulator/health-issues", "DELETE"): _clear_health_issues,
    ("/_emulator/agent", "POST"): _set_agent,
    ("/_emulator/vault-health", "POST"): _add_infra_issue,
    ("/_emulator/vault-health", "DELETE"): _clear_infra_issues,
    ("/_emulator/usages", "POST"): _set_usage,
    ("/_emulator/usages", "GET"): _usages,
}


def _region_outage(path: str, method: str) -> AdminHandler | None:
    """``POST /_emulator/regions/{region}/outage``: the one admin route with a parameter."""
    parts = path.strip("/").split("/")
    if method != "POST" or len(parts) != 4 or [parts[1].lower(), parts[3].lower()] != ["regions", "outage"]:
        return None
    return lambda b, counter, query, body: outage.admin_outage(b, parts[2], body)


def handle(
    b: Backend, counter: RequestCounter, method: str, path: str, *, query: dict[str, str], body: Any
) -> tuple[int, Any]:
    handler = ROUTES.get((path.rstrip("/").lower(), method)) or _region_outage(path, method)
    if handler is None:
        return 404, {"error": {"code": "NotFound", "message": f"No admin route {method} {path}"}}
    try:
        return 200, handler(b, counter, query, body)
    except (FaultRuleError, KeyError, ValueError, TypeError) as exc:
        return 400, {"error": {"code": "InvalidAdminRequest", "message": str(exc)}}
