"""The OpenAPI 3.1 document of the HTTP API. A test compares it with the routes the app registers."""

from __future__ import annotations

from typing import Any

from lib.api.body import MAX_BODY
from lib.domain.asr import RecoveryPointType
from lib.domain.dr import COMMIT_MODES, KINDS, MAX_VMS, TIMING_FIELDS
from lib.domain.runs import RunStatus
from lib.guard import Outcome

__all__ = ["document"]

_REF = "#/components/schemas/"
_TEXT = {"type": ["string", "null"], "maxLength": 1000}
_VM = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"}
_VMS = {"type": "array", "items": _VM, "minItems": 1, "maxItems": MAX_VMS, "uniqueItems": True}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


def _target() -> dict[str, Any]:
    plan = {"type": "object", "required": ["recoveryPlan"], "additionalProperties": False,
            "properties": {"recoveryPlan": {"type": "string", "minLength": 1, "maxLength": 260,
                                            "pattern": "\\S"}}}  # fmt: skip
    vms = {"type": "object", "additionalProperties": False, "minProperties": 1,
           "properties": {"vms": _VMS, "groups": {"type": "array", "items": _VMS, "minItems": 1,
                                                  "description": "boot order: groups one after the other"}},
           "description": "VM names; with 'groups', 'vms' may be left out or must list the same VMs"}  # fmt: skip
    return {"oneOf": [plan, vms]}


def _start_body(kind: str) -> dict[str, Any]:
    points = [p.value for p in RecoveryPointType]
    props: dict[str, Any] = {
        "target": _ref("Target"),
        "recoveryPoint": {"anyOf": [{"enum": points}, {"type": "string", "pattern": "/recoveryPoints/"},
                                    {"type": "null"}],
                          "description": "a recovery point type, or a recovery point ARM id (single VM only)"},
        "shutdownSource": {"type": ["boolean", "null"], "default": True},
        "autoCommit": {"type": ["boolean", "null"], "default": True},
        "autoReprotect": {"type": ["boolean", "null"], "default": True},
        "commitMode": {"enum": [*COMMIT_MODES, None], "default": COMMIT_MODES[0],
                       "description": "VM lists: 'per-vm' commits and reprotects each VM as soon as its own failover"
                                      " is done (for independent VMs; needs autoCommit); 'together' waits for every"
                                      " VM and asks when one failed"},
        "parallelism": {"type": ["integer", "null"], "minimum": 1, "maximum": 100, "default": 10},
        "reason": _TEXT,
        "timing": _ref("Timing"),
    }  # fmt: skip
    required = ["target"]
    if kind == "drill":
        props["testNetworkId"] = {"type": "string", "pattern": "/virtualNetworks/", "maxLength": 1000}
        props["probeUrl"] = {"type": ["string", "null"], "pattern": "^https?://[^\\s/]+", "maxLength": 1000}
        required.append("testNetworkId")
    return {"type": "object", "required": required, "additionalProperties": False, "properties": props}


