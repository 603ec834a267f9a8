"""The autopilot's triggers called in this process, as the Functions host calls them, on Azurite and the HTTPS ASR
emulator: the Event Grid trigger queues each event (both schemas), the signals-queue trigger decides, and the
facts the guard weighs come from the real run index and ASR (active runs, drills, plan sizes)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import azure.functions as func
import pytest

from devhost.eventgrid import trigger_argument
from functions import http_common
from functions import signals as triggers
from lib.autopilot.wiring import Wired
from tests.integration.workflows.conftest import NETWORK, Stack, dr_stack, topology  # noqa: F401 (dr_stack: a fixture shared with the workflow tests)
from tests.unit.autopilot.payloads import as_cloudevent, custom_event, service_health

pytestmark = pytest.mark.integration

PLAN = {"name": "app", "groups": [["db"], ["web-1"]]}


@pytest.fixture
def stack_with(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    make_dr = request.getfixturevalue("dr_stack")

    @contextmanager
    def make(vms: list[str], policy: dict[str, Any]) -> Iterator[tuple[Stack, Wired]]:
        with make_dr(topology(vms, [PLAN])) as stack:
            stack.app.settings = replace(stack.app.settings, policy=json.dumps(policy))
            stack.app._autopilot = None  # built again, with the test's policy
            wired = stack.app.autopilot()
            wired.provision()
            monkeypatch.setattr(http_common, "current_app", lambda: stack.app)
            yield stack, wired

    return make


def _work_signals(wired: Wired) -> int:
    """Play the host's queue trigger: hand every visible signals-queue message to ``signals_work``."""
    handled = 0
    while batch := wired.queue.receive(32, 30):
        for msg in batch:
            triggers.signals_work(func.QueueMessage(id=msg.message_id, body=msg.body.encode()))
            wired.queue.delete(msg)
            handled += 1
    return handled


def test_event_grid_trigger_in_both_schemas_starts_one_failover_of_a_plan(stack_with: Any) -> None:
    policy = {"regions": {"eastus": {"targets": [{"recoveryPlan": "app"}], "mode": "auto"}}}
    with stack_with(["db", "web-1"], policy) as (stack, wired):
        event = custom_event(region="East US", incident="checkout")
        for delivered in (event, as_cloudevent(event), event):
            triggers.eventgrid_signals(trigger_argument(delivered))
        assert _work_signals(wired) >= 3
        [started] = wired.decisions.list("eastus", None, 10)
        assert started.decision.outcome.value == "started", started.decision.reasons
        [run_id] = started.runs
        assert stack.finish(run_id).status.value == "succeeded"
        assert stack.posts("unplannedFailover") == 1  # one plan failover
        run = stack.app.engine.get(run_id).run
        assert run.input["trigger"]["decision"] == started.id and run.idempotency_key.startswith("auto:eastus:")


def test_an_event_that_cannot_be_read_is_logged_and_skipped(stack_with: Any, caplog: Any) -> None:
    class Broken:
        id = "evt-broken"

        def get_json(self) -> Any:
            raise ValueError("no data")

    with stack_with(["db", "web-1"], {}) as (_stack, wired):
        triggers.eventgrid_signals(Broken())
        assert "evt-broken" in caplog.text and _work_signals(wired) == 0
        triggers.signals_work(func.QueueMessage(id="x", body=b"not ours"))  # logged and dropped


def test_facts_come_from_the_run_index_and_asr(stack_with: Any) -> None:
    policy = {"regions": {
        "eastus": {"targets": [{"vms": ["web-2"]}], "mode": "auto", "requireDrillWithinDays": 30},
        "westeurope": {"targets": [{"vms": ["web-3"]}], "mode": "auto"},
        "northeurope": {"targets": [{"recoveryPlan": "gone"}], "mode": "auto"},
        "francecentral": {"targets": [{"recoveryPlan": "app"}], "mode": "dry-run", "maxVms": 1},
    }}  # fmt: skip
    with stack_with(["db", "web-1", "web-2", "web-3"], policy) as (stack, wired):
        drill = stack.start("drill", {"vms": ["web-2"], "test_network_id": NETWORK})
        assert stack.finish(drill).status.value == "succeeded"
        manual = stack.start("failover", {"vms": ["web-3"]})  # pending: an active run holds the target
        for i, name in enumerate(("East US", "West Europe", "North Europe", "France Central")):
            body = service_health(region=name, tracking=f"T{i}", data_id=f"d{i}")
            wired.queue.send(json.dumps({"v": 1, "kind": "payload", "channel": "alert", "body": body,
                                         "receivedAt": "2025-06-02T08:00:00+00:00"}))  # fmt: skip
        _work_signals(wired)
        east = wired.decisions.latest("eastus")
        assert east is not None and east.decision.outcome.value == "started"  # the drill passed within 30 days
        west = wired.decisions.latest("westeurope")
        assert west is not None and f"already has an active run {manual}" in " ".join(west.decision.reasons)
        north = wired.decisions.latest("northeurope")
        assert north is not None and "VM count of plan:gone is unknown" in north.decision.reasons[0]
        france = wired.decisions.latest("francecentral")
        assert france is not None and "2 VMs across the region's targets exceed maxVms 1" in " ".join(
            france.decision.reasons)  # fmt: skip
        every = wired.decisions.list(None, None, 100)
        assert [r.decision.at for r in every] == sorted((r.decision.at for r in every), reverse=True)
        assert {r.region for r in every} >= {"eastus", "westeurope", "northeurope", "francecentral"}
        assert wired.decisions.list(None, every[0].decision.at, 100)[0].id == every[0].id
