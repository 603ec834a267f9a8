"""The durable-style workflow engine (runs, steps, checkpoints, timers) on a RunStore and a WorkQueue.

Callers import from here. Workflows are written with ``Workflow``/``Step``/``StepContext`` and return an
outcome (``Next``, ``Wait``, ``Pause``, ``Done``, ``Fail``); ``Engine`` runs them (operations, queries, the
queue trigger's entry point) and ``Driver`` plays the Functions host in tests, the CLI and benches. The
other modules are the engine's inside: tests of its pure parts may import them directly.
"""

from lib.engine.api import (
    CancelRefused,
    Decide,
    Details,
    Done,
    Fail,
    Next,
    Outcome,
    Pause,
    Step,
    StepContext,
    StepFn,
    Stopped,
    StopRequested,
    Wait,
    Workflow,
)
from lib.engine.config import EngineConfig, LeaseTiming, RetryPolicy, TimerScale
from lib.engine.driver import DrainReport, Driver, DriveResult, OtherRunDue, WatchInterrupted
from lib.engine.errors import (
    ContentionExceeded,
    DeadlineExceeded,
    EngineError,
    IdempotencyConflict,
    InjectedCrash,
    LeaseHeld,
    LeaseNotHeld,
    OperationRefused,
    RunNotFound,
    UnknownStep,
    UnknownWorkflow,
)
from lib.engine.executor import Executor, ProcessAction, ProcessReport
from lib.engine.operations import allowed_operations
from lib.engine.outbox import RunOutbox
from lib.engine.runtime import CrashHook, CrashPoint, Observer
from lib.engine.service import Engine, LeaseView, PoisonReport, RunView, StartResult, SweepReport

__all__ = [
    "CancelRefused",
    "ContentionExceeded",
    "CrashHook",
    "CrashPoint",
    "DeadlineExceeded",
    "Decide",
    "Details",
    "Done",
    "DrainReport",
    "DriveResult",
    "Driver",
    "Engine",
    "EngineConfig",
    "EngineError",
    "Executor",
    "Fail",
    "IdempotencyConflict",
    "InjectedCrash",
    "LeaseHeld",
    "LeaseNotHeld",
    "LeaseTiming",
    "LeaseView",
    "Next",
    "Observer",
    "OperationRefused",
    "OtherRunDue",
    "Outcome",
    "Pause",
    "PoisonReport",
    "ProcessAction",
    "ProcessReport",
    "RetryPolicy",
    "RunNotFound",
    "RunOutbox",
    "RunView",
    "StartResult",
    "Step",
    "StepContext",
    "StepFn",
    "StopRequested",
    "Stopped",
    "SweepReport",
    "TimerScale",
    "UnknownStep",
    "UnknownWorkflow",
    "Wait",
    "WatchInterrupted",
    "Workflow",
    "allowed_operations",
]
