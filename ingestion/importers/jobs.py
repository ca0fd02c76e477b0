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
- Quarantined (with 1-based line number, the data line for CSV counting the header as line 1, and the
  field): bad JSON, missing job_id, unknown status / workload_type / event, unparsable or missing
  required timestamp, non-numeric or negative gpu_count and other numbers.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from ingestion import contracts
from ingestion.importers import ImportResult, parse_ts, to_table

_JOB_TS = ("submit_ts", "start_ts", "end_ts")
_JOB_FLOATS = ("gpu_count", "gpu_mem_request_gb", "tokens_processed", "data_wait_s")
_JOB_STRINGS = ("tenant", "queue", "gpu_model", "mig_profile", "hostname", "failure_reason")


class _Bad(ValueError):
    """A record refused for one field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field '{field}': {problem}")


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _string(record: dict, name: str) -> str | None:
    value = record.get(name)
    return None if _blank(value) else str(value).strip()


def _ts(record: dict, name: str, required: bool = False):
    try:
        value = parse_ts(None if _blank(record.get(name)) else record.get(name))
    except (TypeError, ValueError) as exc:
        raise _Bad(name, f"unparsable timestamp {record.get(name)!r} ({exc})") from None
    if value is None and required:
        raise _Bad(name, "required timestamp is missing")
    return value


def _number(record: dict, name: str, kind: type = float, required: bool = False) -> Any:
    value = record.get(name)
    if _blank(value):
        if required:
            raise _Bad(name, "required value is missing")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Bad(name, f"not a number: {value!r}") from None
    if number != number or number < 0:
        raise _Bad(name, f"must be a non-negative number, got {value!r}")
    if kind is int:
        if number != int(number):
            raise _Bad(name, f"must be an integer, got {value!r}")
        return int(number)
    return number


def _choice(record: dict, name: str, accepted: tuple[str, ...], default: str | None = None) -> str:
    value = _string(record, name)
    if value is None:
        if default is None:
            raise _Bad(name, "required value is missing")
        return default
    value = value.lower()
    if value not in accepted:
        raise _Bad(name, f"{value!r} is not one of {list(accepted)}")
    return value


def _uuids(value: Any) -> list[str] | None:
    if _blank(value):
        return None
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                value = json.loads(text)
            except json.JSONDecodeError:
                raise _Bad("gpu_uuids", f"bad JSON list {text!r}") from None
        else:
            return [u.strip() for u in text.split(",") if u.strip()]
    if not isinstance(value, list):
        raise _Bad("gpu_uuids", f"expected a list, got {value!r}")
    return [str(u) for u in value]


def _job_row(record: dict, pool: str) -> dict:
    job_id = _string(record, "job_id")
    if job_id is None:
        raise _Bad("job_id", "required value is missing")
    row: dict[str, Any] = {"job_id": job_id, "pool": pool}
    row.update({name: _string(record, name) for name in _JOB_STRINGS})
    row["workload_type"] = _choice(record, "workload_type", contracts.WORKLOAD_TYPES, default="other")
    row["status"] = _choice(record, "status", contracts.JOB_STATUSES)
    row.update({name: _ts(record, name, required=name == "submit_ts") for name in _JOB_TS})
    row.update({name: _number(record, name, required=name == "gpu_count") for name in _JOB_FLOATS})
    row["restarts"] = _number(record, "restarts", int)
    row["gpu_uuids"] = _uuids(record.get("gpu_uuids"))
    return row


def _event_row(record: dict) -> dict:
    job_id = _string(record, "job_id")
    if job_id is None:
        raise _Bad("job_id", "required value is missing")
    return {"job_id": job_id, "ts": _ts(record, "ts", required=True),
            "event": _choice(record, "event", contracts.JOB_EVENT_TYPES), "detail": _string(record, "detail")}


def _records(path: Path):
    """Yield (line number, record dict or error message, raw text) for a JSONL or CSV file."""
    with open(path, encoding="utf-8", newline="") as fh:
        if path.suffix.lower() == ".csv":
            reader = csv.DictReader(fh)
            for record in reader:
                raw = ",".join("" if v is None else str(v) for v in record.values())
                if None in record:  # more cells than header columns
                    yield reader.line_num, "row has more cells than the header", raw
                else:
                    yield reader.line_num, record, raw
            return
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, f"bad JSON: {exc.msg} at column {exc.colno}", line.rstrip("\n")
                continue
            if not isinstance(record, dict):
                yield number, "bad JSON: a line must be one object", line.rstrip("\n")
            else:
                yield number, record, line.rstrip("\n")


def _kind(record: dict) -> str:
    kind = _string(record, "record_type")
    if kind is None:
        return "job_events" if not _blank(record.get("event")) and _blank(record.get("status")) else "jobs"
    if kind.lower() in ("event", "job_event"):
        return "job_events"
    if kind.lower() == "job":
        return "jobs"
    raise _Bad("record_type", f"{kind!r} is not 'job' or 'event'")


def read_jobs(path: str | Path, pool: str) -> ImportResult:
    """Read a generic job log (JSONL, or CSV by the `.csv` suffix)."""
    path = Path(path)
    rows: dict[str, list[dict]] = {"jobs": [], "job_events": []}
    rejected: dict[str, list[dict]] = {"jobs": [], "job_events": []}
    for number, record, raw in _records(path):
        dataset = "jobs"
        try:
            if isinstance(record, str):
                raise ValueError(record)
            dataset = _kind(record)
            rows[dataset].append(_job_row(record, pool) if dataset == "jobs" else _event_row(record))
        except ValueError as exc:
            rejected[dataset].append({"record": number, "reason": str(exc), "row": raw, "origin": str(path)})
    result = ImportResult(pool=pool, origin=str(path))
    for name in rows:
        if rows[name] or rejected[name]:
            result.tables[name] = to_table(name, rows[name])
            result.rejected[name] = rejected[name]
    return result
