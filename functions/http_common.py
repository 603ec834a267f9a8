"""What every HTTP trigger shares: the app (built once per worker), and host <-> API request/response."""

from __future__ import annotations

import functools
import logging
import os
import threading

import azure.functions as func

from lib.api.dispatch import handle
from lib.api.http import ApiRequest, ApiResponse
from lib.bootstrap import App, build
from lib.settings import Settings

log = logging.getLogger("autopilot.functions")
_BUILDING = threading.Lock()


@functools.cache
def _built() -> App:
    app = build(Settings.from_env())
    app.ensure_storage()  # a fresh deployment answers GET /api/runs with [] rather than a missing table
    return app


def current_app() -> App:
    """The app, built once: concurrent first requests wait for one build instead of each building their own
    (a burst of them on a cold worker each created every table and queue again)."""
    with _BUILDING:
        return _built()


def _warm_up() -> None:
    try:
        current_app().autopilot()
    except Exception as exc:  # the first request builds it again and answers for itself
        log.warning("could not build the app ahead of the first request: %s", exc)


# In a Functions worker (the host sets FUNCTIONS_WORKER_RUNTIME), build the app and create its storage in the
# background as soon as the app is loaded, so the first requests (the alert webhook's among them) do not each
# wait a second or more for it. Importing the module stays cheap: only a thread starts here.
if os.environ.get("FUNCTIONS_WORKER_RUNTIME"):
    threading.Thread(target=_warm_up, name="app-warm-up", daemon=True).start()


def to_api(req: func.HttpRequest) -> ApiRequest:
    return ApiRequest(
        method=req.method.upper(),
        params=dict(req.route_params),
        query=dict(req.params),
        headers={k.lower(): v for k, v in req.headers.items()},
        body=req.get_body() or b"",
    )


def to_func(res: ApiResponse) -> func.HttpResponse:
    headers = dict(res.headers)
    if res.body is not None:
        headers["Content-Type"] = res.media_type
    return func.HttpResponse(res.encoded(), status_code=res.status, headers=headers)


def call(operation: str, req: func.HttpRequest) -> func.HttpResponse:
    """Parse -> lib -> answer. ``current_app`` is looked up at call time, so tests can swap it."""
    return to_func(handle(operation, to_api(req), current_app().settings.auth_mode, current_app))
