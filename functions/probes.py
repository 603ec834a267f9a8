"""The probe timer: probes the policy's URLs and sends a signal when a probe flips (``lib.autopilot.probing``).

Thin on purpose: read the policy, run the probes, log what flipped. A bad policy probes nothing (the app acts on
nothing automatically then) and says why in the log.
"""

from __future__ import annotations

import functools
import logging

import azure.functions as func

from lib.autopilot.probing import probes_of
from lib.autopilot.sources import Sources, build_sources, load_policy
from lib.guard.parse import PolicyErrors
from lib.settings import Settings

log = logging.getLogger("autopilot.functions.probes")

bp = func.Blueprint()

# Trigger bindings are fixed when the host indexes the app, so the schedule is read once here.
PROBE_SCHEDULE = Settings.from_env().probe_schedule


@functools.cache
def _sources() -> Sources:
    sources = build_sources(Settings.from_env())
    sources.ensure_storage()
    return sources


@bp.timer_trigger(arg_name="timer", schedule=PROBE_SCHEDULE, run_on_startup=False, use_monitor=False)
def probe_regions(timer: func.TimerRequest) -> None:
    policy = load_policy()
    if isinstance(policy, PolicyErrors):
        log.error("probes: the policy is invalid, nothing is probed: %s", "; ".join(policy.lines))
        return
    if not probes_of(policy):
        return  # nothing to probe: no storage is touched either
    outcomes = _sources().probes.run(policy)
    for outcome in outcomes:
        if outcome.signal is not None:
            log.warning("probe %s (%s): %s -> %s signal sent", outcome.url, outcome.region, outcome.detail,
                        outcome.signal.state.value)  # fmt: skip
        elif outcome.skipped:
            log.info("probe %s (%s): %s", outcome.url, outcome.region, outcome.skipped)
    failing = sum(1 for o in outcomes if not o.ok)
    log.info("probes: %d probed, %d failing, %d signal(s) sent", len(outcomes), failing, sum(o.sent for o in outcomes))
