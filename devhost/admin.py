"""``POST /admin/functions/{name}`` with ``{"input": "..."}``: run a non-HTTP function now (master key), as the
Functions host's admin API does. Timers get a ``TimerRequest``, queue triggers a message whose body is ``input``,
Event Grid triggers the event that ``input`` holds as JSON.

Unlike Azure, which answers 202 at once and runs the function in the background, the devhost answers (202) after
the invocation finished, with ``{"invocationId", "status"}``, so a test knows the outcome without polling.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import azure.functions.queue as func_queue
from azure.functions.timer import TimerRequest

from devhost import eventgrid
from devhost.discovery import AppIndex
from devhost.invoke import Invocation, invoke

__all__ = ["AdminError", "run_function"]


class AdminError(ValueError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _input(body: bytes) -> str:
    try:
        document = json.loads(body or b"{}")
    except ValueError:
        raise AdminError(400, 'the body must be JSON like {"input": "..."}') from None
    value = document.get("input", "") if isinstance(document, dict) else None
    if not isinstance(value, str):
        raise AdminError(400, "input: must be a string")
    return value


def _queue_message(text: str) -> Any:
    now = datetime.now(UTC)
    return func_queue.QueueMessage(
        id=str(uuid.uuid4()), body=text.encode(), dequeue_count=1, pop_receipt="admin",
        insertion_time=now, expiration_time=now + timedelta(days=7), time_next_visible=now,
    )  # fmt: skip


def _event(text: str) -> Any:
    try:
        event = json.loads(text)
    except ValueError:
        raise AdminError(400, "input: an Event Grid function takes one event as a JSON string") from None
    if not isinstance(event, dict):
        raise AdminError(400, "input: must hold one event object")
    return eventgrid.trigger_argument(event)


def run_function(index: AppIndex, name: str, body: bytes) -> Invocation:
    text = _input(body)
    reason = "Reason='This function was programmatically called via the host APIs.'"
    for timer in index.timers:
        if timer.name.lower() == name.lower():
            return invoke(timer.name, timer.target, timer.arg_name, TimerRequest(past_due=False), reason)
    for queue in index.queues:
        if queue.name.lower() == name.lower():
            return invoke(queue.name, queue.target, queue.arg_name, _queue_message(text), reason)
    function = index.eventgrid_function(name)
    if function is not None:
        return invoke(function.name, function.target, function.arg_name, _event(text), reason)
    raise AdminError(404, f"no timer, queue or Event Grid function named {name!r}")
