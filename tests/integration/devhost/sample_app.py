"""A small FunctionApp for the devhost tests: every trigger kind, each auth level, functions that raise.

Every non-HTTP invocation appends one JSON line to the file named by the ``SAMPLE_RECORD_FILE`` setting, so a
test sees what the host passed in. Queue names come from settings read at import, as in the real app.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
print("sample app imported")  # the host must keep this off its ready line (stdout)

RECORD_FILE = os.environ["SAMPLE_RECORD_FILE"]
QUEUE = os.environ["SAMPLE_QUEUE"]
FAIL_QUEUE = os.environ["SAMPLE_FAIL_QUEUE"]
SLOW_QUEUE = os.environ.get("SAMPLE_SLOW_QUEUE", "slow")
_lock = threading.Lock()


def _record(kind: str, **fields: Any) -> None:
    with _lock, open(RECORD_FILE, "a", encoding="utf-8") as out:
        out.write(json.dumps({"kind": kind, **fields}, default=str) + "\n")


def _json(document: Any, status: int = 200, **kwargs: Any) -> func.HttpResponse:
    return func.HttpResponse(json.dumps(document), status_code=status, mimetype="application/json", **kwargs)


@app.route(route="items/{id:int}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def get_item(req: func.HttpRequest) -> func.HttpResponse:
    return _json({"id": req.route_params["id"], "params": dict(req.params), "url": req.url})


@app.route(route="echo/{name}/{extra?}", methods=["POST", "PUT"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    document = {
        "method": req.method,
        "route": dict(req.route_params),
        "params": dict(req.params),
        "header": req.headers.get("X-Sample"),
        "body": req.get_body().decode(),
    }
    return _json(document, 201, headers={"X-Echo": req.route_params["name"]}, charset="utf-8")


@app.route(route="admin-only", methods=["GET"], auth_level=func.AuthLevel.ADMIN)
def admin_only(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse("admin ok")


@app.route(route="boom", auth_level=func.AuthLevel.ANONYMOUS)
def boom(req: func.HttpRequest) -> func.HttpResponse:
    raise RuntimeError("secret internal detail")


@app.route(route="settings", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
def settings(req: func.HttpRequest) -> func.HttpResponse:
    names = ("SAMPLE_PRECEDENCE", "SAMPLE_FROM_FILE", "SAMPLE_FROM_ENV")
    return _json({name: os.environ.get(name) for name in names})


@app.queue_trigger(arg_name="msg", queue_name=QUEUE, connection="AzureWebJobsStorage")
def on_message(msg: func.QueueMessage) -> None:
    _record(
        "queue",
        id=msg.id,
        body=msg.get_body().decode(),
        dequeue_count=msg.dequeue_count,
        pop_receipt=msg.pop_receipt,
        insertion_time=msg.insertion_time,
        expiration_time=msg.expiration_time,
        type=type(msg).__module__ + "." + type(msg).__name__,
    )


@app.queue_trigger(arg_name="msg", queue_name=FAIL_QUEUE, connection="AzureWebJobsStorage")
def on_failing_message(msg: func.QueueMessage) -> None:
    _record("fail", id=msg.id, body=msg.get_body().decode(), dequeue_count=msg.dequeue_count)
    raise RuntimeError(f"cannot handle {msg.id}")


@app.queue_trigger(arg_name="msg", queue_name=f"{FAIL_QUEUE}-poison", connection="AzureWebJobsStorage")
def on_poison(msg: func.QueueMessage) -> None:
    _record("poison", id=msg.id, body=msg.get_body().decode(), dequeue_count=msg.dequeue_count)


@app.queue_trigger(arg_name="msg", queue_name=SLOW_QUEUE, connection="AzureWebJobsStorage")
def on_slow_message(msg: func.QueueMessage) -> None:
    _record("slow-start", id=msg.id)
    time.sleep(0.4)
    _record("slow-end", id=msg.id)


@app.timer_trigger(arg_name="timer", schedule="0 0 0 1 1 *", run_on_startup=True, use_monitor=False)
def yearly(timer: func.TimerRequest) -> None:
    _record("startup", past_due=timer.past_due, type=type(timer).__name__)


@app.timer_trigger(arg_name="timer", schedule="*/2 * * * * *", run_on_startup=False, use_monitor=False)
def every_two_seconds(timer: func.TimerRequest) -> None:
    _record("tick", past_due=timer.past_due)


@app.event_grid_trigger(arg_name="event")
def on_event(event: func.EventGridEvent) -> None:
    if isinstance(event, func.CloudEvent):
        _record("cloudevent", id=event.id, type=event.type, source=event.source, data=event.get_json())
        return
    if event.event_type == "Sample.Fail":
        raise RuntimeError("event handler failed")
    _record("event", id=event.id, type=event.event_type, subject=event.subject, data=event.get_json())
