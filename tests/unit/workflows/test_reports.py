"""Run reports, pure parts and the writer on the in-memory run store: content, HTML escaping, write-once, repair."""

from __future__ import annotations

import json
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest

from lib.domain.dr import parse_request
from lib.engine import RunNotFound
from lib.reports import ReportNotReady, ReportWriter, build_report, render_html, report_name
from lib.workflows.drill import DRILL_WORKFLOW
from lib.workflows.failover import FAILOVER_WORKFLOW
from tests.unit.workflows.fake_asr import T0, FakeSiteRecovery
from tests.unit.workflows.harness import ScriptedProbe, backend_of, make_deps, run

FAST = {"jobPollSeconds": 1, "healthPollSeconds": 1, "healthPollMaxSeconds": 4}
NET = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/isolated"


class DictReportStore:
    """A hand-written ReportStore: create-only like the blob adapter."""

    def __init__(self) -> None:
        self.blobs: dict[str, tuple[bytes, str]] = {}
        self.puts = 0

    def ensure(self) -> None:
        pass

    def put_once(self, name: str, data: bytes, content_type: str) -> bool:
        self.puts += 1
        if name in self.blobs:
            return False
        self.blobs[name] = (data, content_type)
        return True

    def get(self, name: str) -> bytes | None:
        found = self.blobs.get(name)
        return found[0] if found else None

    def names(self, prefix: str) -> set[str]:
        return {n for n in self.blobs if n.startswith(prefix)}


def _drill(asr: FakeSiteRecovery, probe: ScriptedProbe | None = None, **extra: Any) -> Any:
    body = {"target": {"vms": ["web-1", "web-2"]}, "testNetworkId": NET, "timing": FAST, "reason": "quarterly"}
    deps = make_deps(asr, probe)
    request = parse_request("drill", body, actor="alice@contoso.com").to_json() | extra
    return deps, run(DRILL_WORKFLOW, deps, request)


def _history(deps: Any, run_id: str) -> Any:
    found = backend_of(deps).store.load_with_history(run_id)
    assert found is not None
    return found[0].run, found[1]


def test_a_drill_report_holds_request_steps_jobs_vms_and_validation() -> None:
    deps, result = _drill(FakeSiteRecovery(["web-1", "web-2"]))
    record, history = _history(deps, result.run.run_id)
    report = build_report(record, history, T0)
    assert report["kind"] == "drill" and report["status"] == "succeeded"
    assert report["requestedBy"]["name"] == "alice@contoso.com" and report["why"] == "quarterly"
    assert report["trigger"] is None
    assert [s["step"] for s in report["steps"]] == ["preflight", "test_failover", "validate", "cleanup", "report"]
    assert all(s["startedAt"] and s["endedAt"] for s in report["steps"])
    phases = sorted(j["phase"] for j in report["jobs"])
    assert phases == ["cleanup", "cleanup", "test_failover", "test_failover"]
    assert all(j["startTime"] and j["endTime"] for j in report["jobs"])
    vms = {vm["vm"]: vm for vm in report["vms"]}
    assert set(vms) == {"web-1", "web-2"}
    assert vms["web-1"]["final"]["where"] == "test failover cleaned up" and vms["web-1"]["outcome"] == "succeeded"
    assert vms["web-1"]["recoveryPoint"]["kind"] == "LatestProcessed"
    assert report["validation"]["ok"] is True and set(report["validation"]["vms"]) == {"web-1", "web-2"}
    json.dumps(report)  # JSON all the way down


def test_the_policy_decision_that_started_a_run_is_in_its_report() -> None:
    trigger = {"decisionId": "d-17", "region": "eastus", "incident": "VN0C-ABC", "policyHash": "5ed9493f61127238"}
    deps, result = _drill(FakeSiteRecovery(["web-1", "web-2"]), trigger=trigger)
    record, history = _history(deps, result.run.run_id)
    report = build_report(record, history, T0)
    assert report["trigger"] == trigger
    page = render_html(report)
    assert "VN0C-ABC" in page and "5ed9493f61127238" in page


def test_a_failed_drill_report_says_why_per_vm() -> None:
    deps, result = _drill(FakeSiteRecovery(["web-1", "web-2"]), ScriptedProbe([False]), probe_url="http://app.test/")
    record, history = _history(deps, result.run.run_id)
    report = build_report(record, history, T0)
    assert report["status"] == "failed" and "probe" in report["validation"]["reason"]
    assert "probe" in render_html(report)


def test_a_failover_report_has_rto_rpo_and_where_each_vm_ended() -> None:
    asr = FakeSiteRecovery(["web-1"])
    deps = make_deps(asr)
    body = parse_request("failover", {"target": {"vms": ["web-1"]}, "timing": FAST}).to_json()
    result = run(FAILOVER_WORKFLOW, deps, body)
    record, history = _history(deps, result.run.run_id)
    report = build_report(record, history, T0 + timedelta(hours=1))
    [vm] = report["vms"]
    assert vm["final"] == {"where": "failed over, protected", "region": "westus"}
    assert vm["rtoSeconds"] is not None and report["rtoSeconds"] == vm["rtoSeconds"]
    assert report["validation"] is None


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.links += [v or "" for k, v in attrs if k in ("src", "href")]


