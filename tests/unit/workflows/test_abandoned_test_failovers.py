"""Which test failovers waiting for cleanup the drill timer cleans up, and why (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from lib.domain.asr import ProtectedItem
from lib.drills import choose_cleanups
from lib.drills.abandoned import Ownership
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery

LIMIT = timedelta(hours=24)
NOW = T0 + timedelta(days=3)


def _items() -> list[ProtectedItem]:
    asr = FakeSiteRecovery(["web-1", "web-2", "db-1"])
    cleanup = frozenset({"TestFailoverCleanup"})
    state = "WaitingForCompletion"
    return [
        replace(asr.items["web-1"], current_job_name="job-old", test_failover_state=state, allowed_operations=cleanup),
        replace(
            asr.items["web-2"], current_job_name="job-recent", test_failover_state=state, allowed_operations=cleanup
        ),
        asr.items["db-1"],  # no test failover: never considered
    ]


def _choices(
    owned: dict[str, str] | None = None,
    ended_jobs: dict[str, str] | None = None,
    job_ends: dict[str, datetime | None] | None = None,
) -> dict[str, tuple[bool, str]]:
    ends = {"job-old": NOW - timedelta(hours=30), "job-recent": NOW - timedelta(hours=2)}
    ownership = Ownership(owned or {}, ended_jobs or {}, ends if job_ends is None else job_ends)
    return {c.vm: (c.clean, c.reason) for c in choose_cleanups(_items(), ownership, NOW, LIMIT)}


def test_a_test_failover_waiting_longer_than_the_limit_is_cleaned_up_with_its_reason() -> None:
    choices = _choices()
    assert set(choices) == {"web-1", "web-2"}
    assert choices["web-1"][0] and "abandoned" in choices["web-1"][1] and "over 24 h" in choices["web-1"][1]
    assert choices["web-2"] == (False, "waiting for cleanup for 2.0 h, under the limit")


def test_an_active_run_on_the_vm_keeps_the_timer_off_it() -> None:
    choices = _choices(owned={"web-1": "run-7"})
    assert choices["web-1"] == (False, "run run-7 is active on it (a drill cleans up its own test failover)")


def test_a_test_failover_left_by_our_finished_drill_is_cleaned_up_at_once() -> None:
    choices = _choices(ended_jobs={"job-recent": "run-9"})
    assert choices["web-2"] == (True, "left by drill run run-9, which ended without cleaning up")


def test_unknown_age_or_a_busy_item_is_left_alone() -> None:
    choices = _choices(job_ends={"job-recent": NOW})
    assert choices["web-1"] == (False, "the test failover's age is unknown (ASR no longer lists its job)")
    busy = [replace(i, allowed_operations=frozenset()) for i in _items()]
    ownership = Ownership({}, {"job-old": "run-1"}, {})
    assert [c.clean for c in choose_cleanups(busy, ownership, NOW, LIMIT)] == [False, False]
