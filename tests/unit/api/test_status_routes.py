"""The status view's schemas sit beside the run schemas without replacing one; the dashboard answers HTML."""

from __future__ import annotations

from lib.api.http import ApiResponse
from lib.api.openapi import document
from lib.domain.runs import RunStatus
from lib.status.page import dashboard_html


def test_status_schemas_do_not_shadow_the_run_status() -> None:
    schemas = document()["components"]["schemas"]
    assert schemas["Status"] == {"enum": [s.value for s in RunStatus]}
    assert "StatusView" in schemas and "Readiness" in schemas


def test_the_dashboard_page_is_self_contained_html() -> None:
    page = dashboard_html()
    assert page.startswith("<!doctype html>") and "/status" in page
    assert "http://" not in page and "https://" not in page  # no CDN, no external font
    response = ApiResponse(200, page, media_type="text/html")
    assert response.encoded() == page.encode()
    assert ApiResponse(200, {"a": 1}).encoded() == b'{"a":1}'
