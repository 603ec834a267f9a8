"""Run benchmarks: ``python -m bench [names...]`` prints one JSON line per benchmark.

A benchmark is any module ``bench/<name>.py`` with a ``main() -> dict`` function; adding a file is all it
takes to register one. Without names, every benchmark runs (alphabetically). A benchmark that raises
prints ``{"bench": name, "error": ...}`` and the runner goes on; the exit code is 1 if any failed.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


def discover() -> dict[str, Callable[[], dict[str, Any]]]:
    found: dict[str, Callable[[], dict[str, Any]]] = {}
    for info in sorted(pkgutil.iter_modules([str(HERE)]), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"bench.{info.name}")
        entry = getattr(module, "main", None)
        if callable(entry):
            found[info.name] = entry
    return found


def run(names: list[str]) -> int:
    available = discover()
    unknown = [n for n in names if n not in available]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    failed = False
    for name in names or list(available):
        try:
            figures = available[name]()
        except Exception as exc:
            traceback.print_exc(file=sys.stderr)
            figures = {"bench": name, "error": f"{type(exc).__name__}: {exc}"}
            failed = True
        print(json.dumps(figures), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
