"""The autopilot's HTTP operations: the alert webhook (``receiveAlert``), the audit trail (``listDecisions``) and
the policy in force (``getPolicy``). The webhook only checks that the payload can be read and queues it: the
classification, the decision and any run happen on the signals queue, so the sender hears back at once."""

from __future__ import annotations

import re
import time
from typing import Any

from lib.api.auth import Principal
from lib.api.body import json_body
from lib.api.errors import ApiError
from lib.api.handlers import parse_limit, parse_since
from lib.api.http import ApiRequest, ApiResponse, json_response
from lib.autopilot.deadline import SendTooSlow
from lib.autopilot.messages import Payload, encode
from lib.bootstrap import App
from lib.guard import PolicyErrors
from lib.ports.autopilot import NO_REGION
from lib.signals import Ignored, from_alert_webhook

__all__ = ["get_policy", "list_decisions", "receive_alert"]

_REGION = re.compile(r"^[a-z0-9]{1,60}$")
RETRY_AFTER_S = 5  # an action group retries 5 s after a 503 anyway (then 20, 5, 40, 5 s)


def receive_alert(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    """Parse, queue and answer within the intake's deadline (``ALERT_ANSWER_BUDGET_MS`` of the handler's time):
    storage that does not take the payload by then is a 503 with Retry-After, which an action group retries. The
    ``Server-Timing`` header says where the handler's time went (parse, send), for the alert-storm bench."""
    started = time.monotonic()
    body = json_body(req)
    classified = from_alert_webhook(body)  # SignalParseError -> 400 naming the field; nothing is queued
    wired = app.autopilot()
    parsed = time.monotonic()
    try:
        wired.intake.send(encode(Payload("alert", body, app.engine.clock.now())), wired.intake.deadline(started))
    except SendTooSlow as exc:
        raise ApiError(503, "StorageUnavailable", str(exc), retry_after=RETRY_AFTER_S) from None
    sent = time.monotonic()
    ignored = [c.code.value for c in classified if isinstance(c, Ignored)]
    timing = f"parse;dur={(parsed - started) * 1000:.1f}, send;dur={(sent - parsed) * 1000:.1f}"
    return json_response(202, {"accepted": len(classified), "ignored": ignored}, Server_Timing=timing)


def _region(query: dict[str, str]) -> str | None:
    region = query.get("region")
    if region is None or region == NO_REGION or _REGION.match(region):
        return region
    raise ApiError(400, "BadRequest", "must be an ARM region name such as eastus (or - for signals without one)",
                   "region")  # fmt: skip


def list_decisions(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    query = dict(req.query)
    region, since, limit = _region(query), parse_since(query), parse_limit(query)
    records = app.autopilot().decisions.list(region, since, limit)
    return json_response(200, {"decisions": [r.to_json() for r in records]})


def policy_view(policy: Any) -> dict[str, Any]:
    if isinstance(policy, PolicyErrors):
        return {"valid": False, "policyHash": None, "policy": None, **policy.to_json()}
    return {"valid": True, "policyHash": policy.policy_hash, "policy": policy.to_json(), "errors": []}


def get_policy(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    return json_response(200, policy_view(app.autopilot().autopilot.policy))
