"""GET /api/status: the dashboard's tiles, RPO, readiness, active runs, drills and decisions (cached)."""

from __future__ import annotations

from lib.api.auth import Principal
from lib.api.http import ApiRequest, ApiResponse, json_response
from lib.bootstrap import App

__all__ = ["get_status"]


def get_status(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    from lib.monitoring import monitoring  # the monitoring wiring is built on the first status call

    return json_response(200, monitoring(app).status.get())
