"""Fault rules (admin API) and the ARM token-bucket throttle.

HTTP-level rules (``http``, ``reset``, ``latency``) match a request by method, route template suffix and/or
VM name; job-level rules (``jobFailure``, ``shutdownFailure``, ``jobSlow``, ...) match when an action creates a job
for that VM.
Each rule fires for its next ``count`` matches (unlimited if absent) and/or with a ``probability``.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import dataclass
from typing import Any

HTTP_KINDS = ("http", "reset", "latency")
JOB_KINDS = ("jobFailure", "shutdownFailure", "jobSuspended", "jobPartiallySucceeded", "jobSlow")
KINDS = (*HTTP_KINDS, *JOB_KINDS, "throttle")

_OPERATION_ALIASES = {
    "unplannedfailover": "UnplannedFailover",
    "failover": "UnplannedFailover",
    "testfailover": "TestFailover",
    "testfailovercleanup": "TestFailoverCleanup",
    "commit": "Commit",
    "failovercommit": "Commit",
    "commitfailover": "Commit",
    "switchprotection": "SwitchProtection",
    "reprotect": "SwitchProtection",
    "switchreplicationgroupprotection": "SwitchProtection",
}

# ARM token-bucket defaults per subscription (asr-api.md §10).
DEFAULT_BUCKETS = {"reads": (250.0, 25.0), "writes": (200.0, 10.0)}


class FaultRuleError(ValueError):
    """The rule JSON is invalid; the message names the field."""


def normalize_operation(value: str | None) -> str | None:
    if value is None or value in ("", "*"):
        return None
    canonical = _OPERATION_ALIASES.get(value.replace(" ", "").lower())
    if canonical is None:
        raise FaultRuleError(f"unknown operation '{value}'; use one of {sorted(set(_OPERATION_ALIASES.values()))}")
    return canonical


@dataclass
class FaultRule:
    id: str
    kind: str
    method: str | None = None
    route: str | None = None
    vm: str | None = None
    operation: str | None = None
    status: int = 500
    code: str | None = None
    message: str | None = None
    retry_after: float | None = None
    latency_ms: int = 0
    seconds: float = 0.0  # jobSlow: emulated seconds added to the job's main task
    remaining: int | None = None
    probability: float | None = None
    fired: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "method": self.method,
            "route": self.route,
            "vm": self.vm,
            "operation": self.operation,
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "retryAfter": self.retry_after,
            "latencyMs": self.latency_ms,
            "seconds": self.seconds,
            "remaining": self.remaining,
            "probability": self.probability,
            "fired": self.fired,
        }


class TokenBucket:
    """Refills continuously in real (wall-clock) seconds, like ARM's."""

    def __init__(self, capacity: float, refill_per_second: float) -> None:
        self.capacity = capacity
        self.refill = refill_per_second
        self.tokens = capacity
        self.stamp = time.monotonic()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.refill)
        self.stamp = now

    def take(self) -> bool:
        self._refill()
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def remaining(self) -> int:
        self._refill()
        return int(self.tokens)

    def seconds_until_token(self) -> int:
        self._refill()
        if self.tokens >= 1 or self.refill <= 0:
            return 1
        return max(1, int((1 - self.tokens) / self.refill + 0.999))


