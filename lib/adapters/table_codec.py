"""Runs, history rows and index rows <-> Azure Table entities.

Large JSON (a run's input, a history row's details) is split across string properties ``<name>_0``,
``<name>_1``, ... with the count in ``<name>_n``: a table string property holds at most 64 KiB (UTF-16), an
entity at most 1 MiB, so chunks are cut by UTF-16 code units (never inside a surrogate pair).

A run's state is the one part that grows with its VMs (about 2 KB of JSON per VM by the end of a failover,
twice that as UTF-16), so it is stored compressed: zlib over its UTF-8 JSON, cut into ``Edm.Binary``
properties ``state_0..`` of at most ``BINARY_CHUNK`` bytes, with ``state_enc = "zlib"`` saying so. An entity
without ``state_enc`` holds the state as string chunks (written before compression) and still loads; the
next save that changes the state rewrites it compressed.
Times are stored as fixed-width ISO-8601 UTC strings, which sort and compare as text.
"""

from __future__ import annotations

import base64
import json
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from lib.domain.errors import ValidationError
from lib.domain.runs import HistoryRecord, RunEvent, RunRecord, RunStatus, RunSummary
from lib.ports.run_store import CorruptRun, EntityTooLarge

RUN_ROW = "run"
CHUNK_UNITS = 30_000  # UTF-16 code units: 60,000 bytes, under the 64 KiB property limit with room to spare
ENTITY_LIMIT = 1_000_000  # bytes as the service counts them; the hard limit is 1 MiB
BINARY_CHUNK = 60_000  # bytes of compressed state per Edm.Binary property, under its 64 KiB limit
STATE_ENCODING = "zlib"  # the value of ``state_enc`` on a run whose state is stored compressed
# An entity under ENTITY_LIMIT holds at most this many state chunks in either encoding: a shrinking state
# blanks the chunks past its new count up to here (MERGE keeps them), whichever encoding wrote them.
MAX_STATE_CHUNKS = ENTITY_LIMIT // min(BINARY_CHUNK, 2 * CHUNK_UNITS) + 1
TEXT_LIMIT = 8_000  # reasons and error messages are for humans; keep them bounded
INDEX_PARTITION = "runs"
KEY_PARTITION = "idem"
_INVERT_MS = 10**13 - 1

Entity = dict[str, Any]


def iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def iso_or_empty(value: datetime | None) -> str:
    return "" if value is None else iso(value)


def parse_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def parse_optional_time(value: Any) -> datetime | None:
    return None if value in (None, "") else parse_time(value)


