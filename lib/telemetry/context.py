"""Who is logging: run id, step, invocation id and correlation id on every log record of the current context.

Triggers bind the invocation and correlation ids, the engine binds the run and step around each step; a record
factory copies them onto every ``LogRecord`` (``record.run_id`` ...), so any handler sees them: Application
Insights exports them as custom dimensions, a local formatter can print them. Unbound fields are "".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

FIELDS = ("run_id", "step", "invocation_id", "correlation_id")

_bound: ContextVar[Mapping[str, str]] = ContextVar("autopilot_log_context", default={})  # noqa: B039 (never mutated)


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Bind ``fields`` (names from ``FIELDS``) for the code inside, on top of what is bound already."""
    unknown = set(fields) - set(FIELDS)
    if unknown:
        raise ValueError(f"unknown log context fields: {sorted(unknown)}; use {FIELDS}")
    token = _bound.set({**_bound.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _bound.reset(token)


def current() -> dict[str, str]:
    bound = _bound.get()
    return {name: bound.get(name, "") for name in FIELDS}


def _with_context(previous: Callable[..., logging.LogRecord]) -> Callable[..., logging.LogRecord]:
    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        for name, value in current().items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return record

    factory.autopilot_context = True  # type: ignore[attr-defined]  # marks the installed factory
    return factory


def install_log_context() -> None:
    """Wrap the log record factory once per process (idempotent)."""
    previous = logging.getLogRecordFactory()
    if not getattr(previous, "autopilot_context", False):
        logging.setLogRecordFactory(_with_context(previous))


def trace_id_of(traceparent: str | None) -> str:
    """The trace id of a W3C ``traceparent`` (``00-<trace id>-<span id>-<flags>``): the correlation id."""
    parts = (traceparent or "").split("-")
    return parts[1] if len(parts) == 4 and len(parts[1]) == 32 else ""