class FaultRegistry:
    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._rng = random.Random(f"{seed}:faults")
        self.enforce_throttle = False
        self.buckets = {kind: TokenBucket(*sizes) for kind, sizes in DEFAULT_BUCKETS.items()}

    # --- admin ----------------------------------------------------------------------------------------------
    def add(self, raw: dict[str, Any]) -> FaultRule | None:
        """Add a rule; ``throttle`` rules configure the token buckets instead and return ``None``."""
        if not isinstance(raw, dict):
            raise FaultRuleError("a fault rule must be a JSON object")
        kind = str(raw.get("kind") or ("http" if "status" in raw else ""))
        if kind not in KINDS:
            raise FaultRuleError(f"'kind' must be one of {list(KINDS)}")
        if kind == "throttle":
            self._configure_throttle(raw)
            return None
        count = raw.get("count")
        probability = raw.get("probability")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultRuleError("'count' must be a positive integer")
        if probability is not None and not 0 < float(probability) <= 1:
            raise FaultRuleError("'probability' must be in (0, 1]")
        status = int(raw.get("status", 429 if kind == "http" else 500))
        if kind == "http" and not 400 <= status <= 599:
            raise FaultRuleError("'status' must be an HTTP error status (400-599)")
        seconds = raw.get("seconds", 0)
        if kind == "jobSlow" and (isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds <= 0):
            raise FaultRuleError("'seconds' must be a positive number of emulated seconds")
        with self._lock:
            rule = FaultRule(
                id=f"f{next(self._ids)}",
                kind=kind,
                method=str(raw["method"]).upper() if raw.get("method") else None,
                route=str(raw["route"]) if raw.get("route") else None,
                vm=str(raw["vm"]) if raw.get("vm") else None,
                operation=normalize_operation(raw.get("operation")),
                status=status,
                code=raw.get("code") or raw.get("errorCode"),
                message=raw.get("message") or raw.get("errorMessage"),
                retry_after=float(raw["retryAfter"]) if raw.get("retryAfter") is not None else None,
                latency_ms=int(raw.get("ms") or raw.get("latencyMs") or 0),
                seconds=float(seconds) if kind == "jobSlow" else 0.0,
                remaining=count,
                probability=float(probability) if probability is not None else None,
            )
            self._rules.append(rule)
            return rule

    def _configure_throttle(self, raw: dict[str, Any]) -> None:
        with self._lock:
            for kind in ("reads", "writes"):
                spec = raw.get(kind) or {}
                capacity, refill = DEFAULT_BUCKETS[kind]
                self.buckets[kind] = TokenBucket(
                    float(spec.get("capacity", capacity)), float(spec.get("refillPerSecond", refill))
                )
            self.enforce_throttle = True

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()
            self.enforce_throttle = False
            self.buckets = {kind: TokenBucket(*sizes) for kind, sizes in DEFAULT_BUCKETS.items()}

    def rules(self) -> list[dict[str, Any]]:
        with self._lock:
            return [rule.as_json() for rule in self._rules]

    # --- matching -----------------------------------------------------------------------------------------
    def _fires(self, rule: FaultRule) -> bool:
        """Consume one use of a matching rule (caller holds the lock)."""
        if rule.probability is not None and self._rng.random() >= rule.probability:
            return False
        rule.fired += 1
        if rule.remaining is not None:
            rule.remaining -= 1
            if rule.remaining <= 0:
                self._rules.remove(rule)
        return True

    def match_request(self, method: str, template: str | None, vm: str | None) -> list[FaultRule]:
        """Matching latency rules all apply; of the error rules (http, reset) only the first one fires."""
        fired: list[FaultRule] = []
        errored = False
        with self._lock:
            for rule in list(self._rules):
                if rule.kind not in HTTP_KINDS or (errored and rule.kind != "latency"):
                    continue
                if rule.method and rule.method != method:
                    continue
                if rule.route and (template is None or not template.lower().endswith(rule.route.lower())):
                    continue
                if rule.vm and (vm is None or vm.lower() != rule.vm.lower()):
                    continue
                if self._fires(rule):
                    fired.append(rule)
                    errored = errored or rule.kind != "latency"
        return fired

    def match_job(self, kind: str, vm: str, operation: str) -> FaultRule | None:
        with self._lock:
            for rule in list(self._rules):
                if rule.kind != kind:
                    continue
                if rule.vm and rule.vm.lower() != vm.lower():
                    continue
                if rule.operation and rule.operation != operation:
                    continue
                if self._fires(rule):
                    return rule
        return None

    def take_token(self, kind: str) -> tuple[bool, int, int]:
        """(allowed, remaining, retry_after) for a read or write."""
        with self._lock:
            bucket = self.buckets[kind]
            allowed = bucket.take() or not self.enforce_throttle
            return allowed, bucket.remaining(), bucket.seconds_until_token()
