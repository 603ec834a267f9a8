"""The dashboard page: one self-contained HTML file (no CDN, no external font) that reads ``GET /api/status``."""

from __future__ import annotations

import functools
from pathlib import Path

__all__ = ["dashboard_html"]


@functools.cache
def dashboard_html() -> str:
    return Path(__file__).with_name("dashboard.html").read_text(encoding="utf-8")
