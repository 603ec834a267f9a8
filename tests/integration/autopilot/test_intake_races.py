"""Races at the autopilot's intake, on Azurite and the HTTPS ASR emulator: two workers weighing updates of one
incident at once record one ``started`` decision; an alert whose queue send outlives the webhook's deadline is a
503, and when that send lands late anyway, the sender's retry is a duplicate that changes nothing."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from lib.adapters.storage_clients import StorageClients
from lib.adapters.storage_work_queue import StorageWorkQueue
from lib.api.dispatch import handle
from lib.api.http import ApiRequest
from lib.autopilot.deadline import DeadlineSender
from lib.autopilot.messages import Payload, encode
from lib.autopilot.orders import Started, StartOrder
from lib.autopilot.wiring import _fast_fail
from tests.integration.autopilot.stall_proxy import stalling_proxy
from tests.integration.autopilot.test_triggers_in_process import (
    _work_signals,
    stack_with,  # noqa: F401 (the fixture behind stack)
)
from tests.integration.workflows.conftest import dr_stack  # noqa: F401 (a fixture shared with the workflow tests)
from tests.unit.autopilot.payloads import service_health

pytestmark = pytest.mark.integration

POLICY = {"regions": {"eastus": {"targets": [{"vms": ["db"]}, {"vms": ["web-1"]}], "mode": "auto"}}}


@pytest.fixture
def stack(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``with stack(vms, policy) as (dr_stack, wired)``: the autopilot on Azurite and the emulator, in process."""
    return request.getfixturevalue("stack_with")  # type: ignore[no-any-return]


def _racing(starter: Callable[[StartOrder], Started], barrier: threading.Barrier) -> Callable[[StartOrder], Started]:
    """Both workers have decided ``started`` and started (or found) their runs before either records."""

    def start(order: StartOrder) -> Started:
        started = starter(order)
        if order.target.key == "vms:web-1":  # the last target: the decision is about to be recorded
            barrier.wait(timeout=60)
        return started

    return start


def test_two_workers_weighing_updates_of_one_incident_at_once_record_one_started_decision(stack: Any) -> None:
    with stack(["db", "web-1"], POLICY) as (dr, wired):
        barrier = threading.Barrier(2)
        workers = [replace(wired.autopilot, starter=_racing(wired.autopilot.starter, barrier)) for _ in range(2)]
        updates = [service_health(data_id=f"update-{i}") for i in range(2)]  # two notifications, one incident
        results: list[Any] = [None, None]

        def work(i: int) -> None:
            results[i] = workers[i].process(encode(Payload("alert", updates[i], dr.app.engine.clock.now())))

        threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        recorded = wired.decisions.list("eastus", None, 100)
        started = [r for r in recorded if r.decision.outcome.value == "started"]
        assert len(started) == 1, [(r.id, r.decision.outcome.value, r.runs) for r in recorded]
        [decision] = started
        assert len(decision.runs) == 2 and sorted(len(r) for r in results) == [0, 1]  # the loser records nothing
        for run_id in decision.runs:  # each run names the one decision recorded, whichever worker created it
            assert dr.app.engine.get(run_id).run.input["trigger"]["decision"] == decision.id
        assert len(dr.app.engine.list_runs().items) == 2


def test_a_send_past_the_deadline_is_a_503_and_its_late_landing_is_a_duplicate_that_changes_nothing(
    stack: Any, azurite: Any
) -> None:
    with stack(["db", "web-1"], POLICY) as (dr, wired), stalling_proxy(azurite.queue_port) as proxy:
        endpoint = f"http://127.0.0.1:{proxy.port}/devstoreaccount1"
        clients = StorageClients.from_connection_string(
            azurite.connection_string.replace(azurite.service_url("queue"), endpoint)
        )
        slow = StorageWorkQueue.from_clients(clients, wired.queue.name, **_fast_fail())
        wired.intake = DeadlineSender(slow, budget_ms=300)
        body = service_health()
        request = ApiRequest("POST", headers={"content-type": "application/json"}, body=encode_body(body))
        # The queue takes the message at once; its answer comes after the deadline, within the socket timeouts.
        proxy.hold_answers_s = 0.6
        first = handle("receiveAlert", request, "keys", lambda: dr.app)
        assert first.status == 503 and first.headers["Retry-After"] == "5"
        error = first.body["error"]
        assert error["code"] == "StorageUnavailable" and "did not take the payload within" in error["message"]
        _wait_for(lambda: wired.queue.approximate_count() == 1)  # the late send has landed all the same
        proxy.hold_answers_s = 0.0
        retry = handle("receiveAlert", request, "keys", lambda: dr.app)  # the action group retries
        assert retry.status == 202 and "Server-Timing" in retry.headers
        assert _work_signals(wired) == 2  # the late send and the retry: the same notification twice
        [decision] = wired.decisions.list("eastus", None, 100)
        assert decision.decision.outcome.value == "started" and len(decision.runs) == 2
        for run_id in decision.runs:
            dr.finish(run_id)
        assert dr.posts("unplannedFailover") == 2  # one per VM


def encode_body(body: Any) -> bytes:
    return json.dumps(body).encode()


def _wait_for(ok: Callable[[], bool], deadline_s: float = 30.0) -> None:
    deadline = time.monotonic() + deadline_s
    while not ok():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)
