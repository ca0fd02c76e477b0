"""Long work reports its progress: each day (or file) done, with rows, rate and ETA, to the given log."""

import datetime as dt

from ingestion import progress
from ingestion.config import load_config
from ingestion.from_config import land_days


def test_each_step_reports_count_rows_rate_and_eta(monkeypatch):
    clock = iter([100.0, 102.0, 104.0])
    monkeypatch.setattr(progress.time, "monotonic", lambda: next(clock))
    lines = []
    with progress.Progress(4, "landing", lines.append) as shown:
        shown.step("2026-10-05", 1000)
        shown.step("2026-10-06", 3000)
    assert lines == [
        "landing: 2026-10-05 (1/4 days, 1,000 rows, 500 rows/s, ETA 6 s)",
        "landing: 2026-10-06 (2/4 days, 4,000 rows, 1,000 rows/s, ETA 4 s)",
    ]


def test_a_backfill_logs_every_day_it_lands(tmp_path, monkeypatch):
    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("GPU_EFF_SCENARIO", "tiny")
    monkeypatch.delenv("GPU_EFF_CONFIG", raising=False)
    lines = []
    days = [dt.date(2026, 10, 5), dt.date(2026, 10, 6)]
    landed = land_days(load_config(), days, tmp_path, progress=lines.append)
    per_day = [line for line in lines if line.startswith("landing: ")]
    assert [line.split(" (")[0] for line in per_day] == ["landing: 2026-10-05", "landing: 2026-10-06"]
    rows = sum(f.rows for f in landed if f.day in days)
    assert f"2/2 days, {rows:,} rows" in per_day[-1] and "ETA 0 s" in per_day[-1]
