"""Operator events of real runs (engine on Azurite, failover on the HTTPS ASR emulator) reach a local topic, and a
topic that answers 503 neither fails nor holds up the run: its events arrive later, once each."""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

import azure.functions as func
import pytest

from devhost.invoke import Context, TraceContext
from functions import http_common
from functions.events import events_retry
from lib.domain.events import RUN_STARTED, RUN_STEP_CHANGED, RUN_SUCCEEDED
from lib.domain.runs import RunEvent, RunStatus
from tests.integration.events.conftest import TopicState
from tests.integration.workflows.conftest import Stack, topology

pytestmark = pytest.mark.integration


def drain_retries(stack: Stack, done: Any, deadline_s: float = 60.0) -> int:
    """Play the Functions host for the events queue trigger until ``done()``: every visible retry message is
    handed to ``functions.events.events_retry`` (the app it uses is this stack's), then deleted."""
    handled = 0
    queue = stack.app.events.retries
    end = time.monotonic() + deadline_s
    while not done():
        assert time.monotonic() < end, f"retries did not deliver in {deadline_s} s ({handled} messages handled)"
        for msg in queue.receive(16, 30):
            context = Context("inv-retry", "events_retry", TraceContext(f"00-{'c' * 32}-{'d' * 16}-01"))
            events_retry(func.QueueMessage(id=msg.message_id, body=msg.body.encode()), context)
            queue.delete(msg)
            handled += 1
        time.sleep(0.2)
    return handled


def expected_types(stack: Stack, run_id: str) -> Counter[str]:
    history = stack.app.engine.get(run_id).history
    moves = sum(1 for h in history if h.event is RunEvent.STEP_NEXT and "to" in h.details)
    return Counter({RUN_STARTED: 1, RUN_STEP_CHANGED: moves, RUN_SUCCEEDED: 1})


def check_envelope(events: list[dict[str, Any]], run_id: str) -> None:
    for e in events:
        assert e["specversion"] == "1.0" and e["source"] == "/site-recovery-autopilot"
        assert e["subject"] == f"runs/{run_id}" and e["id"].startswith(f"{run_id}/")
        assert e["data"]["runId"] == run_id and e["data"]["runUrl"] == f"/api/runs/{run_id}"


def test_a_failover_publishes_its_events_in_order(events_stack: Any) -> None:
    with events_stack(topology(["web-1"])) as (stack, topic):
        topic_state: TopicState = topic
        run_id = stack.start("failover", {"vms": ["web-1"]})
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        events = topic_state.of_run(run_id)
        check_envelope(events, run_id)
        types = [e["type"] for e in events]
        assert types[0] == RUN_STARTED and types[-1] == RUN_SUCCEEDED
        assert Counter(types) == expected_types(stack, run_id)
        moves = [h.details["to"] for h in stack.app.engine.get(run_id).history if "to" in h.details]
        assert [e["data"]["toStep"] for e in events if e["type"] == RUN_STEP_CHANGED] == moves
        assert moves[0] == "failover"
        assert set(topic_state.requests) == {200}
        assert stack.app.events.retries.approximate_count() == 0  # nothing had to be parked


def test_a_topic_answering_503_delays_the_events_not_the_run(events_stack: Any, monkeypatch: Any) -> None:
    with events_stack(topology(["web-1"])) as (stack, topic):
        monkeypatch.setattr(http_common, "current_app", lambda: stack.app)
        topic_state: TopicState = topic
        topic_state.failing = True
        run_id = stack.start("failover", {"vms": ["web-1"]})
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error  # finished while the topic was still down
        assert 503 in topic_state.requests and topic_state.of_run(run_id) == []
        # The breaker kept the topic from being called at every transition.
        assert len(topic_state.requests) < sum(expected_types(stack, run_id).values())
        topic_state.failing = False
        assert drain_retries(stack, lambda: any(e["type"] == RUN_SUCCEEDED for e in topic_state.of_run(run_id))) > 0
        drain_retries(stack, lambda: stack.app.events.retries.approximate_count() == 0)
        events = topic_state.of_run(run_id)
        check_envelope(events, run_id)
        ids = [e["id"] for e in events]
        assert len(ids) == len(set(ids)), "an event arrived twice"
        assert Counter(e["type"] for e in events) == expected_types(stack, run_id)
