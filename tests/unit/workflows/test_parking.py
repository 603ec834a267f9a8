"""Parking's pure parts: which refusal parks a run, the retry backoff, holding parked VMs, the stored record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lib.domain.asr import Job, JobError
from lib.domain.dr import Timing
from lib.workflows.parked import Parked
from lib.workflows.parking import clear_retry, region_refusal, retry_delay
from lib.workflows.runstate import RunState

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)


def job(state: str, *errors: JobError) -> Job:
    return Job("j", "/jobs/j", "SwitchReplicationGroupProtection", state, state, "vm", "ProtectionEntity", T0, T0,
               errors=errors)  # fmt: skip


def test_only_a_failed_job_refused_for_the_region_parks() -> None:
    unavailable = JobError("PrimaryTargetSiteUnavailable", "the region is unavailable")
    assert region_refusal(job("Failed", JobError("150261", "other"), unavailable)) == unavailable
    assert region_refusal(job("Failed", JobError("150261", "Reprotect failed"))) is None  # a real failure fails
    assert region_refusal(job("InProgress", unavailable)) is None
    assert region_refusal(job("Succeeded", unavailable)) is None


def test_retries_back_off_like_the_reprotect_polls_and_stop_growing() -> None:
    timing = Timing(health_poll_s=60, health_poll_backoff=2, health_poll_max_s=600)
    assert [retry_delay(n, timing) for n in range(1, 7)] == [60, 120, 240, 480, 600, 600]


def test_the_parked_record_survives_the_stored_state_and_a_resume_clears_the_retry_time() -> None:
    state = RunState(parked=Parked("eastus", T0, ["AzureDemoVM"], 3, "X", "down", T0 + timedelta(minutes=5)))
    stored: dict[str, object] = {}
    state.save(stored)
    assert RunState.load(stored).parked == state.parked
    clear_retry(stored)
    loaded = RunState.load(stored).parked
    assert loaded is not None and loaded.retry_at is None and loaded.attempts == 3
    assert RunState.load({"version": 2, "vms": {}, "jobs": {}}).parked is None
