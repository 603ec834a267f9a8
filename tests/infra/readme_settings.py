"""The README's table of app settings: the one place where optional settings and platform settings are listed.

The table sits under the heading "### App settings" of the deployment section; its columns are
``Setting | Set by main.bicep | Read by | What it is``. "Set by main.bicep" is ``yes`` or ``optional``;
"Read by" is ``app``, ``host`` (the Functions host) or ``Azure SDK`` (a library the app uses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### App settings"
SET_VALUES = {"yes", "optional"}
READERS = {"app", "host", "Azure SDK"}


@dataclass(frozen=True)
class Row:
    setting: str
    set_by_bicep: str
    read_by: str
    line: int


class TableError(ValueError):
    """The README table cannot be read; the message names the line and the cell."""


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def rows(text: str | None = None) -> list[Row]:
    lines = (README.read_text(encoding="utf-8") if text is None else text).splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == HEADING)
    except StopIteration:
        raise TableError(f"README.md has no '{HEADING}' heading") from None
    first = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("|")), len(lines))
    end = next((i for i in range(first, len(lines)) if not lines[i].startswith("|")), len(lines))
    found: list[Row] = []
    for index in range(first + 2, end):  # after the header and the separator
        number, cells = index + 1, _cells(lines[index])
        setting = re.fullmatch(r"`([^`]+)`", cells[0])
        if len(cells) != 4 or setting is None:
            raise TableError(f"README.md:{number}: expected | `SETTING` | yes/optional | reader | text |")
        if cells[1] not in SET_VALUES or cells[2] not in READERS:
            raise TableError(f"README.md:{number}: '{cells[1]}' / '{cells[2]}': use {SET_VALUES} / {READERS}")
        found.append(Row(setting.group(1), cells[1], cells[2], number))
    if not found:
        raise TableError(f"README.md: no table rows under '{HEADING}'")
    return found