def _schemas() -> dict[str, Any]:
    nullable_text = {"type": ["string", "null"]}
    return {
        "Target": _target(),
        "Timing": {"type": ["object", "null"], "additionalProperties": False,
                   "properties": {name: {"type": "number", "exclusiveMinimum": 0, "maximum": 604800}
                                  for name in TIMING_FIELDS}},
        "FailoverRequest": _start_body("failover"),
        "FailbackRequest": _start_body("failback"),
        "DrillRequest": _start_body("drill"),
        "Started": {"type": "object", "required": ["runId", "status", "kind"],
                    "properties": {"runId": {"type": "string"}, "status": _ref("Status"),
                                   "kind": {"enum": list(KINDS)}}},
        "Status": {"enum": [s.value for s in RunStatus]},
        "Error": {"type": "object", "required": ["error"], "properties": {"error": {
            "type": "object", "required": ["code", "message", "field"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "field": nullable_text,
                           "status": _ref("Status"), "reason": {"type": "string"},
                           "choices": {"type": "array", "items": {"type": "string"},
                                       "description": "409: what the run accepts now (e.g. commit, rollback)"},
                           "holder": {"type": "string"}, "expiresAt": {"type": "string"}}}}},
        "RunSummary": {"type": "object", "required": ["runId", "kind", "status", "createdAt"],
                       "properties": {"runId": {"type": "string"}, "kind": {"type": "string"},
                                      "status": _ref("Status"), "createdAt": {"type": "string"},
                                      "updatedAt": {"type": "string"}, "step": {"type": "string"},
                                      "reason": {"type": "string"}}},
        "RunPage": {"type": "object", "required": ["runs", "continuation"],
                    "properties": {"runs": {"type": "array", "items": _ref("RunSummary")},
                                   "continuation": nullable_text}},
        "Run": _run_schema(),
        "History": {"type": "object", "required": ["runId", "history"],
                    "properties": {"runId": {"type": "string"}, "history": {"type": "array", "items": {
                        "type": "object", "required": ["seq", "at", "event", "to", "step"],
                        "properties": {"seq": {"type": "integer"}, "at": {"type": "string"},
                                       "event": {"type": "string"}, "from": nullable_text, "to": _ref("Status"),
                                       "step": {"type": "string"}, "outcome": {"type": "string"},
                                       "reason": {"type": "string"}, "details": {"type": "object"},
                                       "actor": {"type": "string"}}}}}},
        "Health": {"type": "object", "required": ["status", "missingSettings"],
                   "properties": {"status": {"enum": ["ok", "degraded"]},
                                  "missingSettings": {"type": "array", "items": {"type": "string"}},
                                  "invalidSettings": {"type": "array", "items": {"type": "string"}},
                                  "settingProblems": {"type": "array", "items": {"type": "string"},
                                                      "description": "each storage setting problem: setting: why"},
                                  "policyErrors": {"type": "array", "items": {"type": "string"},
                                                   "description": "each bad policy field: path: reason"},
                                  "authMode": nullable_text}},
        **_autopilot_schemas(),
        "ApproveRequest": _text_body("comment", "approval"),
        "ReasonRequest": _text_body("reason"),
        "CommentRequest": _text_body("comment"),
        **_status_schemas(),
    }  # fmt: skip


def _tile(*segments: str) -> dict[str, Any]:
    names = {"type": "array", "items": {"type": "string"}}
    return {"type": "object", "required": ["counts", "items"], "properties": {
        "counts": {"type": "object", "required": list(segments),
                   "properties": {s: {"type": "integer", "minimum": 0} for s in segments}},
        "items": {"type": "object", "required": list(segments),
                  "properties": {s: names for s in segments}}}}  # fmt: skip


