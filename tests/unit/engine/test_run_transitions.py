"""The run state machine, edge by edge: every legal edge lands where the spec says; everything else is refused."""

from __future__ import annotations

import itertools

import pytest

from lib.domain.runs import ACTIVE, FINISHED, RESUMABLE, TRANSITIONS, IllegalTransition, RunEvent, RunStatus, transition

S, E = RunStatus, RunEvent

# The specification, written out independently of the table in lib/domain/runs.py.
EXPECTED_EDGES = {
    (S.PENDING, E.START): S.RUNNING,
    (S.PENDING, E.CANCEL): S.CANCELLED,
    (S.PENDING, E.ABORT): S.FAILED,
    (S.RUNNING, E.STEP_NEXT): S.RUNNING,
    (S.RUNNING, E.STEP_WAIT): S.WAITING,
    (S.RUNNING, E.STEP_RETRY): S.WAITING,
    (S.RUNNING, E.STEP_PAUSE): S.AWAITING_APPROVAL,
    (S.RUNNING, E.STEP_DECIDE): S.AWAITING_DECISION,
    (S.RUNNING, E.DONE): S.SUCCEEDED,
    (S.RUNNING, E.DONE_PARTIAL): S.PARTIALLY_SUCCEEDED,
    (S.RUNNING, E.FAIL): S.FAILED,
    (S.RUNNING, E.ABORT): S.FAILED,
    (S.RUNNING, E.CANCEL): S.CANCELLED,
    (S.WAITING, E.TIMER_FIRED): S.RUNNING,
    (S.WAITING, E.CANCEL): S.CANCELLED,
    (S.WAITING, E.ABORT): S.FAILED,
    (S.WAITING, E.RESUME): S.RUNNING,
    (S.AWAITING_APPROVAL, E.APPROVE): S.RUNNING,
    (S.AWAITING_APPROVAL, E.APPROVAL_TIMEOUT): S.RUNNING,
    (S.AWAITING_APPROVAL, E.RESUME): S.RUNNING,
    (S.AWAITING_APPROVAL, E.CANCEL): S.CANCELLED,
    (S.AWAITING_APPROVAL, E.ABORT): S.FAILED,
    (S.AWAITING_DECISION, E.DECIDE): S.RUNNING,
    (S.AWAITING_DECISION, E.CANCEL): S.CANCELLED,
    (S.AWAITING_DECISION, E.ABORT): S.FAILED,
    (S.PENDING, E.CONTINUE): S.PENDING,
    (S.RUNNING, E.CONTINUE): S.RUNNING,
    (S.WAITING, E.CONTINUE): S.WAITING,
    (S.RUNNING, E.CANCEL_REQUEST): S.RUNNING,
    (S.WAITING, E.CANCEL_REQUEST): S.WAITING,
    (S.FAILED, E.RESUME): S.RUNNING,
    (S.PARTIALLY_SUCCEEDED, E.RESUME): S.RUNNING,
}

NON_EDGES = [pair for pair in itertools.product(RunStatus, RunEvent) if pair not in EXPECTED_EDGES]


def _id(pair: tuple[RunStatus, RunEvent]) -> str:
    return f"{pair[0].value}--{pair[1].value}"


@pytest.mark.parametrize("edge", sorted(EXPECTED_EDGES), ids=_id)
def test_every_edge_lands_on_its_target(edge: tuple[RunStatus, RunEvent]) -> None:
    status, event = edge
    assert transition(status, event) is EXPECTED_EDGES[edge]


@pytest.mark.parametrize("pair", NON_EDGES, ids=_id)
def test_every_non_edge_is_refused_with_its_from_state_and_event(pair: tuple[RunStatus, RunEvent]) -> None:
    status, event = pair
    with pytest.raises(IllegalTransition) as caught:
        transition(status, event, "run-7")
    assert caught.value.from_status is status
    assert caught.value.event is event
    assert caught.value.run_id == "run-7"
    assert status.value in str(caught.value) and event.value in str(caught.value)


def test_the_table_is_exactly_the_specification() -> None:
    assert dict(TRANSITIONS) == EXPECTED_EDGES


def test_create_is_never_an_edge_and_finished_runs_only_resume() -> None:
    assert all(event is not E.CREATE for _, event in TRANSITIONS)
    assert {s for s, e in TRANSITIONS if s in FINISHED} == {S.FAILED, S.PARTIALLY_SUCCEEDED}
    assert {S.FAILED, S.PARTIALLY_SUCCEEDED, S.AWAITING_APPROVAL} == RESUMABLE
    assert set(RunStatus) == ACTIVE | FINISHED and not ACTIVE & FINISHED
