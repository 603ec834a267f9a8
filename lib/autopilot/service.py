"""The autopilot: region-health signals in, guarded failover runs out. observe -> ``decide`` (pure) -> act.

``process`` takes one signals-queue message: it classifies a received payload, resolves a resource's region,
stores the signal under every region it names (a redelivery is found there and changes nothing) and evaluates each
of those regions. ``evaluate`` reads the region's signals and its targets' facts, asks ``lib.guard.decide``, and
acts: it starts the runs the decision starts (or, awaiting approval, runs that pause for an operator), sets the
dwell's durable timer, stores the decision with its runs, and publishes it as an operator event.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from lib.autopilot.known import Known
from lib.autopilot.messages import BadMessage, Evaluate, Message, Payload, SignalMessage, decode, encode
from lib.autopilot.orders import Starter, StartOrder, StartRefused
from lib.autopilot.scaling import scaled_policy
from lib.domain.dr import ApprovalGate
from lib.domain.errors import ValidationError
from lib.domain.events import DECISION
from lib.guard import Action, Decision, Outcome, Policy, PolicyErrors, RegionPolicy, TargetFacts, decide
from lib.ports.autopilot import NO_REGION, DecisionRecord, DecisionStore, SignalStore
from lib.ports.clock import Clock
from lib.ports.notifier import Notifier
from lib.signals import (
    EVERY_REGION,
    Classified,
    IgnoreCode,
    Ignored,
    RegionHealthSignal,
    from_alert_webhook,
    from_event_grid_event,
)

__all__ = ["DECISION_EVENT", "Autopilot", "FactsSource", "Resolver", "Sender", "unresolved"]

log = logging.getLogger("autopilot.decisions")

DECISION_EVENT = DECISION
# A redelivery that finds its notification stored but not yet weighed waits this long (scaled by DR_TIMER_SCALE)
# for the worker that stored it, instead of deciding a second time. The floor is real time, like the run lease's:
# how long a worker takes to weigh a signal does not shrink with the time scale (a loaded test machine takes
# seconds), and a second look too early weighs the region again for nothing (the started decision's claims keep
# it from being recorded twice).
DUPLICATE_GRACE_S = 60.0
DUPLICATE_GRACE_FLOOR_S = 15
# How often one worker sets aside a region's closed incidents (one read of the region's partition each time).
PRUNE_EVERY = timedelta(hours=1)
Resolver = Callable[[RegionHealthSignal], RegionHealthSignal | Ignored]
# (region, its policy, the incidents seen there) -> facts per Target.key; read lazily, only when decide asks.
StartedRuns = list[tuple[str, str]]  # (target key, run id) per run a decision started or found started
FactsSource = Callable[[str, RegionPolicy, frozenset[str]], Mapping[str, TargetFacts]]


class Sender(Protocol):
    """What the service needs of the signals queue: send a message, visible after ``delay_s`` seconds."""

    def send(self, body: str, delay_s: int = 0) -> str: ...


def unresolved(signal: RegionHealthSignal) -> RegionHealthSignal | Ignored:
    """The default resolver: a signal naming only a resource cannot be placed in a region."""
    if signal.regions or signal.impacts:
        return signal
    what = signal.resource_id or signal.incident
    return Ignored(f"its region could not be resolved ({what})", IgnoreCode.NO_REGION, signal.source,
                   signal.notification)  # fmt: skip


@dataclass
class Autopilot:
    policy: Policy | PolicyErrors
    signals: SignalStore
    decisions: DecisionStore
    queue: Sender
    notifier: Notifier
    clock: Clock
    facts: FactsSource
    starter: Starter
    resolver: Resolver = unresolved
    timer_scale: float = 1.0
    # Runs parked because a region was down (reprotect towards it cannot succeed) retry at once when the region
    # recovers: (region) -> the runs woken. Never a failback: they only finish protecting what already moved.
    on_recovered: Callable[[str], list[str]] | None = None
    # Incidents resolved and stored longer ago than this are set aside (``SignalStore.prune``): what an evaluation
    # reads stays the region's live incidents and those resolved recently.
    retention: timedelta = timedelta(days=7)
    _known: Known = field(default_factory=Known, init=False, repr=False)
    _pruned: dict[str, datetime] = field(default_factory=dict, init=False, repr=False)
    _locks: dict[str, threading.Lock] = field(default_factory=dict, init=False, repr=False)
    _locks_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    # -- intake ---------------------------------------------------------------------------------------

    def process(self, text: str | bytes) -> list[DecisionRecord]:
        """One signals-queue message. A message that is not ours is logged and dropped (never retried)."""
        try:
            message = decode(text)
        except (BadMessage, ValidationError) as exc:
            log.warning("signals queue: dropped a message that is not ours: %s", exc)
            return []
        return self.handle(message)

    def handle(self, message: Message) -> list[DecisionRecord]:
        if isinstance(message, Evaluate):
            record = self.evaluate(message.region)
            return [record] if record is not None else []
        if isinstance(message, SignalMessage):
            return self.receive(message.signal)
        return [record for item in _classify(message) for record in self.receive(item)]

    def receive(self, item: Classified) -> list[DecisionRecord]:
        if isinstance(item, RegionHealthSignal):
            item = self.resolver(item) if not (item.regions or item.impacts) else item
        if isinstance(item, Ignored):
            return self._ignored(item)
        records: list[DecisionRecord] = []
        busy = False
        for region in self._regions(item):
            if self._is_known(region, item.notification):
                continue  # weighed already: a redelivery changes nothing
            stored = self.signals.add(region, item)
            if stored.weighed:
                log.info("%s in %s: a redelivery of a weighed notification changes nothing", item.notification, region)
                self._remember(region, item.notification)
            elif not stored.new and self._young(stored.stored_at):
                busy = True  # another worker inserted it a moment ago and is weighing it now
            else:  # new, or inserted long ago by a worker that died before weighing it
                record = self.evaluate(region, item.notification)
                records += [record] if record is not None else []
                self.signals.mark_weighed(region, item.notification)
                self._remember(region, item.notification)
        if busy:
            # Look again after the grace: by then it is weighed (dropped) or its worker died (weighed then).
            self.queue.send(encode(SignalMessage(item)), delay_s=self._grace_s())
        return records

    def _is_known(self, region: str, notification: str) -> bool:
        return (region, notification) in self._known

    def _remember(self, region: str, notification: str) -> None:
        self._known.add((region, notification))

    def _grace_s(self) -> int:
        return max(DUPLICATE_GRACE_FLOOR_S, math.ceil(DUPLICATE_GRACE_S * self.timer_scale))

    def _young(self, stored_at: datetime | None) -> bool:
        if stored_at is None:
            return False
        return (self.clock.now() - stored_at).total_seconds() < self._grace_s()

    def _regions(self, signal: RegionHealthSignal) -> list[str]:
        named = dict.fromkeys([*signal.regions, *(r for i in signal.impacts for r in i.regions)])
        if EVERY_REGION in named:
            del named[EVERY_REGION]
            named.update(dict.fromkeys(self._policy_regions()))
        return list(named)

    def _policy_regions(self) -> list[str]:
        return sorted(self.policy.regions) if isinstance(self.policy, Policy) else []

    def _ignored(self, item: Ignored) -> list[DecisionRecord]:
        """Record why; a redelivery of a notification this worker recorded as ignored is not recorded again."""
        key = item.notification_key
        if key is not None and self._is_known(NO_REGION, key):
            return []
        now = self.clock.now()
        reason = f"ignored ({item.code.value}): {item.reason}"
        decision = Decision("", now, Outcome.IGNORED, (reason,), _hash(self.policy),
                            sources=(item.source.value,) if item.source else ())  # fmt: skip
        record = DecisionRecord(_new_id(now), decision, (), item.notification_key)
        self.decisions.add(record)
        if key is not None:
            self._remember(NO_REGION, key)
        return [record]

    # -- the decision -------------------------------------------------------------------------------

    def evaluate(self, region: str, notification: str | None = None) -> DecisionRecord | None:
        """Decide for ``region`` now, act, and record. None: a concurrent evaluation had recorded this very
        decision (``started`` naming the same runs), so this one records nothing.

        One evaluation per region at a time in this worker: updates of one incident arriving together would each
        decide "started" on facts that do not show the others' runs yet, and each start every target again (the
        idempotency key gives them the same runs, after reads that cost the worker seconds of CPU under a storm
        and slow down the alert webhook it shares the process with). The next one reads the runs and stops."""
        with self._region_lock(region):
            return self._evaluate(region, notification)

    def _region_lock(self, region: str) -> threading.Lock:
        with self._locks_lock:
            return self._locks.setdefault(region, threading.Lock())

    def _evaluate(self, region: str, notification: str | None) -> DecisionRecord | None:
        now = self.clock.now()
        rules = self.policy.region(region) if isinstance(self.policy, Policy) else None
        signals = self.signals.list(region) if rules is not None else []
        incidents = frozenset(s.incident for s in signals)
        facts = self.facts(region, rules, incidents) if rules is not None else {}
        weighed = scaled_policy(self.policy, self.timer_scale)
        decision = replace(decide(weighed, region, signals, now=now, facts=facts), policy_hash=_hash(self.policy))
        record_id = _started_id(decision) if decision.outcome is Outcome.STARTED else _new_id(now)
        started, notes = self._act(decision, rules, record_id)
        notes += self._wake(decision)
        runs = tuple(run for _target, run in started)
        record = DecisionRecord(record_id, replace(decision, reasons=(*decision.reasons, *notes)), runs, notification)
        self._timer(record, now)
        stored = self._store(record, _claims(decision, started))
        if stored is not None:
            self._publish(stored)
        if rules is not None:
            self._prune(region, now)
        return stored

    def _prune(self, region: str, now: datetime) -> None:
        """Set aside the region's long-closed incidents, at most once per ``PRUNE_EVERY`` per worker; after the
        decision, so pruning never holds one up, and a failure is only logged (the next prune does it)."""
        last = self._pruned.get(region)
        if last is not None and now - last < PRUNE_EVERY:
            return
        self._pruned[region] = now
        try:
            dropped = self.signals.prune(region, now - self.retention)
        except Exception as exc:
            log.warning("%s: could not prune closed incidents: %s", region, exc)
            return
        if dropped:
            log.info("%s: %d signal(s) of incidents closed before %s set aside", region, dropped,
                     (now - self.retention).isoformat())  # fmt: skip

    def _store(self, record: DecisionRecord, claims: dict[str, str]) -> DecisionRecord | None:
        """Record ``record`` unless another worker's record already names its runs: a started decision claims
        (incident, target, outcome) per run it names, create-only, so concurrent duplicates record it once."""
        while held := self.decisions.add(record, once=tuple(claims)):
            claims = {key: run for key, run in claims.items() if key not in held}
            if not claims:
                log.info("%s: decision %s names only runs a concurrent evaluation recorded; not recorded again",
                         record.region, record.id)  # fmt: skip
                return None
            note = f"{len(held)} run(s) left out: a concurrent evaluation recorded them as started"
            decision = replace(record.decision, reasons=(*record.decision.reasons, note))
            record = replace(record, runs=tuple(claims.values()), decision=decision)
        return record

    def _wake(self, decision: Decision) -> list[str]:
        if decision.outcome is not Outcome.RECOVERED or self.on_recovered is None:
            return []
        woken = self.on_recovered(decision.region)
        if not woken:
            return []
        return [f"woke {len(woken)} run(s) parked until {decision.region} came back: {', '.join(woken)}"]

    def _act(self, decision: Decision, rules: RegionPolicy | None, record_id: str) -> tuple[StartedRuns, list[str]]:
        """Start the decision's runs: (target key, run id) per run, and notes for the reasons."""
        if rules is None or decision.incident is None:
            return [], []
        gate = None
        wanted = decision.starts
        if decision.outcome is Outcome.AWAITING_APPROVAL:
            gate = ApprovalGate(rules.approval_timeout_minutes * 60.0, rules.on_approval_timeout.value)
            wanted = tuple(t.target for t in decision.targets if t.action is Action.AWAIT_APPROVAL)
        runs: StartedRuns = []
        notes: list[str] = []
        for target in (t for t in rules.targets if t.key in wanted):
            order = StartOrder(decision.region, decision.incident, target, record_id, decision.policy_hash,
                               rules.failover, gate)  # fmt: skip
            try:
                started = self.starter(order)
            except StartRefused as exc:
                notes.append(f"{target.key} was not started: {exc.reason}")
                continue
            runs.append((target.key, started.run_id))
            if not started.created:
                notes.append(f"{target.key}: run {started.run_id} had already started for this incident")
        return runs, notes

    def _timer(self, record: DecisionRecord, now: datetime) -> None:
        decision = record.decision
        if decision.outcome is not Outcome.WAITING_DWELL or decision.timer is None:
            return  # the approval timeout is the run's own pause timeout, a durable timer of the engine
        last = self.decisions.latest(decision.region)
        if (
            last is not None
            and last.decision.outcome is Outcome.WAITING_DWELL
            and last.decision.pending == decision.pending
        ):
            return  # that decision already set this timer
        delay = max(1, math.ceil((decision.timer - now).total_seconds()))
        self.queue.send(encode(Evaluate(decision.region, "dwell")), delay_s=delay)

    def _publish(self, record: DecisionRecord) -> None:
        if record.decision.outcome is Outcome.IGNORED:
            return
        try:
            self.notifier.publish(DECISION_EVENT, f"regions/{record.region}/decisions/{record.id}", record.to_json())
        except Exception as exc:
            log.warning("could not publish decision %s: %s", record.id, exc)


def _classify(message: Payload) -> Iterable[Classified]:
    try:
        if message.channel == "alert":
            return from_alert_webhook(message.body)
        return [from_event_grid_event(message.body)]
    except ValidationError as exc:
        return [Ignored(f"malformed payload: {exc.field}: {exc.reason}", IgnoreCode.UNKNOWN_SCHEMA)]


def _hash(policy: Policy | PolicyErrors) -> str:
    return policy.policy_hash if isinstance(policy, Policy) else ""


def _claims(decision: Decision, started: StartedRuns) -> dict[str, str]:
    """A started decision's claims: one per (incident, target, outcome) it names a run for."""
    if decision.outcome is not Outcome.STARTED:
        return {}
    return {f"{decision.outcome.value}|{decision.incident}|{target}": run for target, run in started}


def _started_id(decision: Decision) -> str:
    """The same for every worker that takes this decision (region, incident, the targets it starts), so the runs'
    ``trigger.decision`` names the one record whichever worker stores it."""
    text = "\n".join([decision.region, str(decision.incident), *sorted(decision.starts)])
    return f"started-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def _new_id(now: datetime) -> str:
    return f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:10]}"
