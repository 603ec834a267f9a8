"""The probe timer's use case on fakes: one message per flip, the outbox survives a failed send, a lost race
skips the result, and a policy without probes probes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from lib.adapters.clocks import ManualClock
from lib.autopilot.probing import ProbeRunner, probes_of, signal_message
from lib.guard.policy import Policy, Probe, RegionPolicy, Target
from lib.ports.probe import ProbeResult
from lib.signals import RegionHealthSignal, SignalState, Source
from tests.unit.autopilot.fakes import T0, ListQueue, MemoryProbeStates, ScriptedProbe

URL = "https://app.eastus.example/health"
OTHER = "https://app.westeurope.example/health?deep=1"
POLICY = Policy({
    "eastus": RegionPolicy((Target(vms=("vm1",)),), probes=(Probe(URL, 3),)),
    "westeurope": RegionPolicy((Target(vms=("vm2",)),), probes=(Probe(OTHER, 1),)),
    "northeurope": RegionPolicy((Target(vms=("vm3",)),)),
})  # fmt: skip


def runner(script: dict[str, list[bool]]) -> tuple[ProbeRunner, MemoryProbeStates, ListQueue, ManualClock]:
    store, queue, clock = MemoryProbeStates(), ListQueue(), ManualClock(T0)
    return ProbeRunner(ScriptedProbe(script), store, queue, clock), store, queue, clock


def signals(queue: ListQueue) -> list[RegionHealthSignal]:
    out = []
    for body in queue.sent:
        message = json.loads(body)
        assert set(message) == {"v", "kind", "signal"} and (message["v"], message["kind"]) == (1, "signal")
        out.append(RegionHealthSignal.from_json(message["signal"]))
    return out


def test_failures_to_signal_failures_raise_one_active_signal_and_as_many_successes_resolve_it() -> None:
    run, _, queue, clock = runner({URL: [False] * 5 + [True] * 3, OTHER: [True]})
    for minute in range(8):
        clock.set(T0 + timedelta(minutes=minute))
        run.run(POLICY)
        expected = 0 if minute < 2 else 1 if minute < 7 else 2
        assert len(queue.sent) == expected, f"after probe {minute + 1}"
    active, resolved = signals(queue)
    assert (active.source, active.state, active.regions) == (Source.PROBE, SignalState.ACTIVE, ("eastus",))
    assert active.at == T0 + timedelta(minutes=2) and active.title == f"{URL} failed 3 times in a row"
    assert resolved.state is SignalState.RESOLVED and resolved.incident == active.incident
    assert resolved.at == T0 + timedelta(minutes=7)


def test_every_region_with_probes_is_probed_and_reported() -> None:
    run, store, queue, _ = runner({URL: [True], OTHER: [False]})
    outcomes = run.run(POLICY)
    assert [(o.region, o.url, o.ok, o.sent) for o in outcomes] == [
        ("eastus", URL, True, 0),
        ("westeurope", OTHER, False, 1),
    ]
    assert outcomes[1].detail == "HTTP 503 Service Unavailable" and outcomes[1].signal is not None
    assert {k for k in store.records} == {("eastus", URL), ("westeurope", OTHER)}
    assert all(r.value.outbox == () for r in store.records.values())
    assert signals(queue)[0].regions == ("westeurope",)
    assert run.run(Policy({})) == [] and probes_of(Policy({})) == []


def test_a_failed_send_leaves_the_signal_in_the_outbox_and_the_next_run_sends_it() -> None:
    run, store, queue, clock = runner({OTHER: [False], URL: [True]})
    queue.fail_next = 1
    with pytest.raises(ConnectionError):
        run.run(POLICY)
    kept = store.records[("westeurope", OTHER)].value
    assert len(kept.outbox) == 1 and kept.state.active_since == T0
    clock.advance(timedelta(minutes=1))
    outcomes = run.run(POLICY)  # still failing: no new flip, but the pending message goes out
    assert [o.sent for o in outcomes] == [0, 1] and outcomes[1].signal is None
    assert queue.sent == list(kept.outbox) and store.records[("westeurope", OTHER)].value.outbox == ()


def test_a_probe_stored_meanwhile_by_another_run_skips_this_result() -> None:
    run, store, queue, _ = runner({OTHER: [False], URL: [True]})
    store.etags.races = 1  # the first save (eastus) loses
    outcomes = run.run(POLICY)
    assert outcomes[0].skipped == "stored meanwhile by another run" and outcomes[1].sent == 1
    assert ("eastus", URL) not in store.records and len(queue.sent) == 1


def test_the_message_is_the_intakes_contract() -> None:
    signal = RegionHealthSignal(Source.PROBE, "probe:x@t", "probe:x@t:active", SignalState.ACTIVE, T0, ("eastus",))
    assert json.loads(signal_message(signal)) == {"v": 1, "kind": "signal", "signal": signal.to_json()}


class BrokenProbe(ScriptedProbe):
    def check(self, url: str) -> ProbeResult:
        if url == URL:
            raise ValueError("unexpected")
        return super().check(url)


def test_a_probe_that_cannot_run_counts_neither_way_and_the_others_go_on() -> None:
    store, queue = MemoryProbeStates(), ListQueue()
    run = ProbeRunner(BrokenProbe({OTHER: [False]}), store, queue, ManualClock(T0))
    broken, other = run.run(POLICY)
    assert broken.skipped == "the probe could not run: ValueError: unexpected" and not broken.ok
    assert ("eastus", URL) not in store.records and other.sent == 1


def test_a_steady_probe_is_written_once() -> None:
    run, store, queue, clock = runner({URL: [True], OTHER: [True]})
    for _ in range(5):
        run.run(POLICY)
        clock.advance(timedelta(minutes=1))
    assert store.writes == 2 and queue.sent == []  # one per probe, when first seen
