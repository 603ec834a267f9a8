"""GET /api/runs/{id}/report: the report written when the run finished, as JSON or as the printable page."""

from __future__ import annotations

from lib.api.auth import Principal
from lib.api.errors import ApiError
from lib.api.handlers import _run_id as run_id_of  # the API's one run-id check
from lib.api.http import ApiRequest, ApiResponse
from lib.bootstrap import App
from lib.reports import ReportNotReady
from lib.reports.writer import CONTENT_TYPES

__all__ = ["get_report", "wanted_format"]

FORMATS = ("json", "html")
# The page is served from the API's origin: it may not run scripts or load anything.
_HTML_HEADERS = {"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"}


def wanted_format(query_format: str | None, accept: str | None) -> str:
    """``?format=`` wins; else the first of text/html or a JSON type the Accept header lists; else JSON."""
    if query_format is not None:
        if query_format not in FORMATS:
            raise ApiError(400, "BadRequest", f"must be one of {', '.join(FORMATS)}", "format")
        return query_format
    for part in (accept or "").split(","):
        media = part.split(";")[0].strip().lower()
        if media == "text/html":
            return "html"
        if media in ("application/json", "application/*"):
            return "json"
    return "json"


def get_report(app: App, who: Principal, req: ApiRequest) -> ApiResponse:
    run_id = run_id_of(req)
    fmt = wanted_format(req.query.get("format"), req.header("accept"))
    try:
        data = app.reports.read(run_id, fmt)
    except ReportNotReady as exc:
        raise ApiError(404, "ReportNotReady", str(exc), "id") from None
    headers = {"Content-Type": CONTENT_TYPES[fmt], "X-Content-Type-Options": "nosniff"}
    if fmt == "html":
        headers |= _HTML_HEADERS
    return ApiResponse(200, None, headers, raw=data)
