"""`gpu-eff import`: a log file lands per UTC day; bad lines are quarantined and reported."""

from __future__ import annotations

import json
import re

import pyarrow.parquet as pq

from ingestion.cli import main

SHARED_SAMPLES = "fixtures/dcgm/samples"


def test_import_a_saved_metrics_page(shared, tmp_path, capsys):
    page = shared / SHARED_SAMPLES / "issue512_h100_mig_pods.prom"
    assert main(["import", "dcgm-text", str(page), "--pool", "lab", "--scrape-ts", "2026-10-05T08:00:00+08:00",
                 "--batch", "page-1", "--data-dir", str(tmp_path)]) == 0
    landed = tmp_path / "landing/gpu_samples/date=2026-10-05/dcgm-exporter-lab@page-1.parquet"
    table = pq.read_table(landed)
    assert table.num_rows == 3 and set(table["mig_profile"].to_pylist()) == {"1g.10gb"}
    assert "gpu_samples 2026-10-05: 3 rows, 0 quarantined" in capsys.readouterr().out


def test_import_a_request_log_with_a_bad_line(tmp_path, capsys):
    log = tmp_path / "requests.jsonl"
    good = {"request_id": "r1", "service": "chat", "arrival_ts": "2026-10-05T01:00:00Z",
            "end_ts": "2026-10-05T01:00:02Z", "prompt_tokens": 10, "output_tokens": 5}
    log.write_text(json.dumps(good) + "\n{not json\n")
    assert main(["import", "requests", str(log), "--pool", "p", "--batch", "b", "--max-quarantined-percent", "50",
                 "--data-dir", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "inference_requests 2026-10-05: 1 rows, 1 quarantined" in out
    [record] = [json.loads(line) for line in
                (tmp_path / "data/quarantine/inference_requests/date=2026-10-05/requests-log-p@b.jsonl").open()]
    assert record["record"] == 2


def test_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["import", "jobs", str(tmp_path / "nope.jsonl"), "--pool", "p"]) == 2
    assert "nope.jsonl: no such file" in capsys.readouterr().err


def test_pool_is_required_except_for_the_h200_lab(tmp_path, capsys, monkeypatch):
    import sys
    import types

    from ingestion.importers import ImportResult

    log = tmp_path / "jobs.jsonl"
    log.write_text("")
    assert main(["import", "jobs", str(log), "--data-dir", str(tmp_path)]) == 2
    assert "--pool is required" in capsys.readouterr().err

    seen = []

    def read_h200_lab(path, pool):
        seen.append((path, pool))
        return ImportResult(pool=pool, origin=str(path))

    monkeypatch.setitem(sys.modules, "ingestion.importers.h200_lab", types.SimpleNamespace(read_h200_lab=read_h200_lab))
    # the stand-in reader lands nothing, which exits 1
    assert main(["import", "h200-lab", str(log), "--data-dir", str(tmp_path)]) == 1
    assert main(["import", "h200-lab", str(log), "--pool", "lab-2", "--data-dir", str(tmp_path)]) == 1
    assert [pool for _, pool in seen] == ["lab-h200", "lab-2"]


def test_import_kinds_include_prometheus_json_and_the_h200_lab():
    from ingestion.importers import KINDS

    assert KINDS["prometheus-json"] == ("prometheus", "ingestion.importers.prometheus_json", "read_prometheus_json")
    assert KINDS["h200-lab"] == ("nvml", "ingestion.importers.h200_lab", "read_h200_lab")


def test_import_the_h200_lab_directory_into_its_default_pool(shared, tmp_path, capsys):
    assert main(["import", "h200-lab", str(shared / "fixtures/h200_lab"), "--data-dir", str(tmp_path)]) == 0
    landed = sorted(p.name for p in (tmp_path / "landing").rglob("*.parquet"))
    assert len(landed) == 2 and all(re.fullmatch(r"nvml-lab-h200@job_log\.jsonl-[0-9a-f]{10}\.parquet", name)
                                    for name in landed)  # experiments and gpu_samples, as the recording's input
    assert "experiments" in capsys.readouterr().out


def test_an_nvidia_smi_dmon_log_imports_with_its_command_line_options(shared, tmp_path, capsys):
    dmon = shared / "fixtures/nvidia_smi/nvidia_smi_dmon.txt"
    base = ["import", "nvidia-smi", str(dmon), "--pool", "lab", "--data-dir", str(tmp_path)]
    assert main(base) == 2  # dmon names GPUs by index only
    assert "gpu_uuid" in capsys.readouterr().err
    assert main([*base, "--gpu-uuid", "GPU-5a1e", "--start", "2026-11-30T18:25:00", "--tz", "+08:00",
                 "--hostname", "h200-lab", "--interval", "1s"]) == 0
    assert re.search(r"landed 480 rows, quarantined 0 \(0\.0%\)", capsys.readouterr().out)
    table = pq.read_table(next((tmp_path / "landing" / "gpu_samples").rglob("*.parquet")))
    assert set(table["gpu_uuid"].to_pylist()) == {"GPU-5a1e"} and set(table["hostname"].to_pylist()) == {"h200-lab"}
    first = min(table["ts"].to_pylist())
    assert first.isoformat().startswith("2026-11-30T10:25:00")  # 18:25 at +08:00, landed in UTC


def test_a_collector_refuses_a_pool_that_is_not_a_name(tmp_path, capsys):
    args = ["collect", "dcgm", "--target", "http://127.0.0.1:9/metrics", "--pool", "x/../../outside", "--once",
            "--data-dir", str(tmp_path / "data")]
    assert main(args) == 2
    assert "--pool 'x/../../outside': use" in capsys.readouterr().err
    assert not any(tmp_path.rglob("*.parquet"))
