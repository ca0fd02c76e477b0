"""Landing: atomic, idempotent per day, and bad records quarantined with the field and record number."""

from __future__ import annotations

import datetime as dt
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion import landing
from ingestion.contracts import DATASETS

DAY = dt.date(2026, 10, 5)


def _requests(n: int, status: str = "ok") -> pa.Table:
    t0 = dt.datetime(2026, 10, 5, 8, tzinfo=dt.UTC)
    ts = [t0 + dt.timedelta(seconds=i) for i in range(n)]
    return pa.table({
        "request_id": [f"r{i}" for i in range(n)], "pool": ["p"] * n, "service": ["chat"] * n,
        "replica": ["rep-1"] * n, "gpu_uuid": ["GPU-1"] * n, "arrival_ts": ts, "scheduled_ts": ts,
        "first_token_ts": ts, "end_ts": ts, "prompt_tokens": [10] * n, "cached_prompt_tokens": [0] * n,
        "output_tokens": [5] * n, "status": [status] * n,
    })


def _files(base, dataset):
    return sorted((base / "landing" / dataset).rglob("*"))


def test_writing_a_day_twice_replaces_it(tmp_path):
    first = landing.write_day("inference_requests", DAY, _requests(5), source="sim", pool="p", base=tmp_path)
    second = landing.write_day("inference_requests", DAY, _requests(3), source="sim", pool="p", base=tmp_path)
    assert first.path == second.path
    assert [p for p in _files(tmp_path, "inference_requests") if p.is_file()] == [second.path]
    assert pq.read_table(second.path).num_rows == 3


def test_same_input_lands_the_same_rows(tmp_path):
    a = landing.write_day("inference_requests", DAY, _requests(4), source="sim", pool="p", base=tmp_path / "a")
    b = landing.write_day("inference_requests", DAY, _requests(4), source="sim", pool="p", base=tmp_path / "b")
    assert pq.read_table(a.path).equals(pq.read_table(b.path))


def test_landing_the_same_rows_again_keeps_the_file_and_its_time(tmp_path):
    """What tells the warehouse a re-landed day did not change (orchestration/build_state.py)."""
    first = landing.write_day("inference_requests", DAY, _requests(4), source="sim", pool="p", base=tmp_path)
    landed_at = first.path.stat().st_mtime_ns
    with landing.land_input("sim", "run1", base=tmp_path) as staged:
        staged.write_day("inference_requests", DAY, _requests(2), pool="p", origin="x")
    staged_path = next(first.path.parent.glob("sim-p@run1.parquet"))
    staged_at = staged_path.stat().st_mtime_ns

    again = landing.write_day("inference_requests", DAY, _requests(4), source="sim", pool="p", base=tmp_path)
    with landing.land_input("sim", "run1", base=tmp_path) as staged:
        staged.write_day("inference_requests", DAY, _requests(2), pool="p", origin="x")
    assert again.path.stat().st_mtime_ns == landed_at and staged_path.stat().st_mtime_ns == staged_at
    assert not [p for p in _files(tmp_path, "inference_requests") if p.name.endswith(landing.TEMPORARY_SUFFIX)]

    changed = landing.write_day("inference_requests", DAY, _requests(5), source="sim", pool="p", base=tmp_path)
    assert pq.read_table(changed.path).num_rows == 5


def test_a_crash_while_writing_keeps_the_previous_file(tmp_path, monkeypatch):
    good = landing.write_day("inference_requests", DAY, _requests(5), source="sim", pool="p", base=tmp_path)

    def crash(writer, table, *args, **kwargs):  # the temporary file is open, its header written
        raise OSError("disk full")

    monkeypatch.setattr(landing.pq.ParquetWriter, "write_table", crash)
    with pytest.raises(OSError, match="disk full"):
        landing.write_day("inference_requests", DAY, _requests(9), source="sim", pool="p", base=tmp_path)
    assert [p for p in _files(tmp_path, "inference_requests") if p.is_file()] == [good.path]
    assert pq.read_table(good.path).num_rows == 5
    assert not list(good.path.parent.glob(".*.tmp"))


