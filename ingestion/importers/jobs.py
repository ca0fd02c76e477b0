"""Generic job logs (JSONL or CSV) into `jobs` and `job_events`.

Format: one record per line (JSONL) or per row (CSV with a header), with the contract's column names.
Which dataset a record belongs to is its `record_type` field: `job` or `event` (alias `job_event`);
without that field a record that has an `event` field and no `status` is an event, anything else a
job. So one mixed file or two separate files (jobs.csv, job_events.csv) both work.

Conventions:
- Timestamps are ISO 8601 with an offset (`Z` or `+08:00`) or unix seconds; all land in UTC. An ISO
  timestamp without an offset is refused (its instant is ambiguous).
- `pool` is the importer's argument (one landing file per source and pool); a `pool` field is ignored.
- `workload_type` defaults to `other` when absent; `restarts` defaults to null.
- `gpu_uuids` is a JSON list, or in CSV a comma-separated string (a JSON list string also works).
- Quarantined (with the file, 1-based line number, the data line for CSV counting the header as line 1,
  and the field): a line that is not UTF-8 or not JSON, missing job_id, unknown status / workload_type /
  event, unparsable or missing required timestamp, non-numeric or negative gpu_count and other numbers,
  and what `values` refuses everywhere: timestamps outside 2000-01-01 .. now + 1 day, infinite or NaN
  numbers, integers beyond their column (restarts: int32), an end_ts before submit_ts or start_ts.
  A CSV header that is not UTF-8 refuses the file (ValueError naming it); a BOM and CRLF are read.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ingestion import contracts
from ingestion.importers import ImportResult, to_table
from ingestion.importers.values import (
    Bad,
    blank,
    check_row,
    csv_records,
    json_records,
    number,
    reject,
    shown,
    timestamp,
)

_JOB_TS = ("submit_ts", "start_ts", "end_ts")
_JOB_FLOATS = ("gpu_count", "gpu_mem_request_gb", "tokens_processed", "data_wait_s")
_JOB_STRINGS = ("tenant", "queue", "gpu_model", "mig_profile", "hostname", "failure_reason")


def _string(record: dict, name: str) -> str | None:
    value = record.get(name)
    return None if blank(value) else str(value).strip()


def _ts(record: dict, name: str, required: bool = False):
    return timestamp(record.get(name), name, required=required)


def _number(record: dict, name: str, integer: bool = False, required: bool = False) -> Any:
    return number(record.get(name), name, integer=integer, required=required, minimum=0)


def _choice(record: dict, name: str, accepted: tuple[str, ...], default: str | None = None) -> str:
    value = _string(record, name)
    if value is None:
        if default is None:
            raise Bad(name, "required value is missing")
        return default
    value = value.lower()
    if value not in accepted:
        raise Bad(name, f"{shown(value)} is not one of {list(accepted)}")
    return value


def _uuids(value: Any) -> list[str] | None:
    if blank(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except (ValueError, RecursionError):
                raise Bad("gpu_uuids", f"bad JSON list {shown(text)}") from None
        else:
            return [u.strip() for u in text.split(",") if u.strip()]
    if not isinstance(value, list):
        raise Bad("gpu_uuids", f"expected a list, got {shown(value)}")
    return [str(u) for u in value]


def _job_row(record: dict, pool: str) -> dict:
    job_id = _string(record, "job_id")
    if job_id is None:
        raise Bad("job_id", "required value is missing")
    row: dict[str, Any] = {"job_id": job_id, "pool": pool}
    row.update({name: _string(record, name) for name in _JOB_STRINGS})
    row["workload_type"] = _choice(record, "workload_type", contracts.WORKLOAD_TYPES, default="other")
    row["status"] = _choice(record, "status", contracts.JOB_STATUSES)
    row.update({name: _ts(record, name, required=name == "submit_ts") for name in _JOB_TS})
    row.update({name: _number(record, name, required=name == "gpu_count") for name in _JOB_FLOATS})
    row["restarts"] = _number(record, "restarts", integer=True)
    row["gpu_uuids"] = _uuids(record.get("gpu_uuids"))
    return row


def _event_row(record: dict) -> dict:
    job_id = _string(record, "job_id")
    if job_id is None:
        raise Bad("job_id", "required value is missing")
    return {"job_id": job_id, "ts": _ts(record, "ts", required=True),
            "event": _choice(record, "event", contracts.JOB_EVENT_TYPES), "detail": _string(record, "detail")}


def _kind(record: dict) -> str:
    kind = _string(record, "record_type")
    if kind is None:
        return "job_events" if not blank(record.get("event")) and blank(record.get("status")) else "jobs"
    if kind.lower() in ("event", "job_event"):
        return "job_events"
    if kind.lower() == "job":
        return "jobs"
    raise Bad("record_type", f"{shown(kind)} is not 'job' or 'event'")


def read_jobs(path: str | Path, pool: str) -> ImportResult:
    """Read a generic job log (JSONL, or CSV by the `.csv` suffix)."""
    path = Path(path)
    rows: dict[str, list[dict]] = {"jobs": [], "job_events": []}
    rejected: dict[str, list[dict]] = {"jobs": [], "job_events": []}
    records = csv_records(path) if path.suffix.lower() == ".csv" else json_records(path)
    for line, record, raw in records:
        dataset = "jobs"
        try:
            if isinstance(record, Bad):
                raise record
            dataset = _kind(record)
            row = _job_row(record, pool) if dataset == "jobs" else _event_row(record)
            rows[dataset].append(check_row(dataset, row))
        except ValueError as exc:
            rejected[dataset].append(reject(path, line, exc, raw))
    result = ImportResult(pool=pool, origin=str(path))
    for name in rows:
        if rows[name] or rejected[name]:
            result.tables[name] = to_table(name, rows[name])
            result.rejected[name] = rejected[name]
    return result