def _status_schemas() -> dict[str, Any]:
    names = {"type": "array", "items": {"type": "string"}}
    issue = {
        "type": "object",
        "required": ["count", "items", "reasons"],
        "properties": {"count": {"type": "integer"}, "items": names, "reasons": names},
    }
    classes = ("missingConfigurations", "missingResources", "subscriptionQuota", "softwareUpdates")
    check = {
        "type": "object",
        "required": ["name", "state", "reason", "category"],
        "properties": {
            "name": {"type": "string"},
            "state": _ref("ReadinessState"),
            "reason": {"type": "string"},
            "category": {"type": "string"},
            "items": names,
        },
    }
    vm = {
        "type": "object",
        "required": ["vm", "phase", "state"],
        "properties": {
            "vm": {"type": "string"},
            "phase": {"type": "string"},
            "state": {"type": "string"},
            "reprotectPercent": {"type": ["integer", "null"]},
        },
    }
    return {
        "ReadinessState": {"enum": ["Ready", "Warning", "ActionRequired"]},
        "Readiness": {"type": "object", "required": ["target", "region", "state", "evaluatedAt", "reasons", "checks"],
                      "properties": {"target": {"type": "string", "description": "plan:<name> or vms:<names>"},
                                     "region": {"type": "string"}, "state": _ref("ReadinessState"),
                                     "evaluatedAt": {"type": "string"}, "reasons": names,
                                     "checks": {"type": "array", "items": check}}},
        "StatusView": {"type": "object",
                   "required": ["generatedAt", "tiles", "rpo", "readiness", "lastReadinessEvaluation", "activeRuns",
                                "lastDrills", "decisions", "cache"],
                   "properties": {
                       "generatedAt": {"type": "string"},
                       "tiles": {"type": "object", "required": ["replicatedItems", "failoverTestSuccess",
                                                                "configurationIssues"],
                                 "properties": {
                                     "replicatedItems": _tile("healthy", "warning", "critical", "notApplicable"),
                                     "failoverTestSuccess": _tile("performedSuccessfully", "recommended",
                                                                  "notApplicable"),
                                     "configurationIssues": {"type": "object", "required": list(classes),
                                                             "properties": {c: issue for c in classes}}}},
                       "rpo": {"type": "array", "items": {"type": "object", "required": ["vm", "rpoSeconds"],
                                                          "properties": {"vm": {"type": "string"},
                                                                         "rpoSeconds": {"type": ["integer", "null"]},
                                                                         "replicationHealth": {"type": "string"}}}},
                       "readiness": {"type": "array", "items": _ref("Readiness")},
                       "lastReadinessEvaluation": {"type": ["string", "null"]},
                       "activeRuns": {"type": "array", "items": {
                           "type": "object", "required": ["runId", "kind", "status", "step", "vms"],
                           "properties": {"runId": {"type": "string"}, "kind": {"type": "string"},
                                          "status": _ref("Status"), "step": {"type": "string"},
                                          "vms": {"type": "array", "items": vm}}}},
                       "lastDrills": {"type": "array", "items": {
                           "type": "object", "required": ["target", "runId", "status", "succeeded"],
                           "properties": {"target": {"type": "string"}, "runId": {"type": "string"},
                                          "status": _ref("Status"), "succeeded": {"type": "boolean"},
                                          "finishedAt": {"type": "string"}}}},
                       "decisions": {"type": "array", "items": {"type": "object"},
                                     "description": "the newest 20 policy decisions with their reasons"},
                       "cache": {"type": "object", "properties": {"generatedAt": {"type": "string"},
                                                                  "ageSeconds": {"type": "number"},
                                                                  "maxAgeSeconds": {"type": "number"}}}}},
    }  # fmt: skip


def _autopilot_schemas() -> dict[str, Any]:
    text = {"type": "string"}
    texts = {"type": "array", "items": text}
    return {
        "AlertAccepted": {"type": "object", "required": ["accepted"],
                          "properties": {"accepted": {"type": "integer", "description": "notifications read"},
                                         "ignored": {**texts, "description": "why some will be ignored"}}},
        "Decision": {"type": "object",
                     "required": ["id", "at", "region", "incident", "sources", "outcome", "reasons", "runs",
                                  "policyHash"],
                     "properties": {"id": text, "at": text, "region": text, "incident": {"type": ["string", "null"]},
                                    "sources": texts, "outcome": {"enum": [o.value for o in Outcome]},
                                    "reasons": texts, "runs": texts, "policyHash": text,
                                    "signal": {"type": ["string", "null"], "description": "its notification key"},
                                    "targets": {"type": "array", "items": {"type": "object"}},
                                    "incidents": texts, "pending": {"type": ["object", "null"]}}},
        "DecisionPage": {"type": "object", "required": ["decisions"],
                         "properties": {"decisions": {"type": "array", "items": _ref("Decision")}}},
        "PolicyView": {"type": "object", "required": ["valid", "policyHash", "policy", "errors"],
                       "properties": {"valid": {"type": "boolean"}, "policyHash": {"type": ["string", "null"]},
                                      "policy": {"type": ["object", "null"], "description": "every default filled"},
                                      "origin": text,
                                      "errors": {"type": "array", "items": {
                                          "type": "object", "required": ["path", "reason"],
                                          "properties": {"path": text, "reason": text}}}}},
    }  # fmt: skip


