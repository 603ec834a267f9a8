"""``function_app.app.get_functions()`` for tests, callable any number of times in one process.

The SDK records every function name it returns and refuses a second call on the same app ("does not have a unique
function name"); the real host calls it once per process. Tests in one process (ours, the devhost's discovery)
each ask, so the record is put back after reading.
"""

from __future__ import annotations

from typing import Any

import function_app


def registered_functions() -> tuple[Any, ...]:
    app = function_app.app
    recorded = app.functions_bindings
    app.functions_bindings = None  # another reader in this process (devhost.discovery) may have left its record
    try:
        return tuple(app.get_functions())
    finally:
        app.functions_bindings = recorded


def http_routes() -> dict[tuple[str, str], tuple[Any, Any]]:
    """{(METHOD, route): (auth level, the user function)} for every HTTP trigger."""
    found = {}
    for fn in registered_functions():
        for b in fn.get_bindings():
            if b.type == "httpTrigger":
                for method in b.methods:
                    found[(str(method.value), str(b.route))] = (b.auth_level, fn.get_user_function())
    return found
