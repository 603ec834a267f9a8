"""The probe timer's use case: probe every URL of the policy, keep each probe's streak, and send a signal when
a probe flips (``failuresToSignal`` failures in a row -> active; as many successes -> resolved).

observe (one GET per URL, in parallel) -> decide (``observe_probe``, pure) -> act (store the new state with the
signal in the record's outbox, ETag-guarded; send the outbox to the signals queue; empty it). A crash between
the store and the send leaves the message in the outbox, and the next run sends it: a signal is never lost, and
a resend carries the same notification key, which the intake deduplicates.
"""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

from lib.guard.policy import Policy, Probe
from lib.guard.probes import ProbeState, observe_probe
from lib.ports.clock import Clock
from lib.ports.probe import HttpProbe, ProbeResult
from lib.ports.source_state import MessageSender, ProbeRecord, ProbeStateStore, StaleWrite
from lib.signals import RegionHealthSignal

__all__ = ["ProbeOutcome", "ProbeRunner", "probes_of", "signal_message"]

log = logging.getLogger("autopilot.probing")

MAX_PARALLEL = 8


def signal_message(signal: RegionHealthSignal) -> str:
    """The signals queue's message for one signal (the intake's contract)."""
    return json.dumps({"v": 1, "kind": "signal", "signal": signal.to_json()})


def probes_of(policy: Policy) -> list[tuple[str, Probe]]:
    """(region, probe) for every probe of the policy, in a stable order."""
    return [(name, probe) for name in sorted(policy.regions) for probe in policy.regions[name].probes]


@dataclass(frozen=True)
class ProbeOutcome:
    region: str
    url: str
    ok: bool
    detail: str
    signal: RegionHealthSignal | None = None  # the flip this probe raised now
    sent: int = 0  # messages sent (this flip and any left in the outbox by an earlier run)
    skipped: str = ""  # why this result was not recorded (another run stored the probe meanwhile)


class ProbeRunner:
    def __init__(self, probe: HttpProbe, store: ProbeStateStore, queue: MessageSender, clock: Clock) -> None:
        self._probe = probe
        self._store = store
        self._queue = queue
        self._clock = clock

    def run(self, policy: Policy) -> list[ProbeOutcome]:
        probes = probes_of(policy)
        if not probes:
            return []
        with ThreadPoolExecutor(max_workers=min(MAX_PARALLEL, len(probes))) as pool:
            results = list(pool.map(self._check, (p.url for _, p in probes)))
        return [
            self._act(region, probe, result, at) for (region, probe), (result, at) in zip(probes, results, strict=True)
        ]

    def _check(self, url: str) -> tuple[ProbeResult | str, datetime]:
        """The result, or why the probe could not run at all (a bug, not an outage: it counts neither way)."""
        try:
            result: ProbeResult | str = self._probe.check(url)
        except Exception as exc:  # one broken probe must not stop the others; logged with its cause
            log.exception("probe %s could not run", url)
            result = f"the probe could not run: {type(exc).__name__}: {exc}"
        return result, self._clock.now()

    def _act(self, region: str, probe: Probe, result: ProbeResult | str, at: datetime) -> ProbeOutcome:
        if isinstance(result, str):
            return ProbeOutcome(region, probe.url, False, result, skipped=result)
        loaded = self._store.load(region, probe.url)
        record = loaded.value if loaded else ProbeRecord(ProbeState(region, probe.url))
        state, signal = observe_probe(record.state, result.ok, at, probe.failures_to_signal)
        outbox = record.outbox + ((signal_message(signal),) if signal is not None else ())
        outcome = ProbeOutcome(region, probe.url, result.ok, result.detail)
        updated, etag = ProbeRecord(state, outbox), loaded.etag if loaded else None
        if loaded is None or updated != loaded.value:  # a steady probe costs no write (storage bills each one)
            try:
                etag = self._store.save(updated, etag)
            except StaleWrite:  # another run of the timer stored this probe meanwhile: its result counts, not ours
                return replace(outcome, skipped="stored meanwhile by another run")
        if not outbox:
            return outcome
        for body in outbox:
            self._queue.send(body)
        try:
            self._store.save(ProbeRecord(state, ()), etag)
        except StaleWrite:
            log.warning("probe %s: outbox sent, but the record changed meanwhile; a later run resends it", probe.url)
        return replace(outcome, signal=signal, sent=len(outbox))