def _text_body(*names: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": {n: _TEXT for n in names}}


def _run_schema() -> dict[str, Any]:
    any_obj = {"type": "object"}
    return {
        "type": "object",
        "required": ["runId", "kind", "status", "step", "reason", "requestedBy", "why", "request", "steps",
                     "jobs", "vms", "evidence"],
        "properties": {
            "runId": {"type": "string"}, "kind": {"type": "string"}, "status": _ref("Status"),
            "step": {"type": "string"}, "reason": {"type": "string"}, "error": {"type": ["string", "null"]},
            "errorCode": {"type": ["string", "null"]}, "approval": {"type": ["string", "null"]},
            "createdAt": {"type": "string"}, "updatedAt": {"type": "string"},
            "requestedBy": {"type": "object", "properties": {"name": {"type": "string"},
                                                             "objectId": {"type": ["string", "null"]}}},
            "why": {"type": "string"}, "request": any_obj,
            "steps": {"type": "array", "items": {"type": "object", "required": ["step", "startedAt", "outcome"],
                                                 "properties": {"step": {"type": "string"},
                                                                "startedAt": {"type": ["string", "null"]},
                                                                "endedAt": {"type": ["string", "null"]},
                                                                "outcome": {"type": ["string", "null"]}}}},
            "jobs": {"type": "array", "items": {"type": "object", "required": ["id", "state"],
                                                "properties": {"id": {"type": "string"},
                                                               "state": {"type": ["string", "null"]},
                                                               "startTime": {"type": ["string", "null"]},
                                                               "endTime": {"type": ["string", "null"]}}}},
            "vms": {"type": "array", "items": {"type": "object", "required": ["vm", "phase", "state"],
                                               "properties": {"vm": {"type": "string"},
                                                              "reprotectPercent": {"type": ["integer", "null"]},
                                                              "health": {"type": ["string", "null"]},
                                                              "error": {"type": ["object", "string", "null"]}}}},
            "evidence": {"type": ["object", "null"]},
            "choices": {"type": "array", "items": {"type": "string"},
                        "description": "awaiting-decision: what the operator may choose (commit, retry, rollback)"},
            "choice": {"type": ["string", "null"]}, "decidedBy": {"type": ["string", "null"]},
            "linkedRun": {"type": ["string", "null"], "description": "a rollback's return-trip run"},
            "rollbackRun": {"type": ["string", "null"], "description": "the linked run that brings the VMs back"},
            "links": {"type": "array", "description": "runs this run started: runId, reason (rollback), kind, by",
                      "items": {"type": "object", "required": ["runId", "reason"]}},
            "linkedFrom": {"type": ["object", "null"],
                           "description": "the run that started this one: runId, reason (rollback), by"},
            "cancel": {"type": ["object", "null"],
                       "description": "a cancel asked for while ASR jobs ran: requested, cancelledJobs"},
            "lease": {"type": ["object", "null"], "description": "holder, acquired_at, expires_at, expired"},
            "parked": {"type": ["object", "null"],
                       "description": "waiting-for-region: region, vms, since, attempts, retry_at (resume: now)"},
        },
    }  # fmt: skip


def _answer(description: str, schema: str | None = None, **headers: str) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description}
    if schema:
        out["content"] = {"application/json": {"schema": _ref(schema)}}
    if headers:
        out["headers"] = {k.replace("_", "-"): {"schema": {"type": "string"}, "description": v}
                          for k, v in headers.items()}  # fmt: skip
    return out


_ERRORS = {
    "400": "bad input: the field and the reason", "401": "no function key / no signed-in principal",
    "403": "the caller lacks the app role", "404": "unknown run, recovery plan or VM",
    "409": "another run holds the VMs, or the run's state forbids the operation (reason, choices)",
    "413": f"body over {MAX_BODY} bytes", "415": "the body is not application/json",
    "502": "ASR refused a read the check needed", "503": "ASR is throttling or unavailable: retry after Retry-After",
}  # fmt: skip


