"""GET /api/health through its trigger, and the run view's step projection (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import azure.functions as func
import pytest

from functions.http_meta import http_health
from lib.api.run_view import run_view
from lib.domain.dr import parse_request
from lib.domain.runs import HistoryRecord, RunEvent, RunRecord, RunStatus
from lib.workflows.runstate import RunState
from lib.workflows.vmstate import VmProgress

T0 = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def test_health_is_alive_and_names_missing_settings_without_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AzureWebJobsStorage", "DefaultEndpointsProtocol=https;AccountKey=s3cr3t")
    monkeypatch.setenv("ASR_VAULT_NAME", "vault-secret-name")
    monkeypatch.delenv("ASR_SUBSCRIPTION_ID", raising=False)
    monkeypatch.delenv("ASR_RESOURCE_GROUP", raising=False)
    monkeypatch.setenv("AUTH_MODE", "easyauth")
    res = http_health(func.HttpRequest("GET", "http://localhost/api/health", body=b""))
    body = json.loads(res.get_body())
    assert res.status_code == 200 and body["status"] == "degraded"
    assert body["missingSettings"] == ["ASR_SUBSCRIPTION_ID", "ASR_RESOURCE_GROUP"]
    assert body["authMode"] == "easyauth"
    assert b"s3cr3t" not in res.get_body() and b"vault-secret-name" not in res.get_body()


def test_health_says_in_words_which_storage_setting_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AzureWebJobsStorage", raising=False)
    monkeypatch.setenv("AzureWebJobsStorage__queueServiceUri", "https://stdr01.queue.core.windows.net/")
    monkeypatch.setenv("AzureWebJobsStorage__credential", "managedidentity")
    for name in ("ASR_SUBSCRIPTION_ID", "ASR_RESOURCE_GROUP", "ASR_VAULT_NAME"):
        monkeypatch.setenv(name, "x")
    body = json.loads(http_health(func.HttpRequest("GET", "http://localhost/api/health", body=b"")).get_body())
    assert body["status"] == "degraded" and body["missingSettings"] == ["AzureWebJobsStorage__tableServiceUri"]
    [words] = body["settingProblems"]
    assert words.startswith("AzureWebJobsStorage__tableServiceUri: not set") and "table storage" in words

    monkeypatch.setenv("AzureWebJobsStorage__accountName", "stdr01")  # now every endpoint is known
    monkeypatch.setenv("AzureWebJobsStorage__credential", "accountkey")
    body = json.loads(http_health(func.HttpRequest("GET", "http://localhost/api/health", body=b"")).get_body())
    assert body["missingSettings"] == [] and body["invalidSettings"] == ["AzureWebJobsStorage__credential"]
    assert "accountkey" not in json.dumps(body)  # the setting is named, its value never shown


def _row(seq: int, event: RunEvent, step: str, outcome: str, minutes: int) -> HistoryRecord:
    return HistoryRecord(seq=seq, at=T0 + timedelta(minutes=minutes), event=event, from_status=None,
                         to_status=RunStatus.RUNNING, step=step, version=seq, outcome=outcome,
                         reason=f"{step} {outcome}", actor="ada (oid-1)")  # fmt: skip


def _state() -> dict[str, object]:
    row = VmProgress(item="web-1", fabric="asr-eastus", container="c-eastus", group=0, done=["failover"],
                     progress=40, health="Normal")  # fmt: skip
    return RunState(vms={"web-1": row}).to_json()


def test_steps_have_start_end_and_outcome_and_a_resumed_step_appears_again() -> None:
    request = parse_request("failover", {"target": {"vms": ["web-1"]}, "reason": "outage"}, actor="ada")
    run = RunRecord(run_id="r1", workflow="failover", status=RunStatus.RUNNING, step="failover", version=7,
                    input=request.to_json(), state=_state(),
                    created_at=T0, updated_at=T0, step_started_at=T0)  # fmt: skip
    history = [
        _row(1, RunEvent.CREATE, "preflight", "operation", 0),
        _row(2, RunEvent.STEP_NEXT, "preflight", "next", 1),
        _row(3, RunEvent.STEP_WAIT, "failover", "wait", 2),
        _row(4, RunEvent.STEP_NEXT, "failover", "fail", 5),
        _row(5, RunEvent.RESUME, "failover", "operation", 9),
        _row(6, RunEvent.STEP_WAIT, "failover", "wait", 10),
    ]
    view = run_view(run, history)
    steps = [(s["step"], s["startedAt"][11:16], s["endedAt"] and s["endedAt"][11:16], s["outcome"])
             for s in view["steps"]]  # fmt: skip
    assert steps == [
        ("preflight", "06:00", "06:01", "next"),
        ("failover", "06:01", "06:05", "fail"),
        ("failover", "06:09", None, "wait"),
    ]
    assert view["vms"] == [{"vm": "web-1", "group": 0, "phase": "failover", "phasesDone": ["failover"],
                            "state": "active", "reprotectPercent": 40, "health": "Normal", "error": None,
                            "where": "failed over, uncommitted",
                            "rtoSeconds": None, "rpoSeconds": None}]  # fmt: skip
    assert view["requestedBy"] == {"name": "ada", "objectId": None} and view["why"] == "outage"
    assert view["request"]["target"] == {"vms": ["web-1"], "groups": [["web-1"]]}
