"""A report for every finished run: its JSON and a printable HTML page, written once to Blob storage."""

from lib.reports.content import REPORT_VERSION, build_report, report_name
from lib.reports.html import render_html
from lib.reports.writer import ReportNotReady, ReportWriter, WriteResult

__all__ = [
    "REPORT_VERSION",
    "ReportNotReady",
    "ReportWriter",
    "WriteResult",
    "build_report",
    "render_html",
    "report_name",
]
