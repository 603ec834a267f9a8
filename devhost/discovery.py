"""Index a ``FunctionApp`` the way the host does: from ``app.get_functions()`` and each function's trigger binding.

Nothing here knows the project's functions by name; whatever the app registers is what the host serves.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import azure.functions as func
from azure.functions.decorators.eventgrid import EventGridTrigger
from azure.functions.decorators.http import HttpTrigger
from azure.functions.decorators.queue import QueueTrigger
from azure.functions.decorators.timer import TimerTrigger

from devhost.keys import Level
from devhost.routes import Route, compile_route

__all__ = [
    "AppIndex",
    "DiscoveryError",
    "EventGridFunction",
    "HttpFunction",
    "QueueFunction",
    "TimerFunction",
    "index_app",
    "load_app",
]


class DiscoveryError(ValueError):
    """The app cannot be hosted as declared; the message names the function and the binding field."""


@dataclass(frozen=True)
class HttpFunction:
    name: str
    arg_name: str
    target: Callable[..., Any]
    route: Route
    methods: frozenset[str] | None  # None: every method
    level: Level


@dataclass(frozen=True)
class QueueFunction:
    name: str
    arg_name: str
    target: Callable[..., Any]
    queue_name: str
    connection: str


@dataclass(frozen=True)
class TimerFunction:
    name: str
    arg_name: str
    target: Callable[..., Any]
    schedule: str
    run_on_startup: bool


@dataclass(frozen=True)
class EventGridFunction:
    name: str
    arg_name: str
    target: Callable[..., Any]


@dataclass(frozen=True)
class AppIndex:
    http: tuple[HttpFunction, ...]
    queues: tuple[QueueFunction, ...]
    timers: tuple[TimerFunction, ...]
    eventgrid: tuple[EventGridFunction, ...]
    unsupported: tuple[str, ...]  # "name (triggerType)": registered, but this host has no such trigger

    def eventgrid_function(self, name: str) -> EventGridFunction | None:
        return next((f for f in self.eventgrid if f.name.lower() == name.lower()), None)


def load_app(spec: str) -> func.FunctionApp:
    """``module`` or ``module:attr`` (default attr ``app``); the module is imported now."""
    module_name, _, attr = spec.partition(":")
    module = importlib.import_module(module_name)
    app = getattr(module, attr or "app", None)
    if not isinstance(app, func.FunctionApp):
        raise DiscoveryError(f"--app {spec}: {module_name}.{attr or 'app'} is not an azure.functions.FunctionApp")
    return app


def _methods(trigger: HttpTrigger) -> frozenset[str] | None:
    if not trigger.methods:
        return None
    return frozenset(str(getattr(m, "value", m)).upper() for m in trigger.methods)


def _http(name: str, target: Callable[..., Any], trigger: HttpTrigger) -> HttpFunction:
    try:
        route = compile_route(trigger.route or name)
        level = Level.parse(trigger.auth_level)
    except ValueError as exc:
        raise DiscoveryError(f"function {name}: {exc}") from None
    return HttpFunction(name, trigger.name, target, route, _methods(trigger), level)


def _timer(name: str, target: Callable[..., Any], trigger: TimerTrigger) -> TimerFunction:
    from devhost.ncrontab import parse_schedule, resolve_schedule  # validates now: a bad schedule stops the host

    try:
        schedule = resolve_schedule(trigger.schedule, os.environ)  # %NAME%: an app setting
        parse_schedule(schedule)
    except ValueError as exc:
        raise DiscoveryError(f"function {name}: schedule: {exc}") from None
    return TimerFunction(name, trigger.name, target, schedule, bool(trigger.run_on_startup))


def index_app(app: func.FunctionApp) -> AppIndex:
    http: list[HttpFunction] = []
    queues: list[QueueFunction] = []
    timers: list[TimerFunction] = []
    eventgrid: list[EventGridFunction] = []
    unsupported: list[str] = []
    for function in app.get_functions():
        name = str(function.get_function_name())
        target = function.get_user_function()
        trigger = function.get_trigger()
        if isinstance(trigger, HttpTrigger):
            http.append(_http(name, target, trigger))
        elif isinstance(trigger, QueueTrigger):
            queues.append(QueueFunction(name, trigger.name, target, trigger.queue_name, trigger.connection or ""))
        elif isinstance(trigger, TimerTrigger):
            timers.append(_timer(name, target, trigger))
        elif isinstance(trigger, EventGridTrigger):
            eventgrid.append(EventGridFunction(name, trigger.name, target))
        else:
            unsupported.append(f"{name} ({trigger.get_binding_name() if trigger else 'no trigger'})")
    return AppIndex(tuple(http), tuple(queues), tuple(timers), tuple(eventgrid), tuple(unsupported))
