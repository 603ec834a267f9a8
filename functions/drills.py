"""The drill timer: starts the policy's due drills and cleans up abandoned test failovers (``lib.drills``).

The schedule is the ``DRILL_SCHEDULE`` app setting (NCRONTAB, resolved by the host as ``%DRILL_SCHEDULE%``); without
it, hourly. Thin on purpose: read the policy, tick, log what happened.
"""

from __future__ import annotations

import json
import logging
import os

import azure.functions as func

from functions import http_common
from lib.drills import drill_timer, load_policy

log = logging.getLogger("autopilot.functions.drills")

bp = func.Blueprint()

HOURLY = "0 0 * * * *"
# The host resolves %NAME% from the app settings when it indexes the app, and refuses a name that is not set: the
# default applies by not naming the setting at all.
SCHEDULE = "%DRILL_SCHEDULE%" if os.environ.get("DRILL_SCHEDULE", "").strip() else HOURLY


@bp.timer_trigger(arg_name="timer", schedule=SCHEDULE, run_on_startup=False, use_monitor=True)
def drill_timer_tick(timer: func.TimerRequest) -> None:
    report = drill_timer(http_common.current_app()).tick(load_policy())
    log.info("drill timer: %s", json.dumps(report.to_json(), sort_keys=True))