def dump_json(value: Any) -> str:
    # Not ensure_ascii: "\u00fc" would cost six code units where "ü" costs one.
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def utf16_units(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-16-le")) // 2


def split_utf16(text: str, units: int = CHUNK_UNITS) -> list[str]:
    if text.isascii():
        return [text[i : i + units] for i in range(0, len(text), units)] or [""]
    data = text.encode("utf-16-le")
    chunks, start, step = [], 0, units * 2
    while start < len(data):
        end = min(start + step, len(data))
        if end < len(data) and 0xD8 <= data[end - 1] <= 0xDB:  # ends on a high surrogate: keep the pair whole
            end -= 2
        chunks.append(data[start:end].decode("utf-16-le"))
        start = end
    return chunks or [""]


def put_chunks(entity: Entity, name: str, text: str, *, clear_up_to: int = 0) -> None:
    """Split ``text`` into ``name_0..`` and blank any older chunks beyond the new count (MERGE keeps them)."""
    chunks = split_utf16(text)
    entity[f"{name}_n"] = len(chunks)
    for i, chunk in enumerate(chunks):
        entity[f"{name}_{i}"] = chunk
    for i in range(len(chunks), clear_up_to):
        entity[f"{name}_{i}"] = ""


def get_chunks(entity: Mapping[str, Any], name: str, run_id: str) -> str:
    count = entity.get(f"{name}_n")
    if not isinstance(count, int):
        raise CorruptRun(run_id, name, f"{name}_n is missing")
    parts = []
    for i in range(count):
        part = entity.get(f"{name}_{i}")
        if not isinstance(part, str):
            raise CorruptRun(run_id, name, f"chunk {name}_{i} is missing")
        parts.append(part)
    return "".join(parts)


def get_json(entity: Mapping[str, Any], name: str, run_id: str) -> Any:
    text = get_chunks(entity, name, run_id)
    try:
        return json.loads(text) if text else {}
    except ValueError as exc:
        raise CorruptRun(run_id, name, str(exc)) from None


def put_state(entity: Entity, state: Any) -> None:
    """The run state as zlib-compressed JSON in ``state_0..`` binary chunks (module docstring)."""
    data = zlib.compress(dump_json(state).encode("utf-8"), 6)
    chunks = [data[i : i + BINARY_CHUNK] for i in range(0, len(data), BINARY_CHUNK)]
    entity["state_enc"] = STATE_ENCODING
    entity["state_n"] = len(chunks)
    for i, chunk in enumerate(chunks):
        entity[f"state_{i}"] = chunk


def get_state(entity: Mapping[str, Any], run_id: str) -> Any:
    encoding = entity.get("state_enc") or ""
    if not encoding:  # written before the state was compressed: string chunks
        return get_json(entity, "state", run_id)
    if encoding != STATE_ENCODING:
        raise CorruptRun(run_id, "state", f"state_enc {encoding!r} is not an encoding this code reads")
    count = entity.get("state_n")
    if not isinstance(count, int):
        raise CorruptRun(run_id, "state", "state_n is missing")
    parts = []
    for i in range(count):
        part = entity.get(f"state_{i}")
        if not isinstance(part, bytes | bytearray):
            raise CorruptRun(run_id, "state", f"chunk state_{i} is missing or not binary")
        parts.append(bytes(part))
    try:
        return json.loads(zlib.decompress(b"".join(parts)).decode("utf-8"))
    except (zlib.error, ValueError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CorruptRun(run_id, "state", f"{type(exc).__name__}: {exc}") from None


def entity_size(entity: Mapping[str, Any]) -> int:
    """The size the Table service charges an entity with (strings are UTF-16)."""
    size = 4
    for key, value in entity.items():
        size += 8 + 2 * len(key)
        if isinstance(value, str):
            size += 4 + 2 * utf16_units(value)
        elif isinstance(value, bytes | bytearray):
            size += 4 + len(value)
        elif isinstance(value, bool):
            size += 1
        else:
            size += 8
    return size


def check_size(entity: Mapping[str, Any], run_id: str, what: str) -> None:
    size = entity_size(entity)
    if size > ENTITY_LIMIT:
        raise EntityTooLarge(run_id, what, size, ENTITY_LIMIT)


def _text(value: str) -> str:
    return value if len(value) <= TEXT_LIMIT else value[: TEXT_LIMIT - 1] + "…"


def run_scalars(run: RunRecord) -> Entity:
    """Every run property except the large JSON ones."""
    return {
        "PartitionKey": run.run_id,
        "RowKey": RUN_ROW,
        "workflow": run.workflow,
        "status": run.status.value,
        "step": run.step,
        "version": run.version,
        "created_at": iso(run.created_at),
        "updated_at": iso(run.updated_at),
        "step_started_at": iso(run.step_started_at),
        "attempt": run.attempt,
        "due_at": iso_or_empty(run.due_at),
        "lease_owner": run.lease_owner,
        "lease_until": iso_or_empty(run.lease_until),
        "msg_id": run.msg_id,
        "claims": run.claims,
        "history_seq": run.history_seq,
        "idempotency_key": _text(run.idempotency_key),
        "approval": run.approval,
        "approved_by": run.approved_by,
        "approval_timed_out": run.approval_timed_out,
        "choices": ",".join(run.choices),
        "decision": run.decision,
        "reason": _text(run.reason),
        "error": _text(run.error),
        "error_code": run.error_code,
        "outbox": dump_json(list(run.outbox)) if run.outbox else "",
    }


def run_to_entity(run: RunRecord) -> Entity:
    entity = run_scalars(run)
    put_chunks(entity, "input", dump_json(run.input))
    put_state(entity, run.state)
    check_size(entity, run.run_id, "the run (state + input)")
    return entity


def run_delta(run: RunRecord, previous: RunRecord, stored_state_chunks: int) -> Entity:
    """What a MERGE must send to turn ``previous`` into ``run``: the input never changes after creation and
    the state is sent only when it changed (a poll that only records progress in history sends no state).
    ``stored_state_chunks``: how many chunks the previous state may occupy (its string chunk count bounds it in
    both encodings, and no entity under the limit holds more than ``MAX_STATE_CHUNKS``)."""
    entity = run_scalars(run)
    if run.state != previous.state:
        full = run_to_entity(run)  # the size check must see the whole entity, not the delta
        entity.update({k: v for k, v in full.items() if k.startswith("state_")})
        for i in range(int(full["state_n"]), min(stored_state_chunks, MAX_STATE_CHUNKS)):
            entity[f"state_{i}"] = ""
    return entity


def entity_to_run(entity: Mapping[str, Any]) -> RunRecord:
    run_id = str(entity["PartitionKey"])
    try:
        return RunRecord(
            run_id=run_id,
            workflow=str(entity["workflow"]),
            status=RunStatus(entity["status"]),
            step=str(entity["step"]),
            version=int(entity["version"]),
            input=get_json(entity, "input", run_id),
            state=get_state(entity, run_id),
            created_at=parse_time(entity["created_at"]),
            updated_at=parse_time(entity["updated_at"]),
            step_started_at=parse_time(entity["step_started_at"]),
            attempt=int(entity.get("attempt", 1)),
            due_at=parse_optional_time(entity.get("due_at")),
            lease_owner=str(entity.get("lease_owner", "")),
            lease_until=parse_optional_time(entity.get("lease_until")),
            msg_id=str(entity.get("msg_id", "")),
            claims=int(entity.get("claims", 0)),
            history_seq=int(entity.get("history_seq", 0)),
            idempotency_key=str(entity.get("idempotency_key", "")),
            approval=str(entity.get("approval", "")),
            approved_by=str(entity.get("approved_by", "")),
            approval_timed_out=bool(entity.get("approval_timed_out", False)),
            choices=tuple(c for c in str(entity.get("choices", "")).split(",") if c),
            decision=str(entity.get("decision", "")),
            reason=str(entity.get("reason", "")),
            error=str(entity.get("error", "")),
            error_code=str(entity.get("error_code", "")),
            outbox=_outbox(entity, run_id),
        )
    except (KeyError, ValueError) as exc:
        raise CorruptRun(run_id, "run", f"{type(exc).__name__}: {exc}") from None


def _outbox(entity: Mapping[str, Any], run_id: str) -> tuple[dict[str, Any], ...]:
    raw = entity.get("outbox") or ""
    try:
        items = json.loads(raw) if raw else []
    except ValueError as exc:
        raise CorruptRun(run_id, "outbox", str(exc)) from None
    return tuple(dict(item) for item in items if isinstance(item, dict))


def chunk_count(text: str) -> int:
    return len(split_utf16(text))


def history_row_key(seq: int) -> str:
    return f"h{seq:09d}"


def history_to_entity(run_id: str, h: HistoryRecord) -> Entity:
    entity: Entity = {
        "PartitionKey": run_id,
        "RowKey": history_row_key(h.seq),
        "at": iso(h.at),
        "event": h.event.value,
        "from_status": h.from_status.value if h.from_status else "",
        "to_status": h.to_status.value,
        "step": h.step,
        "version": h.version,
        "outcome": h.outcome,
        "reason": _text(h.reason),
        "actor": h.actor,
        "attempt": h.attempt,
        "error": _text(h.error),
        "code": h.code,
    }
    put_chunks(entity, "details", dump_json(dict(h.details)))
    check_size(entity, run_id, f"history row {h.seq} (details)")
    return entity


def entity_to_history(entity: Mapping[str, Any]) -> HistoryRecord:
    run_id = str(entity["PartitionKey"])
    return HistoryRecord(
        seq=int(str(entity["RowKey"])[1:]),
        at=parse_time(entity["at"]),
        event=RunEvent(entity["event"]),
        from_status=RunStatus(entity["from_status"]) if entity.get("from_status") else None,
        to_status=RunStatus(entity["to_status"]),
        step=str(entity.get("step", "")),
        version=int(entity.get("version", 0)),
        outcome=str(entity.get("outcome", "")),
        reason=str(entity.get("reason", "")),
        details=get_json(entity, "details", run_id),
        actor=str(entity.get("actor", "")),
        attempt=int(entity.get("attempt", 1)),
        error=str(entity.get("error", "")),
        code=str(entity.get("code", "")),
    )


def index_row_key(run_id: str, created_at: datetime) -> str:
    """Inverted creation time first, so an ascending scan of the partition lists the newest run first."""
    created_ms = int(created_at.timestamp() * 1000)
    return f"{_INVERT_MS - created_ms:013d}_{run_id}"


def summary_to_entity(s: RunSummary) -> Entity:
    return {
        "PartitionKey": INDEX_PARTITION,
        "RowKey": index_row_key(s.run_id, s.created_at),
        "run_id": s.run_id,
        "workflow": s.workflow,
        "status": s.status.value,
        "created_at": iso(s.created_at),
        "updated_at": iso(s.updated_at),
        "step": s.step,
        "reason": _text(s.reason),
        "idempotency_key": _text(s.idempotency_key),
    }


def entity_to_summary(entity: Mapping[str, Any]) -> RunSummary:
    return RunSummary(
        run_id=str(entity["run_id"]),
        workflow=str(entity["workflow"]),
        status=RunStatus(entity["status"]),
        created_at=parse_time(entity["created_at"]),
        updated_at=parse_time(entity["updated_at"]),
        step=str(entity.get("step", "")),
        reason=str(entity.get("reason", "")),
        idempotency_key=str(entity.get("idempotency_key", "")),
    )


def encode_token(row_key: str) -> str:
    """A listing's continuation: the last index RowKey returned, opaque to callers."""
    return base64.urlsafe_b64encode(row_key.encode()).decode()


def decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except ValueError as exc:
        raise ValidationError("continuation", f"not a token this service issued: {exc}") from None
