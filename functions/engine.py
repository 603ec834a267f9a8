"""The engine's triggers: one work item (a step, and the Next steps after it), the janitor timer, and the
poison-queue drain.

Thin on purpose: parse the message, call the engine, log the result. An exception escapes only when
storage itself failed; the host then retries the message and, after ``maxDequeueCount`` (host.json),
moves it to ``<queue>-poison``, whose trigger below ends the run as failed with the reason.
"""

from __future__ import annotations

import functools
import logging

import azure.functions as func

from functions.telemetry import invocation_context
from lib.bootstrap import App, build
from lib.settings import Settings

log = logging.getLogger("autopilot.functions.engine")

bp = func.Blueprint()

# Trigger bindings are fixed when the host indexes the app, so the queue name is read once here.
WORK_QUEUE = Settings.from_env().work_queue


@functools.cache
def _app() -> App:
    app = build(Settings.from_env())
    app.ensure_storage()
    return app


def _body(msg: func.QueueMessage) -> str:
    return msg.get_body().decode("utf-8", errors="replace")


@bp.queue_trigger(arg_name="msg", queue_name=WORK_QUEUE, connection="AzureWebJobsStorage")
def engine_work(msg: func.QueueMessage, context: func.Context) -> None:
    with invocation_context(context):
        report = _app().engine.handle_message(_body(msg), msg.id or "", msg.dequeue_count or 1)
    log.info("work item %s: %s (%s), %d step(s)", report.run_id, report.action, report.reason, report.steps)


@bp.timer_trigger(arg_name="timer", schedule="0 */2 * * * *", run_on_startup=False, use_monitor=False)
def engine_janitor(timer: func.TimerRequest, context: func.Context) -> None:
    with invocation_context(context):
        report = _app().engine.sweep()
    log.info(
        "janitor: %d active runs, requeued %s, repaired %s, orphans %s",
        report.scanned,
        report.requeued,
        report.repaired,
        report.orphans,
    )


@bp.queue_trigger(arg_name="msg", queue_name=f"{WORK_QUEUE}-poison", connection="AzureWebJobsStorage")
def engine_poison(msg: func.QueueMessage, context: func.Context) -> None:
    reason = "the Functions host gave up on it after maxDequeueCount failed attempts"
    with invocation_context(context):
        report = _app().engine.fail_poisoned(_body(msg), reason)
    log.warning("poison work item for run %s: %s (%s)", report.run_id, report.action, report.reason)
