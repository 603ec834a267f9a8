"""Run one API operation: who is calling, the handler, errors as answers, an audit line for every change."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from lib.api import autopilot, handlers, report, status
from lib.api.auth import Access, Principal, authenticate, require_role
from lib.api.errors import error_response, to_api_error
from lib.api.http import ApiRequest, ApiResponse
from lib.bootstrap import App

__all__ = ["OPERATIONS", "Operation", "handle"]

log = logging.getLogger("autopilot.api")
audit = logging.getLogger("autopilot.audit")

Handler = handlers.Handler


@dataclass(frozen=True)
class Operation:
    name: str
    access: Access
    run: Handler


OPERATIONS: dict[str, Operation] = {
    op.name: op
    for op in (
        Operation("startFailover", Access.OPERATE, partial(handlers.start, "failover")),
        Operation("startFailback", Access.OPERATE, partial(handlers.start, "failback")),
        Operation("startDrill", Access.OPERATE, partial(handlers.start, "drill")),
        Operation("listRuns", Access.READ, handlers.list_runs),
        Operation("getRun", Access.READ, handlers.get_run),
        Operation("getRunHistory", Access.READ, handlers.get_history),
        Operation("getRunReport", Access.READ, report.get_report),
        Operation("approveRun", Access.OPERATE, handlers.approve),
        Operation("cancelRun", Access.OPERATE, handlers.cancel),
        Operation("resumeRun", Access.OPERATE, handlers.resume),
        Operation("commitRun", Access.OPERATE, handlers.commit),
        Operation("retryRun", Access.OPERATE, handlers.retry),
        Operation("rollbackRun", Access.OPERATE, handlers.rollback),
        Operation("continueRun", Access.OPERATE, handlers.continue_run),
        Operation("receiveAlert", Access.SIGNAL, autopilot.receive_alert),
        Operation("listDecisions", Access.READ, autopilot.list_decisions),
        Operation("getPolicy", Access.READ, autopilot.get_policy),
        Operation("getStatus", Access.READ, status.get_status),
        Operation("getDashboard", Access.READ, status.get_dashboard),
    )
}


def _audit(op: Operation, who: Principal | None, req: ApiRequest, response: ApiResponse) -> None:
    if op.access is not Access.OPERATE:
        return
    body = response.body if isinstance(response.body, dict) else {}
    line = {
        "operation": op.name, "status": response.status, "actor": who.name if who else None,
        "actorId": who.object_id if who else None, "runId": body.get("runId") or req.params.get("id"),
        "error": (body.get("error") or {}).get("code"),
    }  # fmt: skip
    audit.info("audit %s", json.dumps(line, sort_keys=True))


def handle(name: str, req: ApiRequest, mode: str, app: Callable[[], App]) -> ApiResponse:
    """Answer ``req`` with operation ``name``; ``mode`` is AUTH_MODE, ``app`` builds the application lazily."""
    op = OPERATIONS[name]
    who: Principal | None = None
    try:
        who = authenticate(mode, req, op.access)  # before the role check, so a 403 is audited with its caller
        require_role(who, mode, op.access)
        response = op.run(app(), who, req)
    except Exception as exc:
        err = to_api_error(exc)
        if err is None:
            raise  # a bug: the host answers 500 and logs it with the invocation id
        if err.status >= 500:
            log.warning("%s: %s", name, err.message)
        response = error_response(err)
    _audit(op, who, req, response)
    return response
