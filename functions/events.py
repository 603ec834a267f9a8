"""The operator events' retry queue: each message is a batch of events the topic refused, due for another try.

Thin on purpose: ``lib.events.EventDelivery.retry`` publishes, requeues with a longer delay, or drops after its
limit (with an error log line). An exception escapes only when the requeue itself failed (storage): the host
then retries the message.
"""

from __future__ import annotations

import logging

import azure.functions as func

from functions import http_common
from functions.telemetry import invocation_context
from lib.settings import Settings

log = logging.getLogger("autopilot.functions.events")

bp = func.Blueprint()

# Trigger bindings are fixed when the host indexes the app, so the queue name is read once here.
EVENTS_QUEUE = Settings.from_env().events_queue


@bp.queue_trigger(arg_name="msg", queue_name=EVENTS_QUEUE, connection="AzureWebJobsStorage")
def events_retry(msg: func.QueueMessage, context: func.Context) -> None:
    with invocation_context(context):
        report = http_common.current_app().events.retry(msg.get_body().decode("utf-8", errors="replace"))
    log.info("event retry: %s %d events (attempt %d) %s", report.action, report.count, report.attempt, report.reason)
