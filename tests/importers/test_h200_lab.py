"""The H200 lab recording into experiments and gpu_samples: real values, quarantined bad lines, idempotent landing."""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pyarrow.parquet as pq
import pytest

from ingestion.importers import land
from ingestion.importers.h200_lab import LAB_DIR, read_h200_lab

UUID = "GPU-0cc143d6-cfbc-890e-2c99-b4ca629ecac5"
UTC = dt.UTC


def _by_phase(result) -> dict[str, dict]:
    return {row["phase"]: row for row in result.tables["experiments"].to_pylist()}


def test_phases_become_experiments():
    result = read_h200_lab(LAB_DIR)
    assert result.rejected == {"experiments": [], "gpu_samples": []}
    rows = _by_phase(result)
    assert len(rows) == 13
    assert {r["experiment_id"] for r in rows.values()} == {"h200-lab-2026-11-27"}
    assert {r["pool"] for r in rows.values()} == {"lab-h200"}
    assert {r["gpu_uuid"] for r in rows.values()} == {UUID}
    assert {r["model_name"] for r in rows.values()} == {"NVIDIA H200"}

    b1, b128 = rows["decode_batch_1"], rows["decode_batch_128"]
    assert (b1["factor"], b1["variant"], b1["work_unit"], b1["work_done"]) == ("batching", "batch=1", "tokens", 768)
    assert b128["variant"] == "batch=128" and b128["work_done"] == 81920 and b128["reported_rate_per_s"] == 6617.46
    assert b1["start_ts"] == dt.datetime.fromtimestamp(1795802460.021, UTC)
    assert b1["window_start_ts"] is None and b1["window_end_ts"] is None

    fp32, bf16 = rows["train_fp32"], rows["train_bf16"]
    assert (fp32["factor"], fp32["variant"], bf16["variant"]) == ("precision", "fp32", "bf16")
    assert fp32["work_done"] == 60 * 16 and bf16["work_done"] == 378 * 16 and fp32["work_unit"] == "samples"
    assert bf16["reported_rate_per_s"] == 501.091
    # the timed loop: ends with the phase, lasts steps x batch / samples_per_s
    timed = (bf16["window_end_ts"] - bf16["window_start_ts"]).total_seconds()
    assert timed == pytest.approx(6048 / 501.091, abs=1e-3)
    assert bf16["window_end_ts"] == bf16["end_ts"]

    share4 = rows["share_4proc"]
    assert (share4["factor"], share4["variant"], share4["work_done"]) == ("time_slicing", "processes=4", 3072)
    assert share4["window_start_ts"] == dt.datetime.fromtimestamp(1795802615.1923006, UTC)
    assert share4["window_end_ts"] == dt.datetime.fromtimestamp(1795802627.1923006, UTC)
    assert share4["reported_rate_per_s"] == 256.0
    assert rows["share_1proc"]["variant"] == "processes=1"

    slow, staged = rows["stall_slow_loader"], rows["stall_staged"]
    assert (slow["factor"], slow["variant"], staged["variant"]) == ("data_loading", "slow_loader", "staged")
    assert slow["work_done"] == 117 * 16 and staged["work_done"] == 390 * 16  # batch 16 by default

    for phase, factor in (("idle", "idle"), ("idle_end", "idle"), ("load_model", "setup")):
        assert rows[phase]["factor"] == factor and rows[phase]["work_done"] is None
        assert rows[phase]["work_unit"] is None
    assert json.loads(rows["load_model"]["results_json"])["params"] == 1339478016
    assert {r["status"] for r in rows.values()} == {"ok"}


