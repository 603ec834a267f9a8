"""OpenTelemetry on a real failover (engine on Azurite, the HTTPS ASR emulator), read back through the SDK's
in-memory exporters: a span per step with the ASR job ids, and the DR metrics."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from lib.domain.runs import RunStatus
from lib.monitoring import monitoring
from lib.telemetry.otel import Telemetry
from tests.integration.workflows.conftest import topology

pytestmark = pytest.mark.integration


def points(reader: InMemoryMetricReader, name: str) -> dict[tuple[tuple[str, Any], ...], float]:
    data = reader.get_metrics_data()
    found: dict[tuple[tuple[str, Any], ...], float] = {}
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == name:
                    for p in metric.data.data_points:
                        assert isinstance(p, NumberDataPoint), p
                        found[tuple(sorted((p.attributes or {}).items()))] = p.value
    return found


def test_a_failover_gives_a_span_per_step_and_the_dr_metrics(events_stack: Any) -> None:
    spans, reader = InMemorySpanExporter(), InMemoryMetricReader()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    telemetry = Telemetry.from_providers(tracer_provider, MeterProvider(metric_readers=[reader]))
    with events_stack(topology(["web-1", "web-2"]), telemetry=telemetry) as (stack, _):
        run_id = stack.start("failover", {"vms": ["web-1", "web-2"]})
        assert points(reader, "autopilot.runs.active") == {(): 1}
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        finished = spans.get_finished_spans()
        executed = [h for h in stack.app.engine.get(run_id).history if h.outcome in ("next", "wait", "done")]
        assert len(finished) == len(executed)  # one span per step execution
        attributes: list[dict[str, Any]] = [dict(s.attributes or {}) for s in finished]
        assert {a["autopilot.run_id"] for a in attributes} == {run_id}
        assert finished[0].name == f"step failover.{executed[0].step}"
        jobs = sorted(run.state["jobs"])
        assert jobs and list(attributes[-1]["asr.job_ids"]) == jobs  # every ASR job the run started
        assert points(reader, "autopilot.vm.reprotect_percent") == {
            (("run_id", run_id), ("vm", "web-1")): 100.0,
            (("run_id", run_id), ("vm", "web-2")): 100.0,
        }
        assert points(reader, "autopilot.runs.active") == {(): 0}
        stack.app.telemetry = telemetry
        status = monitoring(stack.app).status.get()
        health = points(reader, "autopilot.vms.replication_health")
        healthy = status["tiles"]["replicatedItems"]["counts"]["healthy"]
        assert health[(("health", "Normal"),)] == healthy == 2
        rpo = points(reader, "autopilot.vm.rpo_seconds")
        assert {dict(k)["vm"]: v for k, v in rpo.items()} == {r["vm"]: r["rpoSeconds"] for r in status["rpo"]}
