"""What every HTTP trigger shares: the app (built once per worker), and host <-> API request/response."""

from __future__ import annotations

import functools
import threading

import azure.functions as func

from lib.api.dispatch import handle
from lib.api.http import ApiRequest, ApiResponse
from lib.bootstrap import App, build
from lib.settings import Settings

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
