"""The event fixtures (tests/fixtures/events), loaded the way each transport delivers them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

EVENTS = Path(__file__).resolve().parents[2] / "fixtures" / "events"


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def all_names() -> list[str]:
    return sorted(p.name for p in EVENTS.glob("*.json"))


def wrap_common(context: Any, monitoring_service: str, target: str) -> dict[str, Any]:
    """A published ``alertContext`` fragment inside the common-schema envelope Azure puts around it."""
    return {
        "schemaId": "azureMonitorCommonAlertSchema",
        "data": {
            "essentials": {
                "alertId": "/subscriptions/0000/providers/Microsoft.AlertsManagement/alerts/wrapped-1",
                "alertRule": "protected-region-health",
                "severity": "Sev2",
                "signalType": "Activity Log",
                "monitorCondition": "Fired",
                "monitoringService": monitoring_service,
                "alertTargetIDs": [target],
                "firedDateTime": "2025-06-02T07:00:00Z",
            },
            "alertContext": context,
        },
    }
