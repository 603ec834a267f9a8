"""Reports a crash left unwritten: a worker that died between finishing a run and writing its report leaves the run
without one; this timer writes it (create-only, so it never overwrites one). Thin: ``lib.reports`` does the work."""

from __future__ import annotations

import logging

import azure.functions as func

from functions import http_common

log = logging.getLogger("autopilot.functions.reports")

bp = func.Blueprint()


@bp.timer_trigger(arg_name="timer", schedule="0 */10 * * * *", run_on_startup=False, use_monitor=False)
def reports_repair(timer: func.TimerRequest) -> None:
    written = http_common.current_app().reports.write_missing()  # looked up at call time: tests swap it
    if written:
        log.info("wrote the missing reports of %s", written)
