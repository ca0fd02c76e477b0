"""Inference request logs (JSONL, one request per line) into `inference_requests`.

Each line is an object with the contract's column names: request_id, service, replica, gpu_uuid,
arrival_ts, scheduled_ts, first_token_ts, end_ts, prompt_tokens, cached_prompt_tokens, output_tokens,
status. `pool` is the importer's argument. Timestamps as for job logs (ISO 8601 with an offset, or unix
seconds), landed in UTC.

Quarantined, with the line number and field: bad JSON, missing request_id / service, unparsable or
missing arrival_ts / end_ts, a timestamp before arrival_ts, negative or non-integer token counts, a
status outside ok / error / timeout / cancelled (`status` defaults to `ok` when absent).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingestion import contracts
from ingestion.importers import ImportResult, to_table
from ingestion.importers.jobs import _Bad, _choice, _number, _records, _string, _ts

_OPTIONAL_TS = ("scheduled_ts", "first_token_ts")


def _row(record: dict, pool: str) -> dict[str, Any]:
    row: dict[str, Any] = {"pool": pool}
    for name in ("request_id", "service"):
        row[name] = _string(record, name)
        if row[name] is None:
            raise _Bad(name, "required value is missing")
    row["replica"] = _string(record, "replica")
    row["gpu_uuid"] = _string(record, "gpu_uuid")
    row["arrival_ts"] = _ts(record, "arrival_ts", required=True)
    row["end_ts"] = _ts(record, "end_ts", required=True)
    row.update({name: _ts(record, name) for name in _OPTIONAL_TS})
    for name in (*_OPTIONAL_TS, "end_ts"):
        if row[name] is not None and row[name] < row["arrival_ts"]:
            raise _Bad(name, f"{row[name].isoformat()} is before arrival_ts {row['arrival_ts'].isoformat()}")
    for name in ("prompt_tokens", "output_tokens"):
        row[name] = _number(record, name, int, required=True)
    row["cached_prompt_tokens"] = _number(record, "cached_prompt_tokens", int)
    row["status"] = _choice(record, "status", contracts.REQUEST_STATUSES, default="ok")
    return row


def read_requests(path: str | Path, pool: str) -> ImportResult:
    """Read one inference request log (JSONL)."""
    path = Path(path)
    rows: list[dict] = []
    rejected: list[dict] = []
    for number, record, raw in _records(path):
        try:
            if isinstance(record, str):
                raise ValueError(record)
            rows.append(_row(record, pool))
        except ValueError as exc:
            rejected.append({"record": number, "reason": str(exc), "row": raw, "origin": str(path)})
    name = "inference_requests"
    return ImportResult(pool=pool, origin=str(path), tables={name: to_table(name, rows)}, rejected={name: rejected})
