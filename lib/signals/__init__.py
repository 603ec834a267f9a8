"""Region-health signals: every payload we receive about the health of a region, classified into one
``RegionHealthSignal`` (or ``Ignored`` with the reason). Pure: no I/O, standard library only.

Entry points, one per transport: ``from_alert_webhook`` (Azure Monitor action groups) and
``from_event_grid_event`` (Event Grid and CloudEvents). Both raise ``SignalParseError`` only, for a body that
cannot be read. See README.md beside this file for the rules per source.
"""

from lib.signals.alerts import COMMON_SCHEMA, LEGACY_ACTIVITY_LOG_SCHEMA, from_alert_webhook
from lib.signals.custom import CUSTOM_EVENT_TYPE
from lib.signals.eventgrid import ANNOTATED, AVAILABILITY_STATUS_CHANGED, from_event_grid_event
from lib.signals.model import (
    Classified,
    IgnoreCode,
    Ignored,
    Impact,
    RegionHealthSignal,
    SignalParseError,
    SignalState,
    Source,
    service_key,
)
from lib.signals.regions import EVERY_REGION, KNOWN_REGIONS, REGION_DISPLAY_NAMES, arm_region, is_known_region
from lib.signals.services import DEFAULT_SERVICES

__all__ = [
    "ANNOTATED",
    "AVAILABILITY_STATUS_CHANGED",
    "COMMON_SCHEMA",
    "CUSTOM_EVENT_TYPE",
    "DEFAULT_SERVICES",
    "EVERY_REGION",
    "KNOWN_REGIONS",
    "LEGACY_ACTIVITY_LOG_SCHEMA",
    "REGION_DISPLAY_NAMES",
    "Classified",
    "IgnoreCode",
    "Ignored",
    "Impact",
    "RegionHealthSignal",
    "SignalParseError",
    "SignalState",
    "Source",
    "arm_region",
    "from_alert_webhook",
    "from_event_grid_event",
    "is_known_region",
    "service_key",
]
