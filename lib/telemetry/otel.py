"""OpenTelemetry for the app: a span per engine step (ASR job ids as attributes) and the DR metrics.

Imported only when export is configured (``lib.bootstrap``) or by tests with the SDK's in-memory exporters.
Metrics:

- ``autopilot.runs.active``: runs not finished (observed at each export from the run index);
- ``autopilot.vms.replication_health``: VMs per replication health (Normal / Warning / Critical / other), and
  ``autopilot.vm.rpo_seconds`` per VM, recorded whenever the app reads the vault listing for its status view;
- ``autopilot.vm.reprotect_percent`` per VM, recorded by the step that watches reprotect.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Meter, Observation
from opentelemetry.trace import Span, Status, StatusCode, Tracer

from lib.domain.asr import ProtectedItem
from lib.domain.runs import RunRecord

NAME = "site-recovery-autopilot"
HEALTH_STATES = ("Normal", "Warning", "Critical")


def job_ids(state: Mapping[str, Any]) -> list[str]:
    """The ASR job names a run has recorded (``RunState.jobs`` keys)."""
    jobs = state.get("jobs")
    return sorted(str(j) for j in jobs) if isinstance(jobs, Mapping) else []


def reprotect_progress(result: object) -> dict[str, float]:
    """VM -> reprotect % from the watching step's details: ``{"progress": {vm: "healthy" | {"pct": n, ...}}}``."""
    details = getattr(result, "details", None)
    progress = details.get("progress") if isinstance(details, Mapping) else None
    if not isinstance(progress, Mapping):
        return {}
    out = {}
    for vm, seen in progress.items():
        pct = 100 if seen == "healthy" else seen.get("pct") if isinstance(seen, Mapping) else None
        if isinstance(pct, int | float):
            out[str(vm)] = float(pct)
    return out


class _StepScope:
    def __init__(self, telemetry: Telemetry, span: Span, run: RunRecord) -> None:
        self._telemetry, self._span, self._run = telemetry, span, run

    def done(self, state: Mapping[str, Any], result: object) -> None:
        span = self._span
        span.set_attribute("asr.job_ids", job_ids(state))
        span.set_attribute("autopilot.outcome", type(result).__name__)
        if isinstance(result, BaseException):
            span.record_exception(result)
            span.set_status(Status(StatusCode.ERROR, f"{type(result).__name__}: {result}"))
        for vm, pct in reprotect_progress(result).items():
            self._telemetry.reprotect.set(pct, {"vm": vm, "run_id": self._run.run_id})


class Telemetry:
    def __init__(self, tracer: Tracer, meter: Meter) -> None:
        self.tracer = tracer
        self.meter = meter
        self.reprotect = meter.create_gauge("autopilot.vm.reprotect_percent", unit="%", description="reprotect %")
        self.rpo = meter.create_gauge("autopilot.vm.rpo_seconds", unit="s", description="RPO per VM")
        self.health = meter.create_gauge("autopilot.vms.replication_health", description="VMs per health")
        self._active_runs: Callable[[], int] | None = None

    @classmethod
    def from_providers(cls, tracer_provider: Any, meter_provider: Any) -> Telemetry:
        return cls(tracer_provider.get_tracer(NAME), meter_provider.get_meter(NAME))

    @contextmanager
    def step(self, run: RunRecord) -> Iterator[_StepScope]:
        attributes: dict[str, str | int] = {"autopilot.run_id": run.run_id, "autopilot.workflow": run.workflow,
                      "autopilot.step": run.step, "autopilot.attempt": run.attempt}  # fmt: skip
        with self.tracer.start_as_current_span(f"step {run.workflow}.{run.step}", attributes=attributes) as span:
            yield _StepScope(self, span, run)

    def watch_active_runs(self, count: Callable[[], int]) -> None:
        """Observe ``count()`` at every export (the latest app built in this process supplies it)."""
        first = self._active_runs is None
        self._active_runs = count
        if first:
            self.meter.create_observable_gauge("autopilot.runs.active", callbacks=[self._observe_active],
                                               description="runs not finished")  # fmt: skip

    def _observe_active(self, options: CallbackOptions) -> list[Observation]:
        return [Observation(self._active_runs())] if self._active_runs is not None else []

    def record_items(self, items: Sequence[ProtectedItem]) -> None:
        counts = Counter(i.replication_health if i.replication_health in HEALTH_STATES else "Other" for i in items)
        for health in (*HEALTH_STATES, "Other"):
            self.health.set(counts.get(health, 0), {"health": health})
        for item in items:
            if item.rpo_seconds is not None:
                self.rpo.set(item.rpo_seconds, {"vm": item.vm_name})


def credential_of(auth: str) -> Any:
    """``APPLICATIONINSIGHTS_AUTHENTICATION_STRING`` (``ClientId=<id>;Authorization=AAD``) as a credential; None
    when it does not ask for Entra ID (then the connection string's key authenticates)."""
    parts = dict(p.split("=", 1) for p in auth.split(";") if "=" in p)
    if parts.get("Authorization", "").upper() != "AAD":
        return None
    from azure.identity import ManagedIdentityCredential

    client_id = parts.get("ClientId")
    return ManagedIdentityCredential(client_id=client_id) if client_id else ManagedIdentityCredential()


@functools.cache
def azure_monitor(connection_string: str, auth: str = "") -> Telemetry:
    """Configure the Azure Monitor distro once per process; spans, metrics and logs go to Application Insights."""
    from azure.monitor.opentelemetry import configure_azure_monitor

    credential = credential_of(auth)
    extra = {"credential": credential} if credential is not None else {}
    configure_azure_monitor(connection_string=connection_string, logger_name="autopilot", **extra)
    return Telemetry(trace.get_tracer(NAME), metrics.get_meter(NAME))
