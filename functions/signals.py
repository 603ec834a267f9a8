"""Region-health signals in: the alert webhook, the Event Grid trigger, the signals-queue worker, and the audit
trail and policy over HTTP.

Thin on purpose. The webhook checks that a payload can be read (400 naming the field otherwise) and queues it; the
Event Grid trigger queues each event and never raises (a raise makes Event Grid redeliver the whole batch); the
queue trigger hands each message to ``Autopilot.process``, which decides and acts.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import azure.functions as func

from functions import http_common
from functions.http_common import call
from lib.autopilot.messages import Payload, delivered_event, encode
from lib.policy_source import load_policy
from lib.settings import Settings

log = logging.getLogger("autopilot.functions.signals")

bp = func.Blueprint()
KEY = func.AuthLevel.FUNCTION

# Trigger bindings are fixed when the host indexes the app, so the queue name is read once here; so is the
# policy, whose errors are logged at start (a bad policy keeps the app up and acting on nothing automatically).
_SETTINGS = Settings.from_env()
SIGNALS_QUEUE = _SETTINGS.signals_queue
load_policy(_SETTINGS)


@bp.route(route="alerts", methods=["POST"], auth_level=KEY)
def http_alerts(req: func.HttpRequest) -> func.HttpResponse:
    return call("receiveAlert", req)


@bp.route(route="decisions", methods=["GET"], auth_level=KEY)
def http_decisions(req: func.HttpRequest) -> func.HttpResponse:
    return call("listDecisions", req)


@bp.route(route="policy", methods=["GET"], auth_level=KEY)
def http_policy(req: func.HttpRequest) -> func.HttpResponse:
    return call("getPolicy", req)


@bp.event_grid_trigger(arg_name="event")
def eventgrid_signals(event: func.EventGridEvent) -> None:
    try:
        body = delivered_event(event)
        http_common.current_app().autopilot().queue.send(encode(Payload("eventgrid", body, datetime.now(UTC))))
    except Exception as exc:
        log.error("Event Grid event %s skipped: %s", getattr(event, "id", "?"), exc)


@bp.queue_trigger(arg_name="msg", queue_name=SIGNALS_QUEUE, connection="AzureWebJobsStorage")
def signals_work(msg: func.QueueMessage) -> None:
    records = http_common.current_app().autopilot().autopilot.process(msg.get_body())
    for record in records:
        log.info("decision %s %s %s: %s", record.id, record.region or "-", record.decision.outcome.value,
                 "; ".join(record.decision.reasons)[:500])  # fmt: skip
