"""The probe of one URL as a small state machine: ``failuresToSignal`` failures in a row make an active signal
from source ``probe``; as many successes in a row resolve it. The probe timer keeps ``ProbeState`` durable.

Keys are stable: the incident is the URL and the time the streak turned active, so a redelivered or recomputed
signal has the same keys, and a later outage of the same URL is a new incident (it may start a new run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lib.domain.errors import ValidationError
from lib.signals import RegionHealthSignal, SignalState, Source

__all__ = ["ProbeState", "observe_probe"]


@dataclass(frozen=True)
class ProbeState:
    region: str
    url: str
    failures: int = 0  # failures in a row while healthy
    successes: int = 0  # successes in a row while signalling
    active_since: datetime | None = None  # when the active signal was raised; None: healthy

    def to_json(self) -> dict[str, Any]:
        since = self.active_since.isoformat() if self.active_since else None
        return {
            "region": self.region,
            "url": self.url,
            "failures": self.failures,
            "successes": self.successes,
            "activeSince": since,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ProbeState:
        try:
            since = data.get("activeSince")
            return cls(
                region=str(data["region"]),
                url=str(data["url"]),
                failures=int(data.get("failures", 0)),
                successes=int(data.get("successes", 0)),
                active_since=datetime.fromisoformat(since) if since else None,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError("probeState", f"is not a stored probe state ({exc})") from None


def observe_probe(
    state: ProbeState, ok: bool, at: datetime, failures_to_signal: int
) -> tuple[ProbeState, RegionHealthSignal | None]:
    """The state after one probe at ``at``, and the signal it raises (active or resolved) when it flips."""
    if state.active_since is None:
        return _while_healthy(state, ok, at, failures_to_signal)
    return _while_down(state, state.active_since, ok, at, failures_to_signal)


def _while_healthy(
    state: ProbeState, ok: bool, at: datetime, needed: int
) -> tuple[ProbeState, RegionHealthSignal | None]:
    if ok:
        return replace(state, failures=0, successes=0), None
    failures = state.failures + 1
    if failures < needed:
        return replace(state, failures=failures), None
    down = replace(state, failures=0, successes=0, active_since=at)
    return down, _signal(down, at, at, SignalState.ACTIVE, needed)


def _while_down(
    state: ProbeState, since: datetime, ok: bool, at: datetime, needed: int
) -> tuple[ProbeState, RegionHealthSignal | None]:
    if not ok:
        return replace(state, successes=0), None
    successes = state.successes + 1
    if successes < needed:
        return replace(state, successes=successes), None
    healthy = replace(state, failures=0, successes=0, active_since=None)
    return healthy, _signal(state, since, at, SignalState.RESOLVED, needed)


def _signal(probe: ProbeState, since: datetime, at: datetime, state: SignalState, needed: int) -> RegionHealthSignal:
    region, url = probe.region, probe.url
    incident = f"probe:{url}@{since.isoformat()}"
    what = "failed" if state is SignalState.ACTIVE else "succeeded"
    return RegionHealthSignal(
        source=Source.PROBE,
        incident=incident,
        notification=f"{incident}:{state.value}",
        state=state,
        at=at,
        regions=(region,),
        title=f"{url} {what} {needed} times in a row",
    )
