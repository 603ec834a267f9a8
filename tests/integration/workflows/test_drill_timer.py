"""The drill timer and run reports on the whole stack: Azurite (tables, queues, blobs) and the HTTPS ASR emulator
through the production adapter, wired by ``lib.bootstrap.build``.

- a report is written once per run, and a second attempt leaves the first intact;
- a drill starts when due, a second tick in the same period starts nothing new, and a passed drill is not due;
- a test failover run by hand (through ASR's API) resets the due date;
- an abandoned test failover is cleaned up with its reason; so is the test VM of a cancelled drill;
- a worker that dies mid-drill still leaves the test VMs cleaned up.
"""

from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest
from azure.storage.blob import ContainerClient

from lib.adapters.clocks import ManualClock
from lib.domain.runs import RunStatus
from lib.drills import DrillTimer, drill_timer
from lib.drills.freshness import last_drill_ok
from lib.engine import CrashPoint, InjectedCrash, LeaseHeld
from lib.guard import Policy, Target, parse_policy
from lib.reports import report_name
from tests.integration.workflows.conftest import NETWORK, Stack, topology

pytestmark = pytest.mark.integration


def _policy(**drills: dict[str, Any]) -> Policy:
    parsed = parse_policy(json.dumps({"drills": drills}))
    assert isinstance(parsed, Policy), parsed
    return parsed


def _drill(vms: list[str], every_days: int = 30) -> dict[str, Any]:
    return {"target": {"vms": vms}, "everyDays": every_days, "testNetworkId": NETWORK}


class Log:
    def __init__(self) -> None:
        self.lines: list[tuple[str, str, str]] = []
        self.details: list[dict[str, Any]] = []

    def record(self, kind: str, subject: str, reason: str, details: Any) -> None:
        self.lines.append((kind, subject, reason))
        self.details.append(dict(details))


def _timer(stack: Stack, log: Log, clock: Any = None) -> DrillTimer:
    timer = drill_timer(stack.app, log=log)
    return replace(timer, clock=clock) if clock is not None else timer


def _container(stack: Stack) -> ContainerClient:
    settings = stack.app.settings
    return ContainerClient.from_connection_string(settings.storage_connection, settings.reports_container)


def _wait_vm(stack: Stack, vm: str, tfo_state: str, deadline_s: float = 60.0) -> dict[str, Any]:
    deadline = time.monotonic() + deadline_s
    while True:
        state = stack.vm(vm)
        if state["testFailoverState"] == tfo_state and not state.get("busyJob"):
            return state
        assert time.monotonic() < deadline, f"{vm} never reached testFailoverState {tfo_state}: {state}"
        time.sleep(0.1)


def _item(stack: Stack, vm: str) -> Any:
    return next(i for i in stack.app.deps.asr.list_protected_items() if i.vm_name == vm)


def _test_by_hand(stack: Stack, vm: str, *, clean: bool) -> None:
    """A test failover someone ran through ASR's API (portal, CLI), not through this app."""
    asr = stack.app.deps.asr
    asr.test_failover(_item(stack, vm).ref, network_id=NETWORK)
    _wait_vm(stack, vm, "WaitingForCompletion")
    if clean:
        asr.test_failover_cleanup(_item(stack, vm).ref, comments="by hand")
        _wait_vm(stack, vm, "None")


