"""Hand-written fakes of the sources' ports, in memory, with ETags like Table storage's."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import UTC, datetime

from lib.domain.asr import ProtectedItem
from lib.domain.errors import SiteRecoveryError
from lib.guard.vm_share import VmAvailability
from lib.ports.probe import ProbeResult
from lib.ports.resource_locations import LocationUnavailable
from lib.ports.source_state import ProbeRecord, ShareState, StaleWrite, Versioned

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
SUB = "/subscriptions/6f4e2a10-0000-4000-8000-00000000a5a5"


def vm_id(vm: str, rg: str = "rg-app") -> str:
    return f"{SUB}/resourcegroups/{rg}/providers/microsoft.compute/virtualmachines/{vm}"


def item(vm: str, primary: str = "eastus", recovery: str = "westus", *, failed_over: bool = False) -> ProtectedItem:
    return ProtectedItem(
        id=f"{SUB}/rpi-{vm}", name=f"rpi-{vm}", vm_name=vm, fabric="f", container="c",
        protection_state="Protected", protection_state_description="Protected", active_location="Primary",
        allowed_operations=frozenset(), replication_health="Normal", failover_health="Normal",
        primary_location=primary, recovery_location=recovery, initial_primary_location=primary,
        initial_recovery_location=recovery, vm_id=vm_id(vm),
        recovery_vm_id=vm_id(vm, "rg-app-asr") if failed_over else None,
    )  # fmt: skip


class FakeVault:
    def __init__(self, items: list[ProtectedItem]) -> None:
        self.items = items
        self.calls = 0
        self.fail = False

    def list_protected_items(self) -> list[ProtectedItem]:
        self.calls += 1
        if self.fail:
            raise SiteRecoveryError("InternalServerError", "vault unavailable", status=500)
        return list(self.items)


class FakeLocations:
    """``answers``: resource id (lower case) -> a location, or a LocationUnavailable to raise."""

    def __init__(self, answers: Mapping[str, str | LocationUnavailable]) -> None:
        self.answers = {k.lower(): v for k, v in answers.items()}
        self.reads: list[str] = []

    def location_of(self, resource_id: str) -> str:
        self.reads.append(resource_id)
        answer = self.answers.get(resource_id.lower())
        if answer is None:
            raise LocationUnavailable(resource_id, "ARM answered 404 ResourceNotFound", status=404)
        if isinstance(answer, LocationUnavailable):
            raise answer
        return answer


class _Etags:
    def __init__(self) -> None:
        self._next = itertools.count(1)
        self.races = 0  # writes to refuse with StaleWrite before accepting again

    def check(self, current: str | None, given: str | None, what: str) -> str:
        if self.races > 0:
            self.races -= 1
            raise StaleWrite(what)
        if current != given:
            raise StaleWrite(what)
        return f"e{next(self._next)}"


class MemoryVmHealth:
    def __init__(self) -> None:
        self.vms: dict[tuple[str, str], Versioned[VmAvailability]] = {}
        self.shares: dict[str, Versioned[ShareState]] = {}
        self.etags = _Etags()

    def vm(self, region: str, vm: str) -> Versioned[VmAvailability] | None:
        return self.vms.get((region, vm))

    def put_vm(self, region: str, vm: str, availability: VmAvailability, etag: str | None) -> str:
        current = self.vms.get((region, vm))
        new = self.etags.check(current.etag if current else None, etag, vm)
        self.vms[(region, vm)] = Versioned(availability, new)
        return new

    def latest(self, region: str) -> Mapping[str, VmAvailability]:
        return {vm: v.value for (r, vm), v in self.vms.items() if r == region}

    def share(self, region: str) -> Versioned[ShareState]:
        return self.shares.get(region, Versioned(ShareState(), None))

    def put_share(self, region: str, state: ShareState, etag: str | None) -> str:
        new = self.etags.check(self.share(region).etag, etag, region)
        self.shares[region] = Versioned(state, new)
        return new


class MemoryProbeStates:
    def __init__(self) -> None:
        self.records: dict[tuple[str, str], Versioned[ProbeRecord]] = {}
        self.etags = _Etags()
        self.writes = 0

    def load(self, region: str, url: str) -> Versioned[ProbeRecord] | None:
        return self.records.get((region, url))

    def save(self, record: ProbeRecord, etag: str | None) -> str:
        self.writes += 1
        key = (record.state.region, record.state.url)
        current = self.records.get(key)
        new = self.etags.check(current.etag if current else None, etag, record.state.url)
        self.records[key] = Versioned(record, new)
        return new


class ListQueue:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.fail_next = 0

    def send(self, body: str, delay_s: int = 0) -> str:
        if self.fail_next > 0:
            self.fail_next -= 1
            raise ConnectionError("queue unreachable")
        self.sent.append(body)
        return str(len(self.sent))


class ScriptedProbe:
    """Answers from ``script[url]`` in order (True: up); the last answer repeats."""

    def __init__(self, script: dict[str, list[bool]]) -> None:
        self.script = {url: list(answers) for url, answers in script.items()}
        self.calls: list[str] = []

    def check(self, url: str) -> ProbeResult:
        self.calls.append(url)
        answers = self.script[url]
        ok = answers.pop(0) if len(answers) > 1 else answers[0]
        return ProbeResult(ok, "HTTP 200" if ok else "HTTP 503 Service Unavailable")
