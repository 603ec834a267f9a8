"""Monitoring triggers: the readiness timer, GET /api/status and GET /api/dashboard.

Thin on purpose: the timer calls ``lib.monitoring.evaluate_readiness`` and logs the outcome; the route names its
operation and ``lib.api`` answers. The schedule is read once, when the host indexes the app, like the queue
name in ``functions.engine``: ``READINESS_SCHEDULE`` (NCRONTAB), every 30 minutes when unset.
"""

from __future__ import annotations

import logging

import azure.functions as func

from functions import http_common
from functions.http_common import call
from lib.settings import Settings

log = logging.getLogger("autopilot.functions.monitoring")

bp = func.Blueprint()

READINESS_SCHEDULE = Settings.from_env().readiness_schedule


@bp.timer_trigger(arg_name="timer", schedule=READINESS_SCHEDULE, run_on_startup=False, use_monitor=False)
def readiness_timer(timer: func.TimerRequest) -> None:
    from lib.monitoring import evaluate_readiness

    report = evaluate_readiness(http_common.current_app())  # looked up at call time, so tests can swap it
    states = ", ".join(f"{r.target} {r.state.value}" for r in report.results)
    log.info("readiness: %d targets (%s); changed: %s", len(report.results), states, report.changed or "none")


@bp.route(route="status", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def http_status(req: func.HttpRequest) -> func.HttpResponse:
    return call("getStatus", req)


@bp.route(route="dashboard", methods=["GET"], auth_level=func.AuthLevel.FUNCTION)
def http_dashboard(req: func.HttpRequest) -> func.HttpResponse:
    return call("getDashboard", req)
