"""The operator's status view (``GET /api/status``): the dashboard tiles, RPO, readiness, runs, drills, decisions."""

from lib.status.decisions import DecisionSource, NoDecisions
from lib.status.service import StatusService

__all__ = ["DecisionSource", "NoDecisions", "StatusService"]