def test_a_day_is_written_a_slice_at_a_time_and_quarantine_records_keep_their_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(landing, "WRITE_SLICE_ROWS", 3)
    table = _requests(8).to_pylist()
    table[1]["status"] = "exploded"
    table[6]["request_id"] = None
    landed = landing.write_day("inference_requests", DAY, pa.Table.from_pylist(table), source="sim", pool="p",
                               base=tmp_path)
    assert (landed.rows, landed.quarantined) == (6, 2)
    written = pq.read_table(landed.path)
    assert written["request_id"].to_pylist() == [r["request_id"] for i, r in enumerate(table) if i not in (1, 6)]
    assert pq.ParquetFile(landed.path).metadata.num_row_groups == 3
    quarantine = (tmp_path / "quarantine" / "inference_requests" / f"date={DAY}" / "sim-p.jsonl").read_text()
    assert [json.loads(line)["record"] for line in quarantine.splitlines()] == [2, 7]


def test_bad_records_go_to_quarantine_and_the_rest_lands(tmp_path):
    table = _requests(4).to_pylist()
    table[1]["status"] = "exploded"
    table[3]["request_id"] = None
    landed = landing.write_day(
        "inference_requests", DAY, pa.Table.from_pylist(table), source="sim", pool="p", origin="requests.jsonl",
        base=tmp_path,
    )
    assert landed.rows == 2 and landed.quarantined == 2
    assert pq.read_table(landed.path).column("request_id").to_pylist() == ["r0", "r2"]
    quarantine = tmp_path / "quarantine/inference_requests/date=2026-10-05/sim-p.jsonl"
    records = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert [r["record"] for r in records] == [2, 4]
    assert all(r["origin"] == "requests.jsonl" for r in records)
    assert "field 'status': 'exploded' is not one of" in records[0]["reason"]
    assert "field 'request_id': required value is missing" in records[1]["reason"]


def test_dictionary_encoded_labels_land_as_the_contracts_strings_and_bad_ones_are_quarantined(tmp_path):
    table = _requests(4).to_pylist()
    table[2]["status"] = "exploded"
    table = pa.Table.from_pylist(table)
    encoded = pa.table({name: (column.dictionary_encode() if pa.types.is_string(column.type) else column)
                        for name, column in zip(table.column_names, table.columns, strict=True)})
    plain = landing.write_day("inference_requests", DAY, table, source="sim", pool="p", base=tmp_path / "plain")
    landed = landing.write_day("inference_requests", DAY, encoded, source="sim", pool="p", base=tmp_path / "encoded")
    assert (landed.rows, landed.quarantined) == (plain.rows, plain.quarantined) == (3, 1)
    written = pq.read_table(landed.path)
    assert written.schema == DATASETS["inference_requests"].schema  # what every reader sees: strings
    assert written.equals(pq.read_table(plain.path))
    quarantine = tmp_path / "encoded" / "quarantine/inference_requests/date=2026-10-05/sim-p.jsonl"
    assert "field 'status': 'exploded' is not one of" in quarantine.read_text()
    # each row group's min and max: for the times and numbers, which skip row groups; not for the labels
    statistics = pq.ParquetFile(landed.path).metadata.row_group(0)
    with_statistics = {statistics.column(i).path_in_schema for i in range(statistics.num_columns)
                       if statistics.column(i).is_stats_set}
    assert {"arrival_ts", "prompt_tokens"} <= with_statistics and not {"request_id", "status"} & with_statistics


def test_rows_of_another_day_are_refused(tmp_path):
    with pytest.raises(ValueError, match="rows for .*2026, 10, 5"):
        landing.write_day("inference_requests", DAY + dt.timedelta(days=1), _requests(2), source="sim", pool="p",
                          base=tmp_path)


def test_an_empty_day_still_lands_a_file(tmp_path):
    landed = landing.write_day("inference_requests", DAY, landing.empty_table("inference_requests"),
                               source="sim", pool="p", base=tmp_path)
    assert landed.path.exists() and pq.read_table(landed.path).num_rows == 0
