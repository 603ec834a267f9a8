"""Calling a user function: one invocation id per call, logged start and end, async functions awaited."""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["Context", "Invocation", "TraceContext", "invoke"]

log = logging.getLogger("devhost.invoke")


@dataclass(frozen=True)
class Invocation:
    invocation_id: str
    ok: bool
    result: Any = None
    error: BaseException | None = None
    function_ms: float = 0.0  # the function's own time, without the host's logging around it


def invoke(
    name: str, target: Callable[..., Any], arg_name: str, argument: Any, trigger_details: str = ""
) -> Invocation:
    """Run ``target(**{arg_name: argument})``; an exception is logged with the invocation id, returned, not raised."""
    invocation_id = str(uuid.uuid4())
    started = time.monotonic()
    log.info(
        "Executing 'Functions.%s' (%sId=%s)", name, f"{trigger_details}, " if trigger_details else "", invocation_id
    )
    kwargs = {arg_name: argument}
    if "context" in inspect.signature(target).parameters:  # as the Functions host: a function may ask for it
        kwargs["context"] = Context(invocation_id, name, TraceContext(_traceparent()))
    called = time.monotonic()
    try:
        result = target(**kwargs)
        if inspect.isawaitable(result):
            result = asyncio.run(_wait(result))
    except Exception as exc:
        elapsed = (time.monotonic() - started) * 1000
        log.exception("Executed 'Functions.%s' (Failed, Id=%s, Duration=%.0fms)", name, invocation_id, elapsed)
        return Invocation(invocation_id, False, error=exc)
    function_ms = (time.monotonic() - called) * 1000
    elapsed = (time.monotonic() - started) * 1000
    log.info("Executed 'Functions.%s' (Succeeded, Id=%s, Duration=%.0fms)", name, invocation_id, elapsed)
    return Invocation(invocation_id, True, result=result, function_ms=function_ms)


@dataclass(frozen=True)
class TraceContext:
    trace_parent: str
    trace_state: str = ""
    attributes: dict[str, str] | None = None


@dataclass(frozen=True)
class Context:
    """What ``azure.functions.Context`` offers that the app reads: the invocation id and the trace context."""

    invocation_id: str
    function_name: str
    trace_context: TraceContext


def _traceparent() -> str:
    return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"


async def _wait(awaitable: Any) -> Any:
    return await awaitable
