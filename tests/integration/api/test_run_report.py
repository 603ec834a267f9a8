"""GET /api/runs/{id}/report on the whole stack: 404 until the run finished, then the report written when it did,
as JSON or as the printable page (by ``?format=`` or the Accept header)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from lib.domain.runs import RunStatus
from tests.integration.api.conftest import NETWORK, topology

pytestmark = pytest.mark.integration


def test_the_report_of_a_finished_run_is_served_as_json_or_html(api_stack: Any) -> None:
    with api_stack(topology(["web-1"])) as api:
        reply = api.start("drill", {"target": {"vms": ["web-1"]}, "testNetworkId": NETWORK, "reason": "Q4 <drill>"})
        run_id = reply.json["runId"]

        early = api.call("GET", f"runs/{run_id}/report")
        assert early.status == 404 and early.json["error"]["code"] == "ReportNotReady", early.json

        assert api.stack.finish(run_id).status is RunStatus.SUCCEEDED
        as_json = api.call("GET", f"runs/{run_id}/report")
        assert as_json.status == 200 and as_json.headers["Content-Type"] == "application/json"
        report = json.loads(as_json.raw)
        assert report["runId"] == run_id and report["kind"] == "drill" and report["why"] == "Q4 <drill>"
        assert report["requestedBy"]["name"] == "function-key" and report["validation"]["ok"] is True

        page = api.call("GET", f"runs/{run_id}/report", headers={"Accept": "text/html,application/xhtml+xml"})
        assert page.status == 200 and page.headers["Content-Type"].startswith("text/html")
        assert "default-src 'none'" in page.headers["Content-Security-Policy"]
        text = page.raw.decode()
        assert "Q4 &lt;drill&gt;" in text and report["generatedAt"] in text  # rendered from the stored JSON
        assert api.call("GET", f"runs/{run_id}/report", query={"format": "html"}).raw == page.raw
        assert api.call("GET", f"runs/{run_id}/report", headers={"Accept": "*/*"}).raw == as_json.raw

        bad = api.call("GET", f"runs/{run_id}/report", query={"format": "pdf"})
        assert bad.status == 400 and bad.field == "format"
        missing = api.call("GET", "runs/no-such-run/report")
        assert missing.status == 404 and missing.json["error"]["code"] == "RunNotFound"
