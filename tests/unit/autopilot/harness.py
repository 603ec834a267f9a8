"""The autopilot service on hand-written fakes: stores in memory, a queue and a notifier that record, a starter
that behaves like the engine's idempotency key and item locks, and facts the test sets."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from lib.adapters.clocks import ManualClock
from lib.adapters.memory_autopilot import MemoryDecisionStore, MemorySignalStore
from lib.autopilot import Autopilot, Payload, Started, StartOrder, StartRefused, encode
from lib.autopilot.messages import Evaluate
from lib.guard import Policy, PolicyErrors, RegionPolicy, TargetFacts, parse_policy
from lib.ports.autopilot import DecisionRecord, SignalStore

NOW = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
PLAN = "plan:rp-east"


def policy(kill_switch: bool = False, **region: Any) -> Policy | PolicyErrors:
    body: dict[str, Any] = {"targets": [{"recoveryPlan": "rp-east"}], "mode": "auto", **region}
    return parse_policy(json.dumps({"killSwitch": kill_switch, "regions": {"eastus": body}}))


@dataclass
class Sent:
    body: str
    delay_s: int


@dataclass
class Queue:
    sent: list[Sent] = field(default_factory=list)

    def send(self, body: str, delay_s: int = 0) -> str:
        self.sent.append(Sent(body, delay_s))
        return str(len(self.sent))


@dataclass
class Notifier:
    events: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def publish(self, event_type: str, subject: str, data: Any) -> None:
        self.events.append((event_type, subject, dict(data)))


@dataclass
class Starter:
    """One run per idempotency key; a target held by another key's run is refused, like the API's 409."""

    orders: list[StartOrder] = field(default_factory=list)
    runs: dict[str, str] = field(default_factory=dict)  # key -> run id
    busy: dict[str, str] = field(default_factory=dict)  # target key -> run id holding it

    def __call__(self, order: StartOrder) -> Started:
        self.orders.append(order)
        if order.key in self.runs:
            return Started(self.runs[order.key], False)
        holder = self.busy.get(order.target.key)
        if holder:
            raise StartRefused(f"run {holder} is working on {order.target.key}")
        run_id = f"run-{len(self.runs) + 1}"
        self.runs[order.key] = run_id
        return Started(run_id, True)

    @property
    def created(self) -> list[str]:
        return list(self.runs.values())


@dataclass
class Harness:
    policy: Policy | PolicyErrors
    facts: dict[str, TargetFacts] = field(default_factory=dict)
    clock: ManualClock = field(default_factory=lambda: ManualClock(NOW))
    queue: Queue = field(default_factory=Queue)
    notifier: Notifier = field(default_factory=Notifier)
    starter: Starter = field(default_factory=Starter)
    signals: SignalStore | None = None  # in memory unless a test brings the Table store on Azurite
    decisions: MemoryDecisionStore = field(default_factory=MemoryDecisionStore)
    timer_scale: float = 1.0
    facts_reads: int = 0

    def __post_init__(self) -> None:
        self.signals = self.signals or MemorySignalStore(self.clock.now)
        self.service = Autopilot(
            policy=self.policy, signals=self.signals, decisions=self.decisions, queue=self.queue,
            notifier=self.notifier, clock=self.clock, facts=self._facts, starter=self.starter,
            timer_scale=self.timer_scale,
        )  # fmt: skip

    def _facts(self, region: str, rules: RegionPolicy, incidents: frozenset[str]) -> dict[str, TargetFacts]:
        self.facts_reads += 1
        return self.facts

    def alert(self, body: Any) -> list[DecisionRecord]:
        return self.service.process(encode(Payload("alert", body, self.clock.now())))

    def event(self, body: Any) -> list[DecisionRecord]:
        return self.service.process(encode(Payload("eventgrid", body, self.clock.now())))

    @property
    def store(self) -> SignalStore:
        assert self.signals is not None
        return self.signals

    def fire_timers(self) -> list[DecisionRecord]:
        """Deliver every queued message (the queue's durable timers: evaluate, or a duplicate's second look)."""
        due, self.queue.sent = self.queue.sent, []
        records = []
        for sent in due:
            records += self.service.process(sent.body)
        return records

    def later(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))

    def outcomes(self, region: str | None = "eastus") -> list[str]:
        return [r.decision.outcome.value for r in reversed(self.decisions.list(region, None, 1000))]


def evaluate_message(region: str) -> str:
    return encode(Evaluate(region))
