"""The probe state machine and the protected-VM share: signals on flips only, with stable keys."""

from __future__ import annotations

import pytest

from lib.domain.errors import ValidationError
from lib.guard import ProbeState, VmAvailability, observe_probe, unavailable_share, vm_share_signal
from lib.signals import RegionHealthSignal, SignalState, Source
from tests.unit.policy.helpers import minutes

URL = "https://app.example.com/health"


def play(results: str, needed: int = 3) -> tuple[ProbeState, list[RegionHealthSignal]]:
    """Probe once a minute; ``results`` is a string of ``+`` (success) and ``-`` (failure)."""
    state, raised = ProbeState("eastus", URL), []
    for i, mark in enumerate(results):
        state, signal = observe_probe(state, mark == "+", minutes(i), needed)
        assert ProbeState.from_json(state.to_json()) == state
        if signal is not None:
            raised.append(signal)
    return state, raised


@pytest.mark.parametrize(
    ("results", "states"),
    [
        ("--", []),
        ("---", ["active"]),
        ("--+--", []),  # not in a row
        ("-----", ["active"]),  # one active signal, not one per failure
        ("---++", ["active"]),
        ("---+++", ["active", "resolved"]),
        ("---++-+++", ["active", "resolved"]),  # a failure restarts the count of successes
        ("---+++---", ["active", "resolved", "active"]),
    ],
)
def test_failures_in_a_row_signal_and_as_many_successes_resolve(results: str, states: list[str]) -> None:
    _, raised = play(results)
    assert [s.state.value for s in raised] == states
    assert all(s.source is Source.PROBE and s.regions == ("eastus",) for s in raised)


def test_probe_keys_are_stable_and_a_new_outage_is_a_new_incident() -> None:
    _, raised = play("---+++---")
    first, resolved, second = raised
    assert first.incident == resolved.incident == f"probe:{URL}@{minutes(2).isoformat()}"
    assert first.notification != resolved.notification
    assert second.incident != first.incident
    assert play("---+++---")[1] == raised  # the same results give the same keys
    assert resolved.at == minutes(5)


def test_one_failure_is_enough_when_the_policy_says_so() -> None:
    assert [s.state for s in play("-+", needed=1)[1]] == [SignalState.ACTIVE, SignalState.RESOLVED]


VMS = ["vm1", "vm2", "vm3", "vm4"]


def availability(*down: str, at: float = 0) -> dict[str, VmAvailability]:
    return {vm: VmAvailability(vm not in down, minutes(at + i)) for i, vm in enumerate(VMS)}


@pytest.mark.parametrize(("down", "share"), [((), 0.0), (("vm1",), 0.25), (("vm1", "VM2"), 0.5)])
def test_unavailable_share(down: tuple[str, ...], share: float) -> None:
    latest = {k.upper() if k == "vm2" else k: v for k, v in availability(*(d.lower() for d in down)).items()}
    assert unavailable_share(VMS, latest) == share


def test_unreported_vms_count_as_available() -> None:
    assert unavailable_share(VMS, {"vm1": VmAvailability(False, minutes(0))}) == 0.25
    assert unavailable_share([], {}) == 0.0


def test_share_signal_flips_at_the_threshold_only() -> None:
    assert vm_share_signal("eastus", VMS, availability("vm1"), 0.5, None) is None
    active = vm_share_signal("eastus", VMS, availability("vm1", "vm2"), 0.5, None)
    assert active is not None and active.state is SignalState.ACTIVE and active.source is Source.RESOURCE_HEALTH
    assert active.regions == ("eastus",) and active.at == minutes(3)
    assert vm_share_signal("eastus", VMS, availability("vm1", "vm2", "vm3"), 0.5, active.at) is None  # still active
    resolved = vm_share_signal("eastus", VMS, availability("vm1", at=10), 0.5, active.at)
    assert resolved is not None and resolved.state is SignalState.RESOLVED
    assert resolved.incident == active.incident
    assert resolved.notification != active.notification


def test_a_stored_probe_state_that_lost_a_field_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        ProbeState.from_json({"region": "eastus"})
    assert caught.value.field == "probeState"
