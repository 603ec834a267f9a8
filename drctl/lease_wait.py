"""``drctl continue RUN --wait`` against a live lease: say who holds it and until when, wait, then continue.

A live lease means a worker is executing the run's step right now. Without ``--wait`` that is refused (the
operator decides); with ``--wait`` drctl waits for the holder to checkpoint (or for its lease to lapse) and
then continues the run itself. Only ``continue`` waits: every other operation refuses at once.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from lib.api import control
from lib.domain.runs import RunRecord
from lib.engine import DeadlineExceeded, Engine, LeaseHeld

__all__ = ["continue_when_free"]

POLL_S = 0.5


def _say(exc: LeaseHeld) -> None:
    print(
        f"drctl: run {exc.run_id}: worker {exc.holder} holds its lease until {exc.expires_at.isoformat()};"
        " waiting for it to finish its step (or for the lease to lapse)",
        file=sys.stderr,
    )


def continue_when_free(
    engine: Engine[Any],
    run_id: str,
    *,
    by: str,
    timeout_s: float,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> RunRecord:
    """``continue`` once no live worker holds the run's lease; each new holder (or expiry) is printed once."""
    deadline = monotonic() + timeout_s
    seen: tuple[str, datetime] | None = None
    while True:
        try:
            return control.continue_run(engine, run_id, by=by)
        except LeaseHeld as exc:
            if (exc.holder, exc.expires_at) != seen:
                _say(exc)
                seen = (exc.holder, exc.expires_at)
            if monotonic() >= deadline:
                raise DeadlineExceeded(run_id, exc.status.value, timeout_s) from None
            sleep(POLL_S)
