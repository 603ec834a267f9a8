"""One handler per operation, independent of the router: (app, caller, request) -> response."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lib.api import control
from lib.api.auth import Principal
from lib.api.body import json_body, optional_object
from lib.api.errors import ApiError
from lib.api.http import ApiRequest, ApiResponse, json_response
from lib.api.run_view import history_view, run_view, started_view, summary_view
from lib.api.targets import start_checked
from lib.bootstrap import App
from lib.domain.dr import KINDS
from lib.domain.runs import RunRecord, RunStatus
from lib.engine import RunNotFound

Handler = Callable[[App, Principal, ApiRequest], ApiResponse]

__all__ = [
    "approve", "cancel", "commit", "continue_run", "get_history", "get_run", "list_runs", "parse_limit",
    "parse_since", "resume", "retry", "rollback", "start",
]  # fmt: skip

_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{4,400}={0,2}$")  # what the run index issues (base64url)
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # visible ASCII, like other idempotency-key conventions
MAX_SCAN = 1000  # index rows read per listing page at most (filters applied here)


def _run_id(req: ApiRequest) -> str:
    run_id = req.params.get("id", "")
    if not _RUN_ID.match(run_id):  # cannot be a run id; also keeps odd characters away from table keys
        raise RunNotFound(run_id[:100])
    return run_id


def _idempotency_key(req: ApiRequest) -> str | None:
    key = req.header("idempotency-key")
    if key is None:
        return None
    if not _KEY.match(key):
        raise ApiError(400, "BadRequest", "must be 1 to 200 visible ASCII characters", "Idempotency-Key")
    return key


def start(kind: str, app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    body = json_body(req)
    key = _idempotency_key(req)
    started = start_checked(app, kind, body, key, actor=who.name, actor_id=who.object_id, label=who.label)
    return json_response(202, started_view(started.run), Location=f"/api/runs/{started.run_id}")


def _view(app: App, run_id: str) -> dict[str, Any]:
    found = app.engine.get(run_id)
    return run_view(found.run, found.history, found.lease.to_json() if found.lease else None)


def get_run(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    return json_response(200, _view(app, _run_id(req)))


def get_history(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    run_id = _run_id(req)
    return json_response(200, {"runId": run_id, "history": history_view(app.engine.get(run_id).history)})


def _choice(query: dict[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    value = query.get(name)
    if value is not None and value not in allowed:
        raise ApiError(400, "BadRequest", f"must be one of {', '.join(allowed)}", name)
    return value


def parse_since(query: dict[str, str]) -> datetime | None:
    raw = query.get("since")
    if raw is None:
        return None
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, "BadRequest", "must be an ISO 8601 date-time", "since") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def parse_limit(query: dict[str, str]) -> int:
    raw = query.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 1000:
        raise ApiError(400, "BadRequest", "must be an integer from 1 to 1000", "limit")
    return int(raw)


def list_runs(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    """Newest first. ``kind`` and ``since`` are applied here on index pages (``since`` stops the scan early)."""
    query = dict(req.query)
    status = _choice(query, "status", tuple(s.value for s in RunStatus))
    kind = _choice(query, "kind", KINDS)
    since, limit = parse_since(query), parse_limit(query)
    token = query.get("continuation") or None
    if token is not None and not _TOKEN.match(token):
        raise ApiError(400, "BadRequest", "not a continuation token this service issued", "continuation")
    items: list[dict[str, Any]] = []
    scanned = 0
    while len(items) < limit and scanned < MAX_SCAN:
        page = app.engine.list_runs(status, limit - len(items), token)
        scanned += max(1, len(page.items))
        for row in page.items:
            if since and row.created_at < since:
                return json_response(200, {"runs": items, "continuation": None})
            if kind is None or row.workflow == kind:
                items.append(summary_view(row))
        token = page.continuation
        if token is None:
            break
    return json_response(200, {"runs": items, "continuation": token})


def _operated(app: App, run: RunRecord) -> ApiResponse:
    return json_response(200, _view(app, run.run_id))


def approve(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    run_id = _run_id(req)
    fields = optional_object(req, ("comment", "approval"))
    run = control.approve(
        app.engine, run_id, by=who.label, approval=fields.get("approval"), comment=fields.get("comment", "")
    )
    return _operated(app, run)


def cancel(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    run_id = _run_id(req)
    fields = optional_object(req, ("reason",))
    current = app.engine.get(run_id).run
    if not current.active:  # the engine would refuse too; say why in the words of the API
        raise ApiError(409, "StateConflict", f"run {run_id} is already {current.status.value}; nothing to cancel")
    run = app.engine.cancel(run_id, by=who.label, reason=fields.get("reason", ""))
    # Still active: the cancel is a request the run carries out (an ASR job is cancelled or waited out first).
    return json_response(202 if run.active else 200, _view(app, run.run_id))


def resume(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    run_id = _run_id(req)
    fields = optional_object(req, ("reason",))
    app.engine.get(run_id)
    return _operated(app, app.engine.resume(run_id, by=who.label, reason=fields.get("reason", "")))


def _reasoned(operate: Callable[..., RunRecord], text: str = "reason") -> Handler:
    """A run operation whose body may carry one free-text field (``reason`` or ``comment``)."""

    def handler(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
        run_id = _run_id(req)
        fields = optional_object(req, (text,))
        return _operated(app, operate(app.engine, run_id, by=who.label, **{text: fields.get(text, "")}))

    return handler


commit = _reasoned(control.commit, "comment")
retry = _reasoned(control.retry)
rollback = _reasoned(control.rollback)
continue_run = _reasoned(control.continue_run)