def test_nvml_samples_become_gpu_samples():
    table = read_h200_lab(LAB_DIR / "job_log.jsonl").tables["gpu_samples"]
    rows = table.to_pylist()
    assert {r["source"] for r in rows} == {"nvml"} and {r["gpu_uuid"] for r in rows} == {UUID}
    first_ts = dt.datetime.fromtimestamp(1795802442.551, UTC)
    first = {r["metric"]: r["value"] for r in rows if r["ts"] == first_ts}
    assert first["DCGM_FI_DEV_POWER_USAGE"] == pytest.approx(116.127)
    assert first["DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"] == pytest.approx(2397724.0)  # J -> mJ
    assert first["DCGM_FI_DEV_FB_USED"] == 615
    power = [r for r in rows if r["metric"] == "DCGM_FI_DEV_POWER_USAGE"]
    assert len(power) == 2103
    # nan GPM cells yield no row
    assert sum(r["metric"] == "DCGM_FI_PROF_DRAM_ACTIVE" for r in rows) < 2103


def test_bad_lines_are_quarantined_and_the_rest_lands(tmp_path):
    lab = tmp_path / "lab"
    shutil.copytree(LAB_DIR, lab, ignore=shutil.ignore_patterns("README.md"))
    log = (lab / "job_log.jsonl").read_text().splitlines()
    record = json.loads(log[2])
    del record["start_ts"]
    log[2] = json.dumps(record)  # line 3: decode_batch_1 without start_ts
    log[4] = log[4][:40]  # line 5: truncated JSON
    (lab / "job_log.jsonl").write_text("\n".join(log) + "\n")
    csv_lines = (lab / "nvml_samples.csv").read_text().splitlines()
    cells = csv_lines[10].split(",")
    cells[7] = "n/a"  # power_w of data line 11 (file line 11)
    csv_lines[10] = ",".join(cells)
    (lab / "nvml_samples.csv").write_text("\n".join(csv_lines) + "\n")

    result = read_h200_lab(lab)
    bad_phases = result.rejected["experiments"]
    assert [(r["record"], r["origin"]) for r in bad_phases] == [(3, str(lab / "job_log.jsonl")),
                                                                 (5, str(lab / "job_log.jsonl"))]
    assert "start_ts" in bad_phases[0]["reason"] and "bad JSON" in bad_phases[1]["reason"]
    assert len(result.tables["experiments"]) == 11
    bad_samples = result.rejected["gpu_samples"]
    assert len(bad_samples) == 1 and bad_samples[0]["record"] == 11 and "power_w" in bad_samples[0]["reason"]
    assert bad_samples[0]["origin"] == str(lab / "nvml_samples.csv")
    assert len([r for r in result.tables["gpu_samples"].to_pylist() if r["metric"] == "DCGM_FI_DEV_POWER_USAGE"]) \
        == 2102

    landed = land(result, "h200-lab", base=tmp_path / "data")
    assert sum(f.rows for f in landed if f.dataset == "experiments") == 11
    quarantine = tmp_path / "data" / "quarantine"
    lines = [json.loads(x) for p in quarantine.rglob("*.jsonl") for x in p.read_text().splitlines()]
    assert sorted((q["origin"], q["record"]) for q in lines) == sorted(
        [(str(lab / "job_log.jsonl"), 3), (str(lab / "job_log.jsonl"), 5), (str(lab / "nvml_samples.csv"), 11)]
    )


def test_relanding_replaces_without_duplicates(tmp_path):
    base = tmp_path / "data"
    first = land(read_h200_lab(LAB_DIR), "h200-lab", base=base)
    second = land(read_h200_lab(LAB_DIR), "h200-lab", base=base)
    assert [f.path for f in first] == [f.path for f in second]
    experiments = list((base / "landing" / "experiments").rglob("*.parquet"))
    samples = list((base / "landing" / "gpu_samples").rglob("*.parquet"))
    assert [p.parent.name for p in experiments] == ["date=2026-11-27"]
    assert [p.parent.name for p in samples] == ["date=2026-11-27"]
    assert pq.read_table(experiments[0]).num_rows == 13
    table = pq.read_table(samples[0])
    keys = set(zip(table["ts"].to_pylist(), table["metric"].to_pylist(), strict=True))
    assert len(keys) == table.num_rows == 35727
