"""What driving ONE run costs when other runs' work sits on the queue (``Driver.drive``, the CLI's ``--wait``).

On a private Azurite, a DR-shaped run (13 transitions, 7 of them 60 s polls scaled to 0.1 s) is driven to its
end twice, side by side: with an empty queue, and with 20 other runs due whose messages the driver must leave
alone. Every storage request is counted (a request is a billed transaction). Prints one JSON line: requests
per transition of the driven run, messages put back, and how many other runs were reported due.
"""

from __future__ import annotations

from typing import Any

from bench.engine import REGISTRY, TRANSITIONS
from devhost.azurite import running_azurite
from lib.adapters.clocks import SystemClock
from lib.adapters.engine_storage import engine_storage
from lib.adapters.request_counter import RequestCounter
from lib.adapters.storage_clients import StorageClients
from lib.engine import Driver, Engine

OTHERS = 20
SCALE = 60 / 0.1  # a 60 s poll lasts 0.1 s


def _case(connection_string: str, name: str, others: int) -> dict[str, Any]:
    counter = RequestCounter()
    storage = engine_storage(
        StorageClients.from_connection_string(connection_string, **counter.client_kwargs()),
        queue_name=name,
        runs_table=f"{name}runs",
        index_table=f"{name}idx",
    )
    storage.provision()
    engine: Engine[None] = Engine(
        registry=REGISTRY,
        deps=None,
        store=storage.store,
        queue=storage.queue,
        poison_queue=storage.poison,
        clock=SystemClock(),
        timer_scale=1 / SCALE,
    )
    for i in range(others):
        engine.start("dr-like", {"vms": [f"other-{i}"]})
    run_id = engine.start("dr-like", {"vms": ["mine"]}).run_id
    counter.reset()
    result = Driver(engine).drive(run_id, deadline_s=120)
    transitions = TRANSITIONS["dr-like"]
    return {
        "status": result.run.status.value,
        "tx_per_transition": round(counter.total() / transitions, 2),
        "by_kind": {k: v for k, v in counter.snapshot().items() if v},
        "left": result.report.left,
        "others_due": len(result.others_due),
        "wall_s": round(result.report.elapsed_s, 2),
    }


def main() -> dict[str, Any]:
    with running_azurite() as azurite:
        alone = _case(azurite.connection_string, "ownalone", 0)
        crowded = _case(azurite.connection_string, "owncrowd", OTHERS)
    return {"bench": "own_run", "other_runs_due": OTHERS, "alone": alone, "crowded": crowded}


if __name__ == "__main__":
    import json

    print(json.dumps(main()))
