"""``{"bench": "import-time"}``: what telemetry costs a cold start, in fresh interpreters (median of RUNS each).

- ``import function_app`` with telemetry off and on (``APPLICATIONINSIGHTS_CONNECTION_STRING`` set): the import
  must cost the same, because OpenTelemetry is imported only when the app is built;
- the first build of the app (what the first invocation pays) off and on: "on" includes importing and configuring
  the Azure Monitor distro. The child exits without flushing, so no exporter talks to the network.

Off and on alternate run by run, so machine load affects both alike.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RUNS = 7
STORAGE = (
    "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    "QueueEndpoint=http://127.0.0.1:9/devstoreaccount1;TableEndpoint=http://127.0.0.1:9/devstoreaccount1"
)
APPINSIGHTS = "InstrumentationKey=00000000-0000-0000-0000-000000000000;IngestionEndpoint=http://127.0.0.1:9/"
CHILD = """
import os, sys, time, json
t0 = time.perf_counter()
import function_app
t1 = time.perf_counter()
from lib.bootstrap import build
from lib.settings import Settings
app = build(Settings.from_env())
t2 = time.perf_counter()
otel = any(m.startswith("opentelemetry") for m in sys.modules)
print(json.dumps({"import_ms": (t1 - t0) * 1000, "build_ms": (t2 - t1) * 1000, "otel": otel}), flush=True)
os._exit(0)
"""


def _child(telemetry: bool) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k != "APPLICATIONINSIGHTS_CONNECTION_STRING"}
    env |= {"PYTHONPATH": str(ROOT), "AzureWebJobsStorage": STORAGE, "ASR_SUBSCRIPTION_ID": "s",
            "ASR_RESOURCE_GROUP": "g", "ASR_VAULT_NAME": "v"}  # fmt: skip
    if telemetry:
        env["APPLICATIONINSIGHTS_CONNECTION_STRING"] = APPINSIGHTS
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120, check=True)  # fmt: skip
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> dict[str, Any]:
    runs: dict[bool, list[dict[str, Any]]] = {False: [], True: []}
    for _ in range(RUNS):
        for telemetry in (False, True):
            runs[telemetry].append(_child(telemetry))

    def median(on: bool, key: str) -> float:
        return round(float(statistics.median(float(r[key]) for r in runs[on])), 1)

    return {
        "bench": "import-time",
        "runs": RUNS,
        "import_function_app_ms": {
            "telemetry_off": median(False, "import_ms"),
            "telemetry_on": median(True, "import_ms"),
        },
        "first_build_ms": {"telemetry_off": median(False, "build_ms"), "telemetry_on": median(True, "build_ms")},
        "opentelemetry_imported": {
            "telemetry_off": any(r["otel"] for r in runs[False]),
            "telemetry_on": all(r["otel"] for r in runs[True]),
        },
    }
