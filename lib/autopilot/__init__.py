"""The autopilot: the use-case layer over ``lib.signals`` (what a payload says), ``lib.guard`` (what to do, pure)
and the engine (the failover runs). Signals arrive on the signals queue (``messages``); ``Autopilot.process``
stores them and decides per region; every decision is kept with its reasons and runs (``lib.ports.autopilot``).
"""

from lib.autopilot.messages import BadMessage, Evaluate, Message, Payload, SignalMessage, decode, encode
from lib.autopilot.orders import ACTOR, Started, Starter, StartOrder, StartRefused, auto_key
from lib.autopilot.service import DECISION_EVENT, Autopilot, FactsSource, Resolver, Sender, unresolved

__all__ = [
    "ACTOR",
    "DECISION_EVENT",
    "Autopilot",
    "BadMessage",
    "Evaluate",
    "FactsSource",
    "Message",
    "Payload",
    "Resolver",
    "Sender",
    "SignalMessage",
    "StartOrder",
    "StartRefused",
    "Started",
    "Starter",
    "auto_key",
    "decode",
    "encode",
    "unresolved",
]