def test_html_is_self_contained_printable_and_escapes_what_it_shows() -> None:
    deps, result = _drill(FakeSiteRecovery(["web-1", "web-2"]))
    record, history = _history(deps, result.run.run_id)
    report = build_report(record, history, T0)
    report["why"] = '<script>alert("x")</script>'
    report["trigger"] = {"incident": "<img src=x onerror=alert(1)>"}
    page = render_html(report)
    parser = _Tags()
    parser.feed(page)
    assert "script" not in parser.tags and "img" not in parser.tags and "link" not in parser.tags
    assert parser.links == []  # no external assets
    assert "&lt;script&gt;" in page and "@media print" in page and "@page" in page
    assert page.startswith("<!DOCTYPE html>") and "Drill validation" in page


def test_report_names_use_the_month_the_run_started() -> None:
    assert report_name("r1", T0, "json") == f"runs/{T0:%Y}/{T0:%m}/r1.json"


# -- the writer ------------------------------------------------------------------------------------------------


def _writer(deps: Any) -> tuple[ReportWriter, DictReportStore]:
    store = DictReportStore()
    backend = backend_of(deps)
    return ReportWriter(store, backend.store, backend.clock), store


def test_a_report_is_written_once_and_a_second_attempt_leaves_the_first_intact() -> None:
    deps, result = _drill(FakeSiteRecovery(["web-1", "web-2"]))
    writer, store = _writer(deps)
    first = writer.write(result.run.run_id)
    assert sorted(first.written) == sorted(
        report_name(result.run.run_id, result.run.created_at, e) for e in ("json", "html")
    )
    before = dict(store.blobs)
    backend_of(deps).clock.advance(timedelta(hours=1))  # a later attempt would stamp another generatedAt
    again = writer.write(result.run.run_id)
    assert again.written == () and sorted(again.existed) == sorted(first.written)
    assert store.blobs == before
    assert store.blobs[first.written[0]][1] in ("application/json", "text/html; charset=utf-8")


def test_when_only_the_json_exists_the_html_is_rendered_from_it() -> None:
    deps, result = _drill(FakeSiteRecovery(["web-1", "web-2"]))
    writer, store = _writer(deps)
    writer.write(result.run.run_id)
    html_name = report_name(result.run.run_id, result.run.created_at, "html")
    del store.blobs[html_name]
    backend_of(deps).clock.advance(timedelta(days=1))
    assert writer.write(result.run.run_id).written == (html_name,)
    json_report = json.loads(store.blobs[html_name.replace(".html", ".json")][0])
    assert json_report["generatedAt"] in store.blobs[html_name][0].decode()


def test_an_active_run_has_no_report_and_an_unknown_run_is_not_found() -> None:
    deps, result = _drill(FakeSiteRecovery(["web-1", "web-2"]))
    writer, _ = _writer(deps)
    with pytest.raises(RunNotFound):
        writer.write("no-such-run")
    backend = backend_of(deps)
    loaded = backend.store.load(result.run.run_id)
    assert loaded is not None
    from dataclasses import replace

    from lib.domain.runs import RunStatus

    backend.store.save(replace(loaded.run, status=RunStatus.RUNNING), loaded.etag, [], previous=loaded.run)
    with pytest.raises(ReportNotReady):
        writer.read(result.run.run_id, "json")


def test_write_missing_finds_finished_runs_without_a_report() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    deps, first = _drill(asr)
    second = run(DRILL_WORKFLOW, deps, first.run.input)
    writer, store = _writer(deps)
    writer.write(first.run.run_id)
    assert writer.write_missing() == [second.run.run_id]
    assert writer.write_missing() == []  # idempotent
    assert len(store.blobs) == 4


def test_the_observer_writes_when_a_run_finishes() -> None:
    asr = FakeSiteRecovery(["web-1", "web-2"])
    deps = make_deps(asr)
    backend = backend_of(deps)
    store = DictReportStore()
    writer = ReportWriter(store, backend.store, backend.clock)
    body = parse_request("drill", {"target": {"vms": ["web-1"]}, "testNetworkId": NET, "timing": FAST}).to_json()
    from lib.engine import Driver, Engine

    engine = Engine(registry={"drill": DRILL_WORKFLOW}, deps=deps, store=backend.store, queue=backend.queue,
                    clock=backend.clock)  # fmt: skip
    engine.add_observer(writer.observe)
    run_id = engine.start("drill", body).run_id
    assert store.blobs == {}
    Driver(engine, sleep=backend.sleep).run_until_finished(run_id, deadline_s=30)
    assert sorted(store.blobs) == sorted(
        report_name(run_id, engine.get(run_id).run.created_at, e) for e in ("html", "json")
    )
    assert store.puts == 2  # written once, when the run finished
