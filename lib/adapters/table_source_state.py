"""The signal sources' durable state on Azure Tables, every write guarded by the entity's ETag.

``drprobes``: one entity per probe (partition ``probe``; the row key is the region and a digest of the URL,
since a URL holds characters a row key may not). ``drvmhealth``: one partition per region, a row per protected
VM (``vm-<name>``: its latest availability and the event time it was reported at) and one row ``share`` (when
the region's unavailable-share signal turned active, and the last flip).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, Self

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError
from azure.data.tables import TableClient, UpdateMode

from lib.adapters.storage_clients import StorageClients
from lib.guard.probes import ProbeState
from lib.guard.vm_share import VmAvailability
from lib.ports.source_state import ProbeRecord, ShareState, StaleWrite, Versioned

__all__ = ["TableProbeStates", "TableVmHealth"]

PROBE_PARTITION = "probe"
SHARE_ROW = "share"
VM_PREFIX = "vm-"


@contextmanager
def _guarded(what: str) -> Iterator[None]:
    """A lost race (the entity exists already, changed, or vanished) is ``StaleWrite``; anything else escapes."""
    try:
        yield
    except (ResourceExistsError, ResourceNotFoundError):
        raise StaleWrite(what) from None
    except HttpResponseError as exc:
        if exc.status_code == 412:
            raise StaleWrite(what) from None
        raise


def _write(table: TableClient, entity: dict[str, Any], etag: str | None, what: str) -> str:
    with _guarded(what):
        if etag is None:
            written = table.create_entity(entity)
        else:
            written = table.update_entity(
                entity, mode=UpdateMode.REPLACE, etag=etag, match_condition=MatchConditions.IfNotModified
            )
    return str(written["etag"])


def _read(table: TableClient, partition: str, row: str) -> Any:
    try:
        return table.get_entity(partition, row)
    except ResourceNotFoundError:
        return None


def probe_row(region: str, url: str) -> str:
    return f"{region.lower()}-{hashlib.sha256(url.encode()).hexdigest()[:40]}"


class _Table:
    def __init__(self, table: TableClient) -> None:
        self._table = table

    @classmethod
    def from_clients(cls, clients: StorageClients, table: str) -> Self:
        return cls(clients.table(table))

    def create_table(self) -> None:
        with contextlib.suppress(ResourceExistsError):
            self._table.create_table()


class TableProbeStates(_Table):
    def load(self, region: str, url: str) -> Versioned[ProbeRecord] | None:
        entity = _read(self._table, PROBE_PARTITION, probe_row(region, url))
        if entity is None:
            return None
        state = ProbeState.from_json(json.loads(entity["state"]))
        outbox = tuple(str(m) for m in json.loads(entity.get("outbox") or "[]"))
        return Versioned(ProbeRecord(state, outbox), str(entity.metadata["etag"]))

    def save(self, record: ProbeRecord, etag: str | None) -> str:
        state = record.state
        entity = {
            "PartitionKey": PROBE_PARTITION,
            "RowKey": probe_row(state.region, state.url),
            "region": state.region,
            "url": state.url,
            "state": json.dumps(state.to_json()),
            "outbox": json.dumps(list(record.outbox)),
        }
        return _write(self._table, entity, etag, f"probe state of {state.url}")


class TableVmHealth(_Table):
    def vm(self, region: str, vm: str) -> Versioned[VmAvailability] | None:
        entity = _read(self._table, region.lower(), VM_PREFIX + vm.lower())
        if entity is None:
            return None
        return Versioned(_availability(entity), str(entity.metadata["etag"]))

    def put_vm(self, region: str, vm: str, availability: VmAvailability, etag: str | None) -> str:
        entity = {
            "PartitionKey": region.lower(),
            "RowKey": VM_PREFIX + vm.lower(),
            "available": availability.available,
            "at": availability.at.isoformat(),
        }
        return _write(self._table, entity, etag, f"availability of VM {vm}")

    def latest(self, region: str) -> Mapping[str, VmAvailability]:
        rows = self._table.query_entities("PartitionKey eq @p", parameters={"p": region.lower()})
        return {
            str(e["RowKey"])[len(VM_PREFIX) :]: _availability(e) for e in rows if str(e["RowKey"]).startswith(VM_PREFIX)
        }

    def share(self, region: str) -> Versioned[ShareState]:
        entity = _read(self._table, region.lower(), SHARE_ROW)
        if entity is None:
            return Versioned(ShareState(), None)
        since, signal = entity.get("activeSince") or "", entity.get("signal") or ""
        state = ShareState(
            active_since=datetime.fromisoformat(since) if since else None,
            flipped_by=entity.get("flippedBy") or None,
            signal=json.loads(signal) if signal else None,
        )
        return Versioned(state, str(entity.metadata["etag"]))

    def put_share(self, region: str, state: ShareState, etag: str | None) -> str:
        entity = {
            "PartitionKey": region.lower(),
            "RowKey": SHARE_ROW,
            "activeSince": state.active_since.isoformat() if state.active_since else "",
            "flippedBy": state.flipped_by or "",
            "signal": json.dumps(dict(state.signal)) if state.signal is not None else "",
        }
        return _write(self._table, entity, etag, f"unavailable-VM share of {region}")


def _availability(entity: Mapping[str, Any]) -> VmAvailability:
    return VmAvailability(bool(entity["available"]), datetime.fromisoformat(str(entity["at"])))