def test_a_report_is_written_once_per_run_and_a_second_attempt_leaves_the_first_intact(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        run_id = stack.start("drill", {"vms": ["web-1"], "test_network_id": NETWORK})
        run = stack.finish(run_id)
        assert run.status is RunStatus.SUCCEEDED, run.error
        container = _container(stack)
        names = {report_name(run_id, run.created_at, ext) for ext in ("json", "html")}
        assert set(container.list_blob_names(name_starts_with=f"runs/{run.created_at:%Y}/")) >= names
        json_name = report_name(run_id, run.created_at, "json")
        first = container.get_blob_client(json_name).get_blob_properties()
        report = json.loads(container.download_blob(json_name).readall())
        assert report["runId"] == run_id and report["status"] == "succeeded" and report["validation"]["ok"]
        html = container.get_blob_client(report_name(run_id, run.created_at, "html"))
        assert str(html.get_blob_properties().content_settings.content_type).startswith("text/html")

        again = stack.app.reports.write(run_id)  # e.g. the repair timer, or a redelivered final step

        assert again.written == () and set(again.existed) == names
        after = container.get_blob_client(json_name).get_blob_properties()
        assert (after.etag, after.last_modified) == (first.etag, first.last_modified)
        assert stack.app.reports.write_missing() == []


def test_the_repair_timer_writes_a_report_a_crash_left_unwritten(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        stack.app.engine.remove_observer(stack.app.reports.observe)  # the worker dies before writing it
        run_id = stack.start("drill", {"vms": ["web-1"], "test_network_id": NETWORK})
        run = stack.finish(run_id)
        json_name = report_name(run_id, run.created_at, "json")
        assert _container(stack).get_blob_client(json_name).exists() is False

        assert stack.app.reports.write_missing() == [run_id]
        assert _container(stack).get_blob_client(json_name).exists()


def test_a_due_drill_starts_once_per_period_and_a_passed_drill_is_not_due(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"])) as stack:
        log = Log()
        timer = _timer(stack, log)
        policy = _policy(nightly=_drill(["web-1", "web-2"]))

        first = timer.tick(policy)
        [started] = first.started
        assert started["created"] and "never drilled" in started["reason"]
        second = timer.tick(policy)  # the drill runs: its VMs are busy
        assert second.started == []
        assert second.skipped == [{"drill": "nightly", "reason": second.skipped[0]["reason"]}]
        assert "a run is active on web-1" in second.skipped[0]["reason"]

        run = stack.finish(started["runId"])
        assert run.status is RunStatus.SUCCEEDED, run.error
        assert stack.posts("testFailover") == 2 and stack.posts("testFailoverCleanup") == 2
        third = timer.tick(policy)
        assert third.started == [] and third.skipped[0]["reason"].startswith("not due yet")
        assert [k for k, _, _ in log.lines] == ["drill-start", "drill-skip", "drill-skip"]


def test_a_failed_drill_stays_due_but_its_period_never_starts_a_second_one(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        drill = _drill(["web-1"]) | {"probeUrl": "http://127.0.0.1:9/"}  # nothing answers: validation fails
        policy = _policy(nightly=drill)
        log = Log()
        [first] = _timer(stack, log).tick(policy).started
        run = stack.finish(first["runId"])
        assert run.status is RunStatus.FAILED and run.error_code == "DrillFailed"
        assert _item(stack, "web-1").last_successful_test_failover_time is not None  # ASR stamps it at cleanup

        again = _timer(stack, log).tick(policy)  # still due (the drill failed), in the same period

        assert again.started == [{**first, "created": False, "reason": again.started[0]["reason"]}]
        assert "never drilled" in again.started[0]["reason"]  # ASR's stamp from our failed drill does not count
        assert stack.posts("testFailover") == 1
        assert [k for k, _, _ in log.lines] == ["drill-start"]


def test_a_test_failover_by_hand_resets_the_due_date(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"])) as stack:
        _test_by_hand(stack, "web-2", clean=True)
        by_hand = _item(stack, "web-2").last_successful_test_failover_time
        assert by_hand is not None

        report = _timer(stack, Log()).tick(_policy(tested=_drill(["web-2"]), untested=_drill(["web-1"])))

        assert [s["drill"] for s in report.started] == ["untested"]
        [skipped] = report.skipped
        assert skipped["drill"] == "tested" and skipped["reason"].startswith("not due yet")
        assert f"{by_hand:%Y-%m-%d %H:%M}" in skipped["reason"]
        # The failover policy's drill gate reads the same source.
        gate = last_drill_ok(stack.app.deps.asr, stack.app.storage.store)
        assert gate(Target(vms=("web-2",))) == by_hand and gate(Target(vms=("web-1", "web-2"))) is None
        stack.finish(report.started[0]["runId"])


def _emulator_now(stack: Stack) -> datetime:
    return datetime.fromisoformat(stack.emu.state()["now"].replace("Z", "+00:00"))


def test_an_abandoned_test_failover_is_cleaned_up_with_its_reason(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1", "web-2"])) as stack:
        _test_by_hand(stack, "web-1", clean=False)
        log = Log()
        # The emulator's clock runs ahead of ours: look from a day past its "now", as the timer would then.
        early = _timer(stack, log, ManualClock(_emulator_now(stack))).tick(Policy())
        assert early.cleaned == [] and early.left[0]["vm"] == "web-1" and "under the limit" in early.left[0]["reason"]

        late = _timer(stack, log, ManualClock(_emulator_now(stack) + timedelta(hours=25))).tick(Policy())

        [cleaned] = late.cleaned
        assert cleaned["vm"] == "web-1" and cleaned["reason"].startswith("abandoned")
        assert log.lines[-1][0] == "test-failover-cleanup" and log.lines[-1][1] == "web-1"
        _wait_vm(stack, "web-1", "None")
        assert stack.posts("testFailoverCleanup") == 1
        # Cleaned: the next tick finds nothing to do, and never issues the cleanup twice.
        assert _timer(stack, log, ManualClock(_emulator_now(stack) + timedelta(hours=25))).tick(Policy()).cleaned == []
        assert stack.posts("testFailoverCleanup") == 1


def _stop_at(step: str, point: CrashPoint) -> tuple[list[str], Any]:
    stopped: list[str] = []

    def hook(at: CrashPoint, run: Any) -> None:
        if at is point and run.step == step and not stopped:
            stopped.append(run.run_id)
            raise InjectedCrash(at.value, run.run_id)

    return stopped, hook


def _process_until_stopped(stack: Stack, stopped: list[str]) -> None:
    for _ in range(600):
        try:
            for message in stack.app.engine.queue.receive(1, 1):  # redelivered after a second: the restart
                stack.app.engine.executor().process(message, held=True)
        except InjectedCrash:
            return
        time.sleep(0.02)
    raise AssertionError(f"never stopped: {stopped}")


def _cancel_when_free(stack: Stack, run_id: str) -> None:
    for _ in range(50):
        try:
            stack.app.engine.cancel(run_id, by="operator", reason="changed my mind")
            return
        except LeaseHeld:  # the stopped worker's lease lapses within a second
            time.sleep(0.1)
    raise AssertionError("the lease never lapsed")


def test_a_cancelled_drill_leaves_no_test_vm_behind(dr_stack: Any) -> None:
    stopped, hook = _stop_at("validate", CrashPoint.BEFORE_STEP)
    with dr_stack(topology(["web-1"]), crash_hook=hook) as stack:
        run_id = stack.start("drill", {"vms": ["web-1"], "test_network_id": NETWORK})
        _process_until_stopped(stack, stopped)  # the test VM runs; the run is about to validate
        _wait_vm(stack, "web-1", "WaitingForCompletion")
        _cancel_when_free(stack, run_id)

        run = stack.finish(run_id)  # a cancel after the test failover skips validation and cleans up first
        assert run.status.value == "cancelled", run
        assert stack.posts("testFailoverCleanup") == 1
        report = _timer(stack, Log()).tick(Policy())  # the next tick finds nothing left to clean
        assert report.cleaned == []
        assert stack.posts("testFailoverCleanup") == 1


def test_a_worker_dying_mid_drill_still_cleans_up(dr_stack: Any) -> None:
    stopped, hook = _stop_at("validate", CrashPoint.AFTER_STEP)
    with dr_stack(topology(["web-1"]), crash_hook=hook) as stack:
        run_id = stack.start("drill", {"vms": ["web-1"], "test_network_id": NETWORK})
        _process_until_stopped(stack, stopped)
        assert stopped == [run_id]

        run = stack.finish(run_id)  # the app restarted: its queue trigger takes the run up again

        assert run.status is RunStatus.SUCCEEDED, run.error
        vm = stack.vm("web-1")
        # The cleanup ran: the test VM is gone. The state may still read MarkedForDeletion for a few emulated
        # minutes after it, as ASR shows it, so both values mean "cleaned up".
        assert vm["testVmRunning"] is False and vm["testFailoverState"] in ("None", "MarkedForDeletion")
        assert stack.posts("testFailover") == 1 and stack.posts("testFailoverCleanup") == 1


class EastUsDown:
    def active(self, region: str) -> bool:
        return region == "eastus"


def test_an_incident_or_the_kill_switch_keeps_a_due_drill_from_starting(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        log = Log()
        down = drill_timer(stack.app, log=log, incidents=EastUsDown())
        [skipped] = down.tick(_policy(web=_drill(["web-1"]))).skipped
        assert skipped["reason"] == "due, but eastus has an active incident"
        recorded = log.details[0]
        assert recorded["regions"] == ["eastus"] and recorded["target"] == "vms:web-1" and recorded["policyHash"]
        killed = parse_policy(json.dumps({"killSwitch": True, "drills": {"web": _drill(["web-1"])}}))
        assert isinstance(killed, Policy)
        [off] = _timer(stack, log).tick(killed).skipped
        assert off["reason"] == "due, but the kill switch is on"
        assert [k for k, _, _ in log.lines] == ["drill-skip", "drill-skip"]
        assert stack.posts("testFailover") == 0


def test_the_timer_triggers_in_process(dr_stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two timer functions as the host calls them (the devhost test runs them in a host process)."""
    from azure.functions.timer import TimerRequest

    from functions import drills, http_common, reports

    with dr_stack(topology(["web-1"])) as stack:
        monkeypatch.setattr(http_common, "current_app", lambda: stack.app)
        monkeypatch.setenv("DR_POLICY", json.dumps({"drills": {"web": _drill(["web-1"])}}))
        drills.drill_timer_tick(TimerRequest())
        [run] = stack.app.engine.list_runs().items
        assert run.workflow == "drill"
        stack.app.engine.remove_observer(stack.app.reports.observe)
        finished = stack.finish(run.run_id)
        assert finished.status is RunStatus.SUCCEEDED, finished.error

        reports.reports_repair(TimerRequest())

        name = report_name(run.run_id, finished.created_at, "html")
        assert _container(stack).get_blob_client(name).exists()


def test_a_bad_policy_starts_no_drill_and_says_why(dr_stack: Any) -> None:
    with dr_stack(topology(["web-1"])) as stack:
        bad = parse_policy(json.dumps({"drills": {"web": {**_drill(["web-1"]), "everyDays": 0}}}))
        assert not isinstance(bad, Policy)
        log = Log()
        report = _timer(stack, log).tick(bad)
        assert report.started == [] and report.policy_errors == [bad.lines[0]]
        assert "drills.web.everyDays" in report.policy_errors[0]
        assert log.lines == [("drill-skip", "*", "the policy is invalid: no drill starts")]
