"""The Functions invocation as log context: its invocation id and its correlation (W3C trace) id."""

from __future__ import annotations

from contextlib import AbstractContextManager

import azure.functions as func

from lib.telemetry import install_log_context, log_context, trace_id_of


def invocation_context(context: func.Context | object | None) -> AbstractContextManager[None]:
    """``context`` is the host's ``func.Context`` (or the devhost's look-alike): read by attribute."""
    install_log_context()
    if context is None:
        return log_context()
    trace = getattr(context, "trace_context", None)
    return log_context(
        invocation_id=getattr(context, "invocation_id", "") or "",
        correlation_id=trace_id_of(getattr(trace, "trace_parent", None)),
    )
