"""The H200 lab recording (`shared/fixtures/h200_lab`, vendored in `ingestion/lab_data/h200`) into
`experiments` and `gpu_samples`.

Input: a directory with `job_log.jsonl` (one `record: "phase"` object per phase), `nvml_samples.csv`
(one NVML read per row, unix-second `ts`) and `env.json` (GPU name and UUID), or the path of its
`job_log.jsonl`.

- `experiments`: one row per phase record. `experiment_id` is `h200-lab-<UTC date of the first
  start_ts>`. `factor`/`variant` come from the phase name:
  `decode_batch_N` -> batching / `batch=N`; `train_fp32|bf16` -> precision / `fp32|bf16`;
  `share_Kproc` -> time_slicing / `processes=K`; `stall_slow_loader|stall_staged` -> data_loading /
  `slow_loader|staged`; `idle`, `idle_end` -> idle; `load_model` -> setup; anything else -> other
  (variant = the phase name for the last three, with no work).
  Work: decode phases `output_tokens` (tokens); sharing phases `output_tokens` of all workers inside
  the shared window `share_start_ts`..`share_stop_ts` (tokens), which is the row's window;
  training and stall phases `steps x batch` samples (`batch` as recorded, 16 when the record has none,
  which is capture.py's `--train-batch` default). The timed loop of a training/stall phase ends at the
  phase's end and lasted `steps x batch / samples_per_s` seconds (capture.py times it after 3 warm-up
  steps, and the phase also builds the model), so that span is the row's window: the telemetry that
  matches the counted work. `reported_rate_per_s` is the log's own rate (`decode_tokens_per_s`,
  `samples_per_s` or `aggregate_tokens_per_s`); `results_json` the whole record. Status `error`
  (capture.py's word) lands as `failed`.
- `gpu_samples`: every CSV row through `sources.nvml_fields.readings_to_table` (source `nvml`), with
  the GPU's UUID and name from env.json, `gpu_index` 0 (capture.py reads NVML device 0) and the
  hostname from env.json when it has one (the recording has none: null). `nan` cells (no GPM value
  for that interval) yield no row.

Quarantined, with the file, line number and field: a line that is not UTF-8 or not JSON, a record
that is not a phase, a phase without `phase`/`start_ts`/`end_ts`, with a non-numeric or infinite
number or ending before it starts, and a CSV row whose `ts` or a metric cell is not a finite number;
timestamps must lie in 2000-01-01 .. now + 1 day (`values`). The rest lands. A missing or unreadable
env.json, or one without a gpu_uuid, refuses the recording with a message naming the file.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from pathlib import Path
from typing import Any

from ingestion.importers import ImportResult, convert_csv, to_table
from ingestion.importers.values import Bad, check_text, convert_records, json_records, number, shown, timestamp
from ingestion.sources.nvml_fields import NVML_TO_DCGM, readings_to_table

LAB_DIR = Path(__file__).resolve().parents[1] / "lab_data" / "h200"
JOB_LOG, SAMPLES, ENV = "job_log.jsonl", "nvml_samples.csv", "env.json"
DEFAULT_POOL = "lab-h200"
SOURCE = "nvml"
DEFAULT_TRAIN_BATCH = 16  # capture.py --train-batch default; the stall records do not repeat it
RATE_FIELDS = ("decode_tokens_per_s", "samples_per_s", "aggregate_tokens_per_s")


def _number(record: dict, name: str, required: bool = False) -> float | None:
    """A finite number; `nan` (or "nan": no value for the interval) is missing, like a blank."""
    value = record.get(name)
    if isinstance(value, float | str) and str(value).strip().lower() == "nan":
        value = None
    return number(value, name, required=required)


def _ts(record: dict, name: str, required: bool = False) -> dt.datetime | None:
    return timestamp(_number(record, name, required), name, required=required)


def classify(phase: str, record: dict | None = None) -> tuple[str, str]:
    """(factor, variant) of a phase name."""
    record = record or {}
    if m := re.fullmatch(r"decode_batch_(\d+)", phase):
        return "batching", f"batch={m.group(1)}"
    if m := re.fullmatch(r"train_(\w+)", phase):
        return "precision", str(record.get("precision") or m.group(1))
    if m := re.fullmatch(r"share_(\d+)proc", phase):
        return "time_slicing", f"processes={m.group(1)}"
    if phase == "stall_slow_loader":
        return "data_loading", "slow_loader"
    if phase == "stall_staged":
        return "data_loading", "staged"
    if phase in ("idle", "idle_end"):
        return "idle", phase
    if phase == "load_model":
        return "setup", phase
    return "other", phase


def _phase_row(record: dict, pool: str, env: dict) -> dict:
    if record.get("record", "phase") != "phase":
        raise Bad("record", f"{shown(record.get('record'))} is not a phase record")
    phase = record.get("phase")
    if not isinstance(phase, str) or not phase.strip():
        raise Bad("phase", "required value is missing")
    phase = phase.strip()
    start, end = _ts(record, "start_ts", required=True), _ts(record, "end_ts", required=True)
    status = str(record.get("status") or "").strip().lower()
    if status not in ("ok", "failed", "error"):
        raise Bad("status", f"{shown(record.get('status'))} is not ok/error")
    factor, variant = classify(phase, record)
    rate = next((r for r in (_number(record, f) for f in RATE_FIELDS) if r is not None), None)
    window_start = window_end = None
    unit = work = None
    if factor == "batching":
        unit, work = "tokens", _number(record, "output_tokens")
    elif factor == "time_slicing":
        unit, work = "tokens", _number(record, "output_tokens")
        window_start, window_end = _ts(record, "share_start_ts"), _ts(record, "share_stop_ts")
    elif factor in ("precision", "data_loading"):
        steps = _number(record, "steps")
        batch = _number(record, "batch")
        unit = "samples"
        work = None if steps is None else steps * (DEFAULT_TRAIN_BATCH if batch is None else batch)
        samples_per_s = _number(record, "samples_per_s")
        if work and samples_per_s:
            timed_s = min(work / samples_per_s, (end - start).total_seconds())  # never before the phase's start
            window_start, window_end = end - dt.timedelta(seconds=timed_s), end
    return {
        "pool": pool, "phase": phase, "factor": factor, "variant": variant,
        "hostname": env.get("hostname"), "gpu_uuid": env.get("gpu_uuid"), "model_name": env.get("gpu_name"),
        "start_ts": start, "end_ts": end, "window_start_ts": window_start, "window_end_ts": window_end,
        "status": "failed" if status == "error" else status, "work_unit": unit, "work_done": work,
        "reported_rate_per_s": rate, "results_json": json.dumps(record, sort_keys=True),
    }


def _reading(env: dict):
    identity = {"hostname": env.get("hostname"), "gpu_index": 0, "gpu_uuid": env.get("gpu_uuid"),
                "model_name": env.get("gpu_name"), "mig_profile": None, "gpu_instance_id": None}

    def convert(record: dict, line: int) -> dict:
        reading: dict[str, Any] = {"ts": _ts(record, "ts", required=True), **identity}
        for field, (_, factor) in NVML_TO_DCGM.items():
            if field in record:
                reading[field] = _number(record, field)  # nan and blank cells become None: no row
                if reading[field] is not None and not math.isfinite(reading[field] * factor):
                    raise Bad(field, f"{shown(record[field])} is out of range")
        return reading

    return convert


def _env(path: Path) -> dict[str, str]:
    """env.json's string values; ValueError naming the file when it is missing, not a JSON object or has no
    gpu_uuid."""
    try:
        env = json.loads(path.read_bytes().decode("utf-8-sig"))
    except FileNotFoundError:
        raise ValueError(f"{path}: not found (a lab recording has {JOB_LOG}, {SAMPLES} and {ENV})") from None
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"{path}: not a JSON object ({shown(str(exc), 200)})") from None
    if not isinstance(env, dict):
        raise ValueError(f"{path}: not a JSON object")
    env = {key: value for key, value in env.items() if isinstance(value, str) and value.strip()}
    if "gpu_uuid" not in env:
        raise ValueError(f"{path}: no gpu_uuid")
    for key, value in env.items():
        try:
            check_text(key, value)
        except Bad as exc:
            raise ValueError(f"{path}: {exc}") from None
    return env


def read_h200_lab(path: str | Path = LAB_DIR, pool: str = DEFAULT_POOL) -> ImportResult:
    """Read a lab directory (or its job_log.jsonl) into experiments and gpu_samples."""
    path = Path(path)
    lab = path if path.is_dir() else path.parent
    job_log = path if path.is_file() else lab / JOB_LOG
    env = _env(lab / ENV)
    if not job_log.is_file():
        raise ValueError(f"{job_log}: not found")
    result = ImportResult(pool=pool, origin=str(job_log))

    phases, rejected = convert_records(job_log, json_records(job_log),
                                       lambda record, _line: _phase_row(record, pool, env), "experiments")
    if phases:
        first = min(row["start_ts"] for row in phases)
        for row in phases:
            row["experiment_id"] = f"h200-lab-{first.date().isoformat()}"
    result.tables["experiments"] = to_table("experiments", phases)
    result.rejected["experiments"] = rejected

    samples_path = lab / SAMPLES
    if samples_path.exists():
        readings, bad = convert_csv(samples_path, _reading(env))
        result.tables["gpu_samples"] = readings_to_table(readings, pool=pool, source=SOURCE)
        result.rejected["gpu_samples"] = bad
    return result