def _errors(*codes: str) -> dict[str, Any]:
    return {code: _answer(_ERRORS[code], "Error") for code in codes}


_ANY_JSON = {"application/json": {"schema": {"type": "object"}}}
_RUN_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _start_op(kind: str, schema: str) -> dict[str, Any]:
    return {"post": {
        "operationId": f"start{kind.capitalize()}", "summary": f"start a {kind} run",
        "parameters": [{"name": "Idempotency-Key", "in": "header", "required": False,
                        "schema": {"type": "string", "maxLength": 200},
                        "description": "the same key returns the same run"}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(schema)}}},
        "responses": {"202": _answer("the run was created (or the key had created it)", "Started",
                                     Location="/api/runs/{id}"),
                      **_errors("400", "401", "403", "404", "409", "413", "415", "502", "503")},
    }}  # fmt: skip


def _run_op(name: str, summary: str, body: str) -> dict[str, Any]:
    return {"post": {
        "operationId": name, "summary": summary, "parameters": [_RUN_ID],
        "requestBody": {"required": False, "content": {"application/json": {"schema": _ref(body)}}},
        "responses": {"200": _answer("the run after the operation", "Run"),
                      **_errors("400", "401", "403", "404", "409", "413", "415")},
    }}  # fmt: skip


def _cancel_op() -> dict[str, Any]:
    op = _run_op("cancelRun", "cancel an active run (202: while an ASR job runs, a request the run carries out)",
                 "ReasonRequest")  # fmt: skip
    op["post"]["responses"]["202"] = _answer("the run, still active: it stops its ASR jobs, then ends", "Run")
    return op


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _paths() -> dict[str, Any]:
    list_params = [
        _query("status", {"enum": [s.value for s in RunStatus]}), _query("kind", {"enum": list(KINDS)}),
        _query("since", {"type": "string", "format": "date-time"}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
        _query("continuation", {"type": "string"}),
    ]  # fmt: skip
    return {
        "/failover": _start_op("failover", "FailoverRequest"),
        "/failback": _start_op("failback", "FailbackRequest"),
        "/drills": _start_op("drill", "DrillRequest"),
        "/runs": {"get": {"operationId": "listRuns", "summary": "runs, newest first", "parameters": list_params,
                          "responses": {"200": _answer("a page of runs", "RunPage"), **_errors("400", "401", "403")}}},
        "/runs/{id}": {"get": {"operationId": "getRun", "summary": "a run: steps, ASR jobs, VMs, RTO/RPO",
                               "parameters": [_RUN_ID],
                               "responses": {"200": _answer("the run", "Run"), **_errors("401", "403", "404")}}},
        "/runs/{id}/history": {"get": {"operationId": "getRunHistory", "summary": "the raw transitions",
                                       "parameters": [_RUN_ID],
                                       "responses": {"200": _answer("every transition", "History"),
                                                     **_errors("401", "403", "404")}}},
        "/runs/{id}/report": {"get": {
            "operationId": "getRunReport", "summary": "the report of a finished run (written once when it finished)",
            "parameters": [_RUN_ID, _query("format", {"enum": ["json", "html"]})],
            "description": "format defaults by the Accept header: text/html gives the page, anything else JSON",
            "responses": {"200": {"description": "the report", "content": {
                "application/json": {"schema": {"type": "object", "required": ["runId", "kind", "status", "steps",
                                                                                "jobs", "vms"]}},
                "text/html": {"schema": {"type": "string"}}}},
                **_errors("400", "401", "403"),
                "404": _answer("unknown run, or the run has not finished (code ReportNotReady)", "Error")}}},
        "/runs/{id}/approve": _run_op("approveRun", "approve a paused run", "ApproveRequest"),
        "/runs/{id}/cancel": _cancel_op(),
        "/runs/{id}/resume": _run_op("resumeRun", "resume a failed, partial or paused run", "ReasonRequest"),
        "/runs/{id}/commit": _run_op("commitRun", "commit what failed over (a partial failover's choice, or the"
                                     " approval of the commit pause)", "CommentRequest"),
        "/runs/{id}/retry": _run_op("retryRun", "fail the failed VMs over again (a partial failover's choice),"
                                    " or resume a failed or partial run", "ReasonRequest"),
        "/runs/{id}/rollback": _run_op("rollbackRun", "commit and reprotect what failed over, then bring it back"
                                       " with a linked failback run", "ReasonRequest"),
        "/runs/{id}/continue": _run_op("continueRun", "drive a pending, running or waiting run now (takes over an"
                                       " expired lease)", "ReasonRequest"),
        **_autopilot_paths(),
        "/status": {"get": {"operationId": "getStatus", "summary": "the dashboard tiles, RPO per VM, readiness per"
                            " target, active runs, last drills, recent decisions (served from a short cache)",
                            "responses": {"200": _answer("the status", "StatusView"),
                                          **_errors("401", "403", "502", "503")}}},
        "/dashboard": {"get": {"operationId": "getDashboard", "summary": "the live dashboard page (self-contained"
                               " HTML that reads /status; pass the key as ?code= so the page can too)",
                               "responses": {"200": {"description": "the page",
                                                     "content": {"text/html": {"schema": {"type": "string"}}}},
                                             **_errors("401", "403")}}},
        "/openapi.json": {"get": {"operationId": "getOpenApi", "summary": "this document",
                                  "responses": {"200": {"description": "OpenAPI 3.1", "content": _ANY_JSON},
                                                **_errors("401", "403")}}},
        "/health": {"get": {"operationId": "getHealth", "summary": "liveness and missing settings (names only)",
                            "security": [], "responses": {"200": _answer("alive", "Health")}}},
    }  # fmt: skip


def _autopilot_paths() -> dict[str, Any]:
    decision_params = [
        _query("region", {"type": "string", "pattern": "^([a-z0-9]{1,60}|-)$"}),
        _query("since", {"type": "string", "format": "date-time"}),
        _query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
    ]  # fmt: skip
    return {
        "/alerts": {"post": {
            "operationId": "receiveAlert",
            "summary": "the Azure Monitor action-group webhook (common alert schema, legacy activity-log schema)",
            "description": "Queues the payload and answers at once; the decision is taken on the signals queue. "
                           "AUTH_MODE=easyauth: the action group's secure webhook, app role DR.AlertSender.",
            "requestBody": {"required": True, "content": _ANY_JSON},
            "responses": {"202": _answer("queued", "AlertAccepted"), **_errors("400", "401", "403", "413", "415")},
        }},
        "/decisions": {"get": {"operationId": "listDecisions", "summary": "the autopilot's decisions, newest first",
                               "parameters": decision_params,
                               "responses": {"200": _answer("decisions", "DecisionPage"),
                                             **_errors("400", "401", "403")}}},
        "/policy": {"get": {"operationId": "getPolicy", "summary": "the automatic-failover policy, or its errors",
                            "responses": {"200": _answer("the policy in force", "PolicyView"),
                                          **_errors("401", "403")}}},
    }  # fmt: skip


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Site Recovery Autopilot", "version": "1.0.0",
                 "description": "Disaster recovery runs for Azure VMs protected by Azure Site Recovery (A2A)."},
        "servers": [{"url": "/api"}],
        "security": [{"functionKey": []}, {"entraId": []}],
        "paths": _paths(),
        "components": {
            "schemas": _schemas(),
            "securitySchemes": {
                "functionKey": {"type": "apiKey", "in": "header", "name": "x-functions-key",
                                "description": "AUTH_MODE=keys: the function key decides"},
                "entraId": {"type": "http", "scheme": "bearer", "description": "AUTH_MODE=easyauth: an Entra ID "
                            "token validated by App Service Authentication; app roles DR.Operator / DR.Reader"},
            },
        },
    }  # fmt: skip
