"""The engine's step hook: binds the run and step to the log context and, when telemetry exports, opens a span."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from lib.domain.runs import RunRecord
from lib.telemetry.context import log_context

if TYPE_CHECKING:
    from lib.telemetry.otel import Telemetry


class _Quiet:
    def done(self, state: Mapping[str, Any], result: object) -> None:
        return None


class StepTracing:
    """``Runtime.tracer``: called around every step the engine executes."""

    def __init__(self, telemetry: Telemetry | None = None) -> None:
        self.telemetry = telemetry

    @contextmanager
    def __call__(self, run: RunRecord) -> Iterator[Any]:
        with log_context(run_id=run.run_id, step=run.step):
            if self.telemetry is None:
                yield _Quiet()
                return
            with self.telemetry.step(run) as scope:
                yield scope
