"""Slurm accounting (`sacct --parsable2`, pipe-separated with a header line) into `jobs`.

Expected columns (by header name, any order; others are ignored): JobID, JobName, Account, Partition,
State, Submit, Start, End, AllocTRES, NodeList, ExitCode. `--parsable` (trailing `|`) also works.

Conventions:
- Job steps (`123.batch`, `123.extern`, `123.0`, `123_4.batch`) are skipped; array tasks (`123_4`) and
  heterogeneous components (`123+0`) are jobs.
- sacct prints times in the cluster's local time without an offset: pass `tz` (default UTC).
  `Unknown`, `None` and empty times are null. A missing Submit is quarantined (it is required), and so
  are, with the file, line and field: a line that is not UTF-8, a line whose field count differs from
  the header's, times outside 2000-01-01 .. now + 1 day, an End before Submit or Start, and a GPU count
  that is not finite (`values`). A BOM before the header and CRLF line ends are read; a header
  that is not UTF-8 refuses the file.
- State is its first word (`CANCELLED by 1234` -> CANCELLED): COMPLETED -> succeeded; FAILED, NODE_FAIL,
  OUT_OF_MEMORY, TIMEOUT, BOOT_FAIL, DEADLINE -> failed with failure_reason = the state in lower case
  (plus `exit N:S` for FAILED); CANCELLED -> cancelled; PREEMPTED -> preempted; RUNNING, SUSPENDED,
  COMPLETING -> running; PENDING, REQUEUED -> pending. Any other state is quarantined.
- gpu_count from AllocTRES `gres/gpu=N` (or `gres/gpu:<model>=N`, which also gives gpu_model); 0 without.
- tenant = Account, queue = Partition, hostname = NodeList as printed (may be a range like `gpu[01-02]`;
  `None assigned` -> null).
- workload_type: the first of these regular expressions (case-insensitive) that matches JobName, then
  Partition, wins; otherwise `other`. See `WORKLOAD_RULES`.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from ingestion.importers import ImportResult, to_table
from ingestion.importers.values import LINE, Bad, check_row, read_lines, reject, shown, timestamp

WORKLOAD_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("training", re.compile(r"train|pretrain|finetune|fine-tune|sft|rlhf|dpo", re.I)),
    ("evaluation", re.compile(r"eval|bench", re.I)),
    ("inference", re.compile(r"infer|serv(e|ing)|vllm|triton|sglang", re.I)),
    ("development", re.compile(r"jupyter|notebook|interactive|^bash$|^sh$|debug|\bdev", re.I)),
)

_STATES: dict[str, str] = {
    "COMPLETED": "succeeded", "FAILED": "failed", "NODE_FAIL": "failed", "OUT_OF_MEMORY": "failed",
    "TIMEOUT": "failed", "BOOT_FAIL": "failed", "DEADLINE": "failed", "CANCELLED": "cancelled",
    "PREEMPTED": "preempted", "RUNNING": "running", "SUSPENDED": "running", "COMPLETING": "running",
    "PENDING": "pending", "REQUEUED": "pending",
}
_STEP = re.compile(r"\.")
_GPU_TRES = re.compile(r"gres/gpu(?::([^=,]+))?=(\d+(?:\.\d+)?)")
_NULL_TIMES = {"", "unknown", "none"}


def workload_type(job_name: str, partition: str) -> str:
    for text in (job_name, partition):
        for kind, pattern in WORKLOAD_RULES:
            if pattern.search(text or ""):
                return kind
    return "other"


def _time(record: dict[str, str], column: str, tz: dt.tzinfo) -> dt.datetime | None:
    value = record.get(column, "").strip()
    return None if value.lower() in _NULL_TIMES else timestamp(value, column, tz=tz)


def _gpus(tres: str) -> tuple[float, str | None]:
    # Slurm lists both `gres/gpu=N` and `gres/gpu:model=N` for typed GPUs: the untyped total wins.
    total, model, typed = None, None, 0.0
    for name, count in _GPU_TRES.findall(tres):
        if name:
            model = model or name
            typed += float(count)
        else:
            total = float(count)
    return (typed if total is None else total), model


def _row(record: dict[str, str], pool: str, tz: dt.tzinfo) -> dict[str, Any]:
    job_id = record.get("JobID", "").strip()
    if not job_id:
        raise Bad("JobID", "required value is missing")
    state_word = (record.get("State", "").split() or [""])[0].upper()
    status = _STATES.get(state_word)
    if status is None:
        raise Bad("State", f"unknown Slurm state {shown(record.get('State'))}")
    submit = _time(record, "Submit", tz)
    if submit is None:
        raise Bad("Submit", "required time is missing")
    failure = None
    if status == "failed":
        failure = state_word.lower()
        exit_code = record.get("ExitCode", "").strip()
        if state_word == "FAILED" and exit_code:
            failure = f"failed (exit {exit_code})"
    gpu_count, gpu_model = _gpus(record.get("AllocTRES", ""))
    nodes = record.get("NodeList", "").strip()
    name = record.get("JobName", "").strip()
    partition = record.get("Partition", "").strip()
    return {
        "job_id": job_id, "pool": pool, "tenant": record.get("Account", "").strip() or None,
        "queue": partition or None, "workload_type": workload_type(name, partition),
        "gpu_model": gpu_model, "gpu_count": gpu_count,
        "hostname": None if nodes.lower() in ("", "none assigned") else nodes,
        "submit_ts": submit, "start_ts": _time(record, "Start", tz), "end_ts": _time(record, "End", tz),
        "status": status, "failure_reason": failure,
    }


def read_slurm_sacct(path: str | Path, pool: str, tz: dt.tzinfo = dt.UTC) -> ImportResult:
    """Read one `sacct --parsable2` file; `tz` is the time zone sacct printed its times in."""
    path = Path(path)
    rows: list[dict] = []
    rejected: list[dict] = []
    header: list[str] | None = None
    for number, text, bad in read_lines(path):
        if not text.strip():
            continue
        if bad is not None and header is None:
            raise ValueError(f"{path}: the header (line {number}) is {bad}: no line of the file can be read")
        try:
            if bad is not None:
                raise bad
            cells = text.split("|")
            if header is None:
                header = [c.strip() for c in cells]
                while header and header[-1] == "":
                    header.pop()  # `--parsable` ends lines with a `|`
                continue
            if len(cells) == len(header) + 1 and cells[-1] == "":
                cells.pop()
            if len(cells) != len(header):
                raise Bad(LINE, f"{len(cells)} fields, header has {len(header)}")
            record = dict(zip(header, cells, strict=True))
            if not _STEP.search(record.get("JobID", "")):
                rows.append(check_row("jobs", _row(record, pool, tz)))
        except ValueError as exc:
            rejected.append(reject(path, number, exc, text))
    return ImportResult(pool=pool, origin=str(path), tables={"jobs": to_table("jobs", rows)},
                        rejected={"jobs": rejected})
