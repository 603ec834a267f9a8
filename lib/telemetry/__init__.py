"""Telemetry: log records that carry the run, step, invocation and correlation ids, and (only when
``APPLICATIONINSIGHTS_CONNECTION_STRING`` is set) OpenTelemetry traces and metrics to Application Insights.

This package imports nothing of OpenTelemetry: ``lib.telemetry.otel`` does, and it is imported only when export
is configured, so a cold start without telemetry pays nothing for it.
"""

from lib.telemetry.context import current, install_log_context, log_context, trace_id_of
from lib.telemetry.steps import StepTracing

__all__ = ["StepTracing", "current", "install_log_context", "log_context", "trace_id_of"]
