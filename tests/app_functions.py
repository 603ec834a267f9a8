"""``function_app.app.get_functions()``, once per process: the SDK refuses a second call on the same app
(it re-validates names against the ones it recorded the first time), and the real host calls it once too."""

from __future__ import annotations

import functools
from typing import Any

import function_app


@functools.cache
def registered_functions() -> tuple[Any, ...]:
    return tuple(function_app.app.get_functions())


def http_routes() -> dict[tuple[str, str], tuple[Any, Any]]:
    """{(METHOD, route): (auth level, the user function)} for every HTTP trigger."""
    found = {}
    for fn in registered_functions():
        for b in fn.get_bindings():
            if b.type == "httpTrigger":
                for method in b.methods:
                    found[(str(method.value), str(b.route))] = (b.auth_level, fn.get_user_function())
    return found
