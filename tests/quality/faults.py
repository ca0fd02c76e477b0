"""Faults injected into what a source lands: each wraps a landing function of ingestion.from_config and then
rewrites the landed Parquet, as a faulty source would have delivered it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion import paths

DAY = "2026-10-11"


def _day_file(dataset: str, day: str = DAY) -> Path:
    return paths.landing_dir() / dataset / f"date={day}" / "simulator-tiny.parquet"


def gpu_at_150_percent(day: str = DAY) -> str:
    """One whole GPU (no MIG that day) reports GR_ENGINE_ACTIVE 1.5, i.e. 150 % activity; returns its UUID."""
    path = _day_file("gpu_samples", day)
    table = pq.read_table(path)
    mig = set(table.filter(pc.is_valid(table["mig_profile"]))["gpu_uuid"].to_pylist())
    gpu = sorted(set(table["gpu_uuid"].to_pylist()) - mig)[0]
    target = pc.and_(pc.equal(table["gpu_uuid"], gpu), pc.equal(table["metric"], "DCGM_FI_PROF_GR_ENGINE_ACTIVE"))
    value = pc.if_else(target, pa.scalar(1.5), table["value"])
    pq.write_table(table.set_column(table.schema.get_field_index("value"), "value", value), path)
    return gpu


def negative_ttft(day: str = DAY) -> str:
    """One successful request's first token arrives 2 s before the request; returns its request_id."""
    path = _day_file("inference_requests", day)
    table = pq.read_table(path)
    ok = table.filter(pc.and_(pc.equal(table["status"], "ok"), pc.greater_equal(table["output_tokens"], 2)))
    request = sorted(ok["request_id"].to_pylist())[0]
    hit = pc.equal(table["request_id"], request)
    shifted = pc.subtract(table["arrival_ts"], pa.scalar(2_000_000, pa.duration("us")))
    first_token = pc.if_else(hit, pc.cast(shifted, table.schema.field("first_token_ts").type), table["first_token_ts"])
    index = table.schema.get_field_index("first_token_ts")
    pq.write_table(table.set_column(index, "first_token_ts", first_token), path)
    return request


def instant_response(day: str = DAY) -> str:
    """One successful multi-token request is stamped as scheduled, first token and finished at its arrival
    (a gateway clock fault): TTFT and TBT of zero, which no ordering or non-negativity test objects to."""
    path = _day_file("inference_requests", day)
    table = pq.read_table(path)
    ok = table.filter(pc.and_(pc.equal(table["status"], "ok"), pc.greater_equal(table["output_tokens"], 2)))
    request = sorted(ok["request_id"].to_pylist())[-1]
    hit = pc.equal(table["request_id"], request)
    for column in ("scheduled_ts", "first_token_ts", "end_ts"):
        index = table.schema.get_field_index(column)
        table = table.set_column(index, column, pc.if_else(hit, table["arrival_ts"], table[column]))
    pq.write_table(table, path)
    return request


def calendar_without_stage(stage_id: int = 3) -> None:
    """The pool's stage calendar loses one stage (its window has no rows anywhere)."""
    path = paths.landing_dir() / "stage_calendar" / "simulator-tiny.parquet"
    table = pq.read_table(path)
    pq.write_table(table.filter(pc.not_equal(table["stage_id"], stage_id)), path)


def day_landed_twice(datasets=("gpu_samples", "inference_requests"), day: str = DAY) -> list[Path]:
    """The day lands a second time under another source name (a replayed export); returns the copies."""
    copies = []
    for dataset in datasets:
        source = _day_file(dataset, day)
        copy = source.with_name("replay-tiny.parquet")
        shutil.copy(source, copy)
        copies.append(copy)
    return copies


def after(module, name: str, fault):
    """Wrap module.name so that `fault()` runs on the landed files after it."""
    original = getattr(module, name)

    def wrapped(*args, **kwargs):
        landed = original(*args, **kwargs)
        fault()
        return landed

    return wrapped
