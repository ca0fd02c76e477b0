"""What the dbt steps compare to decide there is nothing to build: the landed files' fingerprints."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest

from ingestion import landing
from orchestration import build_state

DAY1, DAY2, DAY3 = dt.date(2026, 10, 5), dt.date(2026, 10, 6), dt.date(2026, 10, 7)


def _requests(day: dt.date, n: int) -> pa.Table:
    t0 = dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)
    ts = [t0 + dt.timedelta(seconds=i) for i in range(n)]
    return pa.table({
        "request_id": [f"{day}-{i}" for i in range(n)], "pool": ["p"] * n, "service": ["chat"] * n,
        "replica": ["rep-1"] * n, "gpu_uuid": ["GPU-1"] * n, "arrival_ts": ts, "scheduled_ts": ts,
        "first_token_ts": ts, "end_ts": ts, "prompt_tokens": [10] * n, "cached_prompt_tokens": [0] * n,
        "output_tokens": [5] * n, "status": ["ok"] * n,
    })


def _jobs(base) -> None:
    landing.write_day("jobs", DAY1, landing.empty_table("jobs"), source="sim", pool="p", base=base)


@pytest.fixture
def base(tmp_path):
    for day in (DAY1, DAY2):
        landing.write_day("inference_requests", day, _requests(day, 3), source="sim", pool="p", base=tmp_path)
    return tmp_path


def test_a_windowed_day_changes_its_own_fingerprint_and_the_whole(base):
    before = build_state.fingerprints("project", [DAY1, DAY2], base)
    landing.write_day("inference_requests", DAY2, _requests(DAY2, 4), source="sim", pool="p", base=base)
    after = build_state.fingerprints("project", [DAY1, DAY2], base)
    assert after[DAY1.isoformat()] == before[DAY1.isoformat()]
    assert after[DAY2.isoformat()] != before[DAY2.isoformat()]
    assert after[build_state.ALL_DAYS] != before[build_state.ALL_DAYS]


def test_the_same_bytes_landed_again_and_empty_files_change_nothing(base):
    before = build_state.fingerprints("project", [DAY1, DAY2, DAY3], base)
    landing.write_day("inference_requests", DAY1, _requests(DAY1, 3), source="sim", pool="p", base=base)
    landing.write_day("inference_requests", DAY3, _requests(DAY3, 0), source="sim", pool="p", base=base)
    _jobs(base)
    assert build_state.fingerprints("project", [DAY1, DAY2, DAY3], base) == before


def test_a_dataset_read_whole_and_the_project_change_every_day(base):
    before = build_state.fingerprints("project", [DAY1, DAY2], base)
    t0 = dt.datetime.combine(DAY2, dt.time(9), tzinfo=dt.UTC)
    other_project = build_state.fingerprints("project, edited", [DAY1, DAY2], base)
    assert all(other_project[k] != before[k] for k in before)
    landing.write_day("job_events", DAY2, pa.table({
        "job_id": ["j1"], "ts": [t0], "event": ["submitted"], "detail": [None]}), source="sim", pool="p", base=base)
    after = build_state.fingerprints("project", [DAY1, DAY2], base)
    assert all(after[k] != before[k] for k in before)


def test_a_day_is_unchanged_when_it_matches_its_last_build_or_never_had_rows():
    current = {"2026-10-05": "a", "2026-10-06": "b2", "2026-10-07": "empty-fp", build_state.EMPTY_DAY: "empty-fp"}
    last = {"2026-10-05": ("a", "run1"), "2026-10-06": ("b", "run1")}
    assert build_state.day_unchanged(DAY1, current, last)
    assert not build_state.day_unchanged(DAY2, current, last)
    assert build_state.day_unchanged(DAY3, current, last)  # no rows, never built: nothing to build
    assert not build_state.day_unchanged(DAY3, current, {})  # a step that never built builds everything
    assert build_state.latest_run([DAY3], last) == "run1"


def test_fingerprints_are_kept_in_the_warehouse(tmp_path):
    assert build_state.recorded("warehouse_daily", tmp_path) == {}
    build_state.record("warehouse_daily", {"2026-10-05": "a", "2026-10-06": "b"}, "run1", tmp_path)
    build_state.record("warehouse_daily", {"2026-10-06": "b2"}, "run2", tmp_path)
    assert build_state.recorded("warehouse_daily", tmp_path) == {"2026-10-05": ("a", "run1"),
                                                                 "2026-10-06": ("b2", "run2")}
    assert build_state.recorded("warehouse_models", tmp_path) == {}
