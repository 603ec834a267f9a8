"""Writing each finished run's report once, and finding the ones a crash left unwritten.

``observe`` is an engine observer: it writes the report right after the checkpoint that finished the run. A worker
that dies between that checkpoint and the write leaves the run without a report; ``write_missing`` (the
``reports_repair`` timer) finds finished runs without one and writes it. Both are idempotent: the blobs are
create-only, and once the JSON exists the HTML is rendered from it, so the two never disagree.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from lib.domain.errors import AutopilotError
from lib.domain.runs import FINISHED, HistoryRecord, RunRecord
from lib.engine.errors import RunNotFound
from lib.ports.clock import Clock
from lib.ports.report_store import ReportStore
from lib.ports.run_store import RunStore
from lib.reports.content import build_report, report_name
from lib.reports.html import render_html

__all__ = ["CONTENT_TYPES", "ReportNotReady", "ReportWriter", "WriteResult"]

log = logging.getLogger("autopilot.reports")

CONTENT_TYPES = {"json": "application/json", "html": "text/html; charset=utf-8"}


class ReportNotReady(AutopilotError):
    """The run has not finished: it has no report yet."""

    def __init__(self, run_id: str, status: str) -> None:
        super().__init__(f"run {run_id} is {status}: its report is written when it finishes")
        self.run_id = run_id
        self.status = status


@dataclass(frozen=True)
class WriteResult:
    run_id: str
    written: tuple[str, ...]  # blob names created now
    existed: tuple[str, ...]  # blob names already there (left intact)


class ReportWriter:
    def __init__(
        self, store: ReportStore, runs: RunStore, clock: Clock, lookback: timedelta = timedelta(days=35)
    ) -> None:
        self.store = store
        self._runs = runs
        self._clock = clock
        self._lookback = lookback  # how far back ``write_missing`` looks for finished runs without a report
        self.max_scan = 2000  # index rows read per ``write_missing`` at most

    # -- the engine observer ------------------------------------------------------------------------------------

    def observe(self, run: RunRecord, rows: Sequence[HistoryRecord]) -> None:
        if run.active or not any(row.to_status in FINISHED for row in rows):
            return
        try:
            self.write(run.run_id)
        except Exception:  # write_missing (a timer) writes it later; the run is done
            log.exception("report for run %s not written now (the reports_repair timer writes it later)", run.run_id)

    # -- writing and reading ------------------------------------------------------------------------------------

    def _finished(self, run_id: str) -> tuple[RunRecord, list[HistoryRecord]]:
        found = self._runs.load_with_history(run_id)
        if found is None:
            raise RunNotFound(run_id)
        loaded, history = found
        if loaded.run.active:
            raise ReportNotReady(run_id, loaded.run.status.value)
        return loaded.run, history

    def write(self, run_id: str) -> WriteResult:
        """Write the run's JSON and HTML report where missing. ``ReportNotReady`` while the run is active."""
        run, history = self._finished(run_id)
        json_name, html_name = (report_name(run_id, run.created_at, ext) for ext in ("json", "html"))
        existing = self.store.get(json_name)
        written: list[str] = []
        if existing is None:
            report = build_report(run, history, self._clock.now())
            data = json.dumps(report, indent=1, sort_keys=True).encode()
            if self.store.put_once(json_name, data, CONTENT_TYPES["json"]):
                written.append(json_name)
            else:  # another worker wrote it first: render the HTML from theirs
                data = self.store.get(json_name) or data
        else:
            data = existing
        page = render_html(json.loads(data)).encode()
        if self.store.put_once(html_name, page, CONTENT_TYPES["html"]):
            written.append(html_name)
        existed = tuple(n for n in (json_name, html_name) if n not in written)
        if written:
            log.info("report of run %s: wrote %s", run_id, ", ".join(written))
        return WriteResult(run_id, tuple(written), existed)

    def read(self, run_id: str, ext: str) -> bytes:
        """The stored report (``json`` or ``html``); written now if a crash left it missing."""
        loaded = self._runs.load(run_id)
        if loaded is None:
            raise RunNotFound(run_id)
        if loaded.run.active:
            raise ReportNotReady(run_id, loaded.run.status.value)
        name = report_name(run_id, loaded.run.created_at, ext)
        data = self.store.get(name)
        if data is None:
            self.write(run_id)
            data = self.store.get(name)
        if data is None:  # pragma: no cover - write() just created it
            raise RunNotFound(run_id)
        return data

    # -- repair -----------------------------------------------------------------------------------------------

    def write_missing(self) -> list[str]:
        """Finished runs of the last ``lookback`` without both report files: write them. Returns their ids.

        One index scan (newest first, stopping at the lookback) and one blob listing per month touched."""
        since = self._clock.now() - self._lookback
        candidates: list[tuple[str, str]] = []  # (run id, month prefix)
        token: str | None = None
        scanned = 0
        while scanned < self.max_scan:
            page = self._runs.index_list(None, 500, token)
            scanned += max(1, len(page.items))
            old = [row for row in page.items if row.created_at < since]
            candidates += [
                (row.run_id, report_name(row.run_id, row.created_at, "x").rsplit("/", 1)[0] + "/")
                for row in page.items
                if row.status in FINISHED and row.created_at >= since
            ]
            token = page.continuation
            if token is None or old:
                break
        names: dict[str, set[str]] = {}
        repaired = []
        for run_id, prefix in candidates:
            if prefix not in names:
                names[prefix] = self.store.names(prefix)
            present = names[prefix]
            if f"{prefix}{run_id}.json" in present and f"{prefix}{run_id}.html" in present:
                continue
            try:
                if self.write(run_id).written:
                    repaired.append(run_id)
            except (ReportNotReady, RunNotFound):  # resumed meanwhile, or an index row without its run
                continue
        if repaired:
            log.warning("reports written late (the worker that finished the run did not): %s", repaired)
        return repaired
