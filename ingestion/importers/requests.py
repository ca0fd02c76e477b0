"""Inference request logs (JSONL, one request per line) into `inference_requests`.

Each line is an object with the contract's column names: request_id, service, replica, gpu_uuid,
arrival_ts, scheduled_ts, first_token_ts, end_ts, prompt_tokens, cached_prompt_tokens, output_tokens,
status. `pool` is the importer's argument. Timestamps as for job logs (ISO 8601 with an offset, or unix
seconds), landed in UTC.

Quarantined, with the file, line number and field: a line that is not UTF-8 or not JSON, missing
request_id / service, unparsable or missing arrival_ts / end_ts, a timestamp before arrival_ts (or an
end_ts before first_token_ts), negative or non-integer token counts or counts beyond int32, a status
outside ok / error / timeout / cancelled (`status` defaults to `ok` when absent), and timestamps outside
2000-01-01 .. now + 1 day (`values`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ingestion import contracts
from ingestion.importers import ImportResult, to_table
from ingestion.importers.jobs import _choice, _number, _string, _ts
from ingestion.importers.values import Bad, convert_records, json_records

_OPTIONAL_TS = ("scheduled_ts", "first_token_ts")


def _row(record: dict, pool: str) -> dict[str, Any]:
    row: dict[str, Any] = {"pool": pool}
    for name in ("request_id", "service"):
        row[name] = _string(record, name)
        if row[name] is None:
            raise Bad(name, "required value is missing")
    row["replica"] = _string(record, "replica")
    row["gpu_uuid"] = _string(record, "gpu_uuid")
    row["arrival_ts"] = _ts(record, "arrival_ts", required=True)
    row["end_ts"] = _ts(record, "end_ts", required=True)
    row.update({name: _ts(record, name) for name in _OPTIONAL_TS})
    for name in ("prompt_tokens", "output_tokens"):
        row[name] = _number(record, name, integer=True, required=True)
    row["cached_prompt_tokens"] = _number(record, "cached_prompt_tokens", integer=True)
    row["status"] = _choice(record, "status", contracts.REQUEST_STATUSES, default="ok")
    return row


def read_requests(path: str | Path, pool: str) -> ImportResult:
    """Read one inference request log (JSONL)."""
    path = Path(path)
    name = "inference_requests"
    rows, rejected = convert_records(path, json_records(path), lambda record, _line: _row(record, pool), name)
    return ImportResult(pool=pool, origin=str(path), tables={name: to_table(name, rows)}, rejected={name: rejected})
