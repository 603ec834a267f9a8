"""GET /api/status: the dashboard's tiles, RPO, readiness, active runs, drills and decisions (cached); and
GET /api/dashboard: the page that shows them."""

from __future__ import annotations

from lib.api.auth import Principal
from lib.api.http import ApiRequest, ApiResponse, json_response
from lib.bootstrap import App

__all__ = ["get_dashboard", "get_status"]


def get_status(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    from lib.monitoring import monitoring  # the monitoring wiring is built on the first status call

    return json_response(200, monitoring(app).status.get())


def get_dashboard(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    from lib.status.page import dashboard_html

    # The page carries no data: it fetches /api/status itself, so it can be cached briefly and never goes stale.
    return ApiResponse(200, dashboard_html(), {"Cache-Control": "private, max-age=60"}, media_type="text/html")
