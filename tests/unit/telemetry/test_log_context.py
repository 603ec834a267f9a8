"""Log records written during a step carry the run id, the step, and the trigger's invocation and correlation ids."""

from __future__ import annotations

import logging
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from devhost.invoke import Context, TraceContext
from functions.telemetry import invocation_context
from lib.adapters.clocks import ManualClock
from lib.adapters.memory_run_store import MemoryRunStore
from lib.adapters.memory_work_queue import MemoryWorkQueue
from lib.engine import Engine, EngineConfig, Next, Step, StepContext, Workflow
from lib.telemetry import StepTracing, current, log_context, trace_id_of

ROOT = Path(__file__).parents[3]
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
TRACE = f"00-{'4bf92f3577b34da6a3ce929d0e0e4736'}-00f067aa0ba902b7-01"


def _talk(ctx: StepContext, deps: Any) -> Next:
    logging.getLogger("autopilot.test").info("step %s says hello", ctx.step)
    return Next()


def test_a_steps_log_lines_carry_run_step_invocation_and_correlation(caplog: pytest.LogCaptureFixture) -> None:
    clock = ManualClock(T0)
    queue = MemoryWorkQueue(clock=clock)
    engine: Engine[None] = Engine(
        registry={"talk": Workflow("talk", (Step("hello", _talk), Step("again", _talk)))}, deps=None,
        store=MemoryRunStore(), queue=queue, clock=clock, tracer=StepTracing(),
        config=EngineConfig(max_chain=1),  # one step per call: two invocations (a Next would go on in the first)
    )  # fmt: skip
    run_id = engine.start("talk", {}).run_id
    with caplog.at_level(logging.INFO, "autopilot.test"):
        for n in range(2):
            [msg] = queue.receive(1, 30)
            with invocation_context(Context(f"inv-{n}", "engine_work", TraceContext(TRACE))):
                engine.handle_message(msg.body, msg.message_id)
            queue.delete(msg)
    said = [r for r in caplog.records if r.name == "autopilot.test"]
    assert [(r.run_id, r.step, r.invocation_id, r.correlation_id) for r in said] == [  # type: ignore[attr-defined]
        (run_id, "hello", "inv-0", "4bf92f3577b34da6a3ce929d0e0e4736"),
        (run_id, "again", "inv-1", "4bf92f3577b34da6a3ce929d0e0e4736"),
    ]
    assert current() == {"run_id": "", "step": "", "invocation_id": "", "correlation_id": ""}  # unbound after


def test_context_nesting_and_bad_input() -> None:
    with log_context(invocation_id="i1"), log_context(run_id="r1"):
        assert current()["invocation_id"] == "i1" and current()["run_id"] == "r1"
    with pytest.raises(ValueError, match="unknown log context fields"), log_context(user="x"):
        pass
    assert trace_id_of("garbage") == "" and trace_id_of(None) == ""


def test_without_a_connection_string_nothing_of_opentelemetry_is_imported() -> None:
    code = (
        "import sys, function_app\n"
        "from lib.bootstrap import build\n"
        "from lib.settings import Settings\n"
        "conn = 'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
        "BlobEndpoint=http://127.0.0.1:9/devstoreaccount1;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;"
        "TableEndpoint=http://127.0.0.1:9/devstoreaccount1'\n"
        "app = build(Settings(storage_connection=conn, asr_subscription_id='s', asr_resource_group='g',"
        " asr_vault_name='v'))\n"
        "assert app.telemetry is None\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'azure.monitor'))))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    run = [sys.executable, "-c", code]
    out = subprocess.run(run, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_exporter_uses_the_identity_the_authentication_string_names() -> None:
    from azure.identity import ManagedIdentityCredential

    from lib.telemetry.otel import credential_of

    assert isinstance(credential_of("ClientId=0000-1111;Authorization=AAD"), ManagedIdentityCredential)
    assert credential_of("") is None and credential_of("ClientId=x") is None
