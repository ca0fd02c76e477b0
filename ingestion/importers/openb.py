"""Alibaba cluster-trace-gpu-v2023 ("openb", FGD paper, ATC'23) pod lists into `jobs`.

Columns: name, cpu_milli, memory_mib, num_gpu, gpu_milli, gpu_spec, qos, pod_phase, creation_time,
deletion_time, scheduled_time. Times are seconds since the trace start, which the trace does not date.

Conventions:
- `start` anchors second 0 of the trace; the default is 2023-01-01T00:00:00Z, an arbitrary date (the
  ~149-day trace then ends in late May 2023, before its release on 2023-06-05). Only durations and
  relative order are real; day partitions and hour-of-day are artefacts of the anchor.
- job_id = `<file stem>/<name>`: pod names repeat across the sampled pod lists.
- gpu_count = num_gpu * gpu_milli / 1000 (gpu_milli is thousandths of one GPU; for num_gpu > 1 it is
  1000, so whole GPUs); 0 for CPU-only pods.
- submit_ts = creation_time, start_ts = scheduled_time (empty for pods never scheduled).
- end_ts = deletion_time for pods that were scheduled (the pod's deletion released its GPUs, whatever
  its last phase); null for pods never scheduled, which held no GPU.
- status from pod_phase: Succeeded -> succeeded, Failed -> failed (failure_reason `pod_phase=Failed`),
  Running -> running (the last phase recorded, although the pod was deleted at deletion_time),
  Pending -> pending.
- queue = qos (LS, BE, Burstable, Guaranteed); tenant, hostname, gpu_model and gpu_mem_request_gb are
  not in the trace (null); gpu_spec is a constraint, not the model used, so it is not landed.
- workload_type = `other`: the trace does not say what a pod ran.
- Quarantined, with the file, line and field: a negative or non-numeric count or time, a time that puts
  the pod outside 2000-01-01 .. now + 1 day, a deletion before creation or scheduling, and what
  `values` refuses in any CSV (a line that is not UTF-8, more cells than the header).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ingestion.importers import ImportResult, convert_csv, to_table
from ingestion.importers.values import PLAUSIBLE, Bad, number, parse_ts, shown

TRACE_START = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)
_PHASES = {"Succeeded": "succeeded", "Failed": "failed", "Running": "running", "Pending": "pending"}


def _row(record: dict[str, str], stem: str, pool: str, start: dt.datetime) -> dict[str, Any]:
    name = (record.get("name") or "").strip()
    if not name:
        raise Bad("name", "required value is missing")
    status = _PHASES.get((record.get("pod_phase") or "").strip())
    if status is None:
        raise Bad("pod_phase", f"unknown phase {shown(record.get('pod_phase'))}")
    num_gpu = number(record.get("num_gpu"), "num_gpu", required=True, minimum=0)
    gpu_milli = number(record.get("gpu_milli"), "gpu_milli", minimum=0) or 0.0
    if num_gpu and not 0 < gpu_milli <= 1000:
        raise Bad("gpu_milli", f"must be in (0, 1000] for a GPU pod, got {gpu_milli:g}")

    def at(column: str, required: bool = False) -> dt.datetime | None:
        seconds = number(record.get(column), column, required=required, minimum=0)
        try:
            return None if seconds is None else parse_ts(start.timestamp() + seconds)
        except ValueError:
            raise Bad(column, f"{shown(record[column])} s after the trace start {start:%Y-%m-%d} is outside "
                              f"{PLAUSIBLE}") from None

    created, scheduled, deleted = at("creation_time", required=True), at("scheduled_time"), at("deletion_time")
    return {
        "job_id": f"{stem}/{name}", "pool": pool, "queue": (record.get("qos") or "").strip() or None,
        "workload_type": "other", "gpu_count": num_gpu * gpu_milli / 1000.0,
        "submit_ts": created, "start_ts": scheduled, "end_ts": deleted if scheduled is not None else None,
        "status": status, "failure_reason": "pod_phase=Failed" if status == "failed" else None,
    }


def read_openb(path: str | Path, pool: str, start: dt.datetime = TRACE_START) -> ImportResult:
    """Read one openb pod list CSV; `start` (aware) is the instant of trace second 0."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    path = Path(path)
    start_utc = start.astimezone(dt.UTC)
    rows, rejected = convert_csv(path, lambda record, _line: _row(record, path.stem, pool, start_utc), "jobs")
    return ImportResult(pool=pool, origin=str(path), tables={"jobs": to_table("jobs", rows)},
                        rejected={"jobs": rejected})
