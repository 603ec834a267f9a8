"""The report as one self-contained HTML page: inline CSS (with print rules), no scripts, no external assets.

Every value from the run (names, reasons, ASR's error messages) is escaped: the page is built from text the app
did not write.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from html import escape
from typing import Any

__all__ = ["render_html"]

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;margin:24px auto;
max-width:1200px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px;border-bottom:1px solid #ccc;padding-bottom:2px}
table{border-collapse:collapse;width:100%;margin:4px 0 8px}th,td{border:1px solid #d0d0d0;padding:4px 6px;
text-align:left;vertical-align:top}th{background:#f2f2f2}td.num{text-align:right;font-variant-numeric:tabular-nums}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600}
.succeeded{background:#dff3e2;color:#14532d}.failed{background:#fde2e1;color:#7f1d1d}
.partially-succeeded,.cancelled{background:#fff3cd;color:#713f12}
dl{display:grid;grid-template-columns:max-content 1fr;gap:2px 16px;margin:0}dt{font-weight:600}dd{margin:0}
.muted{color:#666}code{font-size:12px;word-break:break-all}
@page{size:A4 landscape;margin:12mm}
@media print{body{margin:0;max-width:none;font-size:11px}h2{break-after:avoid}tr,dl{break-inside:avoid}
thead{display:table-header-group}.status{border:1px solid #999}}
"""


def _text(value: object) -> str:
    if value is None or value == "":
        return '<span class="muted">-</span>'
    return escape(str(value))


def _seconds(value: object) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return _text(None)
    minutes, secs = divmod(round(value), 60)
    return escape(f"{minutes} min {secs} s" if minutes else f"{secs} s")


def _fields(pairs: Sequence[tuple[str, str]]) -> str:
    return "<dl>" + "".join(f"<dt>{escape(k)}</dt><dd>{v}</dd>" for k, v in pairs) + "</dl>"


def _table(heads: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _error(value: object) -> str:
    if isinstance(value, Mapping):
        return _text(" ".join(str(value.get(k) or "") for k in ("phase", "code", "message")).strip())
    return _text(value)


def _summary(r: Mapping[str, Any]) -> str:
    who = r.get("requestedBy") or {}
    status = escape(str(r.get("status")))
    return _fields([
        ("Status", f'<span class="status {status}">{status}</span>'),
        ("Outcome", _text(r.get("error") or r.get("reason"))),
        ("Requested by", _text(who.get("name")) + (f" <code>{escape(str(who['objectId']))}</code>"
                                                   if who.get("objectId") else "")),
        ("Why", _text(r.get("why"))),
        ("Started", _text(r.get("createdAt"))), ("Finished", _text(r.get("finishedAt"))),
        ("Duration", _seconds(r.get("durationSeconds"))),
        ("RTO (worst VM)", _seconds(r.get("rtoSeconds"))), ("RPO (worst VM)", _seconds(r.get("rpoSeconds"))),
        ("Linked run", _text(r.get("linkedRun"))),
    ])  # fmt: skip


def _request(r: Mapping[str, Any]) -> str:
    request = r.get("request") or {}
    return _fields([(str(k), _text(v if not isinstance(v, dict | list) else _compact(v))) for k, v in request.items()])


def _compact(value: object) -> str:
    return json.dumps(value, separators=(", ", ": "))


def _trigger(r: Mapping[str, Any]) -> str:
    trigger = r.get("trigger")
    if not isinstance(trigger, Mapping):
        return '<p class="muted">started by a person (no policy decision)</p>'
    return _fields([(str(k), _text(v if not isinstance(v, dict | list) else _compact(v))) for k, v in trigger.items()])


def _steps(r: Mapping[str, Any]) -> str:
    rows = [[_text(s.get("step")), _text(s.get("startedAt")), _text(s.get("endedAt")), _text(s.get("outcome")),
             _text(s.get("reason"))] for s in r.get("steps") or []]  # fmt: skip
    return _table(["Step", "Started", "Ended", "Outcome", "Reason"], rows)


def _jobs(r: Mapping[str, Any]) -> str:
    rows = []
    for job in r.get("jobs") or []:
        errors = "; ".join(f"{e.get('code')}: {e.get('message')}" for e in job.get("errors") or [])
        rows.append([f"<code>{escape(str(job.get('id')))}</code>", _text(job.get("phase")), _text(job.get("target")),
                     _text(job.get("state")), _text(job.get("startTime")), _text(job.get("endTime")),
                     _text(errors)])  # fmt: skip
    return _table(["ASR job", "Phase", "Target", "State", "Start", "End", "Errors"], rows)


def _vms(r: Mapping[str, Any]) -> str:
    rows = []
    for vm in r.get("vms") or []:
        point = vm.get("recoveryPoint") or {}
        final = vm.get("final") or {}
        rpo = _seconds(vm.get("rpoSeconds")) + (" (estimated)" if vm.get("rpoEstimated") else "")
        rows.append([_text(vm.get("vm")), _text(vm.get("outcome") or vm.get("state")), _text(final.get("where")),
                     _text(final.get("region")), f'<span class="num">{_seconds(vm.get("rtoSeconds"))}</span>', rpo,
                     _text(" ".join(str(point.get(k) or "") for k in ("kind", "time")).strip()),
                     _text(", ".join(vm.get("phasesDone") or [])), _error(vm.get("error"))])  # fmt: skip
    heads = ["VM", "Outcome", "Final state", "Region", "RTO", "RPO", "Recovery point", "Phases done", "Error"]
    return _table(heads, rows)


def _validation(r: Mapping[str, Any]) -> str:
    validation = r.get("validation")
    if not isinstance(validation, Mapping):
        return '<p class="muted">no validation recorded</p>'
    probe = validation.get("probe") or {}
    rows = [[_text(vm), _text("passed" if check.get("ok") else "failed"), _text(check.get("test_vm")),
             _text(", ".join(check.get("failed_tasks") or []))]
            for vm, check in (validation.get("vms") or {}).items()]  # fmt: skip
    head = _fields([
        ("Verdict", _text("passed" if validation.get("ok") else "failed")), ("Reason", _text(validation.get("reason"))),
        ("Probe", _text(f"{probe.get('url')}: {probe.get('detail')}" if probe else None)),
    ])  # fmt: skip
    return head + _table(["VM", "Test VM check", "Test VM", "Tasks not finished"], rows)


def _operations(r: Mapping[str, Any]) -> str:
    rows = [[_text(o.get("at")), _text(o.get("event")), _text(o.get("by")), _text(o.get("reason"))]
            for o in r.get("operations") or []]  # fmt: skip
    return _table(["At", "Operation", "By", "Reason"], rows)


_SECTIONS: tuple[tuple[str, Callable[[Mapping[str, Any]], str]], ...] = (
    ("Summary", _summary),
    ("Request", _request),
    ("Policy decision that started it", _trigger),
    ("Virtual machines", _vms),
    ("Steps", _steps),
    ("ASR jobs", _jobs),
    ("Operator actions", _operations),
)


def render_html(report: Mapping[str, Any]) -> str:
    """Pure: the report (``build_report``'s JSON) as a printable page."""
    title = f"{report.get('kind')} run {report.get('runId')}"
    sections = list(_SECTIONS)
    if report.get("kind") == "drill":
        sections.insert(4, ("Drill validation", _validation))
    body = "".join(f"<section><h2>{escape(name)}</h2>{render(report)}</section>" for name, render in sections)
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f'<header><h1>{escape(title)}</h1><p class="muted">Site Recovery Autopilot run report, generated '
        f"{escape(str(report.get('generatedAt')))}</p></header>{body}</body></html>\n"
    )
