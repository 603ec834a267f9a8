"""Job history preload (topology ``preloadJobs``): thousands of old, finished jobs, as a long-lived vault has.

They make the cost of listing the vault's jobs visible: a client that lists the whole history on a hot path
pays one page per ``pageSize`` jobs. ASR keeps job history for a long time; here they spread over 30 days.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from emulator.backend import Backend
from emulator.job_records import new_job
from emulator.models import Job

HISTORY_WINDOW = timedelta(days=30)
OLD_SCENARIOS = (
    ("TestFailover", "Test failover"),
    ("TestFailoverCleanup", "Test failover cleanup"),
    ("UnplannedFailover", "Failover"),
    ("CommitFailover", "Commit"),
    ("SwitchReplicationGroupProtection", "Reprotect"),
)


def preload_jobs(b: Backend, count: int, now: datetime) -> None:
    """``count`` finished jobs on the topology's VMs, oldest ~30 days back, all ended before ``now``."""
    items = sorted(b.items.values(), key=lambda i: i.name)
    if count <= 0 or not items:
        return
    step = HISTORY_WINDOW / count
    for n in range(count):
        item = items[n % len(items)]
        scenario, friendly = OLD_SCENARIOS[n % len(OLD_SCENARIOS)]
        start = now - timedelta(hours=1) - HISTORY_WINDOW + step * n  # the newest ended over 50 min ago
        job, _ = new_job(
            b, scenario=scenario, friendly=friendly, target_kind="item", target_name=item.name,
            object_name=item.vm, object_id=item.guid, instance_type="ProtectionEntity", result_kind="job",
            result_ref=(), item_names=[], start=start,
        )  # fmt: skip
        job.end = start + timedelta(minutes=3)
        job.custom_details = {"instanceType": "AsrJobDetails", "affectedObjectDetails": {}}
        b.add_job(job)


def preload_count(b: Backend) -> int:
    raw = b.topology.extra.get("preloadJobs", 0)
    if not isinstance(raw, int) or isinstance(raw, bool) or raw < 0:
        raise ValueError("topology: preloadJobs must be a non-negative integer")
    return raw


__all__ = ["Job", "preload_count", "preload_jobs"]
