"""GET /api/health: liveness plus the names (never the values) of settings the app still needs."""

from __future__ import annotations

from typing import Any

from lib.settings import Settings

__all__ = ["health"]


def health(settings: Settings) -> dict[str, Any]:
    missing = settings.missing()
    problems = []
    if settings.auth_mode not in ("keys", "easyauth"):
        problems.append("AUTH_MODE")
    return {
        "status": "ok" if not missing and not problems else "degraded",
        "missingSettings": missing,
        "invalidSettings": problems,
        "authMode": settings.auth_mode if not problems else None,
    }
