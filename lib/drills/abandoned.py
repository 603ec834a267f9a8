"""Test failovers left waiting for cleanup: which ones the drill timer cleans up, and why (pure), then the action.

A test VM left running costs money and blocks the next test failover of its VM. One is abandoned when no active
drill run owns its VM and either a drill run of ours that started it is over (cancelled, or failed before its
cleanup), or it has waited for cleanup longer than the limit (a test someone started by hand and forgot).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from lib.domain.asr import Operation, ProtectedItem

__all__ = ["WAITING", "CleanupChoice", "Ownership", "choose_cleanups"]

WAITING = "WaitingForCompletion"


@dataclass(frozen=True)
class Ownership:
    """Who owns which test failover: ``owned`` VM -> the active run holding it; ``ended_jobs`` ASR job -> our
    finished drill run that started it; ``job_ends`` ASR job -> when it ended (ASR's clock; None when unknown)."""

    owned: Mapping[str, str]
    ended_jobs: Mapping[str, str]
    job_ends: Mapping[str, datetime | None]


@dataclass(frozen=True)
class CleanupChoice:
    vm: str  # lower case
    item: ProtectedItem
    clean: bool  # True: start testFailoverCleanup now
    reason: str


def _choose(item: ProtectedItem, whose: Ownership, now: datetime, limit: timedelta) -> CleanupChoice:
    vm = item.vm_name.lower()
    owned, ended_jobs = whose.owned, whose.ended_jobs

    def choice(clean: bool, reason: str) -> CleanupChoice:
        return CleanupChoice(vm, item, clean, reason)

    if vm in owned:
        return choice(False, f"run {owned[vm]} is active on it (a drill cleans up its own test failover)")
    if not item.allows(Operation.TEST_FAILOVER_CLEANUP):
        return choice(False, "ASR does not allow a cleanup now (a job runs on the item)")
    job = item.current_job_name or ""
    if job in ended_jobs:
        return choice(True, f"left by drill run {ended_jobs[job]}, which ended without cleaning up")
    ended = whose.job_ends.get(job)
    if ended is None:
        return choice(False, "the test failover's age is unknown (ASR no longer lists its job)")
    waited = now - ended
    if waited < limit:
        return choice(False, f"waiting for cleanup for {waited.total_seconds() / 3600:.1f} h, under the limit")
    hours = limit.total_seconds() / 3600
    return choice(True, f"abandoned: waiting for cleanup since {ended:%Y-%m-%d %H:%M} UTC (over {hours:g} h)")


def choose_cleanups(
    items: Sequence[ProtectedItem], whose: Ownership, now: datetime, limit: timedelta
) -> list[CleanupChoice]:
    """Pure: for every item whose test failover waits for cleanup, whether to clean it up now and why."""
    waiting = [item for item in items if item.test_failover_state == WAITING]
    return [_choose(item, whose, now, limit) for item in waiting]
