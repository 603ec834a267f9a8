"""A run parked because reprotect cannot succeed until a region is back (the state part, pure data).

After an outage failover the VMs run in the recovery region; reprotect makes the old primary their recovery
side, and ASR refuses that while the old primary region is down. The run then does not fail: it records here
which region it waits for and which VMs, retries with backoff, and is woken when the region recovers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lib.workflows.json_fields import Json, iso, parse_time

__all__ = ["WAITING_FOR_REGION", "Parked"]

WAITING_FOR_REGION = "waiting-for-region"  # the run's visible waiting state (reason prefix, view, events)


@dataclass
class Parked:
    region: str  # the region the run waits for (the VMs' old primary, their recovery side after reprotect)
    since: datetime  # when the run first parked
    vms: list[str] = field(default_factory=list)  # VMs whose reprotect waits for the region
    attempts: int = 0  # reprotect attempts refused so far for the region (the backoff grows with them)
    code: str = ""  # ASR's error code on the last refused attempt
    message: str = ""  # ASR's error message on it
    retry_at: datetime | None = None  # when the parked VMs try again (None: at once, e.g. after a resume)

    def to_json(self) -> Json:
        return {
            "state": WAITING_FOR_REGION,
            "region": self.region,
            "since": iso(self.since),
            "vms": list(self.vms),
            "attempts": self.attempts,
            "code": self.code,
            "message": self.message,
            "retry_at": iso(self.retry_at),
        }

    @classmethod
    def from_json(cls, data: object) -> Parked | None:
        if not isinstance(data, Mapping):
            return None
        since = parse_time(data.get("since"))
        attempts = data.get("attempts", 0)
        vms = data.get("vms")
        return cls(
            region=str(data.get("region", "")),
            since=since if since is not None else datetime.min.replace(tzinfo=UTC),
            vms=[str(vm) for vm in vms] if isinstance(vms, list) else [],
            attempts=attempts if isinstance(attempts, int) else 0,
            code=str(data.get("code", "")),
            message=str(data.get("message", "")),
            retry_at=parse_time(data.get("retry_at")),
        )
