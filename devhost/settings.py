"""App settings for the local host: the environment first, then ``local.settings.json`` ``Values``.

This is the Core Tools convention: a variable already set in the environment wins over the file, so a test or a
shell can override one setting without editing the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path

__all__ = ["SettingsError", "apply_settings", "read_local_settings"]


class SettingsError(ValueError):
    """``local.settings.json`` is unreadable; the message names the file and the reason."""


def read_local_settings(path: Path) -> dict[str, str]:
    """The ``Values`` of ``path`` as strings; an absent file means no values."""
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise SettingsError(f"{path}: not valid JSON ({exc})") from None
    values = document.get("Values", {}) if isinstance(document, dict) else None
    if not isinstance(values, dict):
        raise SettingsError(f"{path}: 'Values' must be an object of setting names to values")
    return {str(k): "" if v is None else str(v) for k, v in values.items()}


def apply_settings(values: Mapping[str, str], env: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Copy ``values`` into ``env`` (default ``os.environ``) where the name is not set yet; return what was added."""
    target = os.environ if env is None else env
    added = {name: value for name, value in values.items() if name not in target}
    target.update(added)
    return added
