"""`gpu-eff import`: a log file lands per UTC day; bad lines are quarantined and reported."""

from __future__ import annotations

import json

import pyarrow.parquet as pq

from ingestion.cli import main

SHARED_SAMPLES = "fixtures/dcgm/samples"


def test_import_a_saved_metrics_page(shared, tmp_path, capsys):
    page = shared / SHARED_SAMPLES / "issue512_h100_mig_pods.prom"
    assert main(["import", "dcgm-text", str(page), "--pool", "lab", "--scrape-ts", "2026-10-05T08:00:00+08:00",
                 "--data-dir", str(tmp_path)]) == 0
    landed = tmp_path / "landing/gpu_samples/date=2026-10-05/dcgm-exporter-lab.parquet"
    table = pq.read_table(landed)
    assert table.num_rows == 3 and set(table["mig_profile"].to_pylist()) == {"1g.10gb"}
    assert "gpu_samples 2026-10-05: 3 rows, 0 quarantined" in capsys.readouterr().out


def test_import_a_request_log_with_a_bad_line(tmp_path, capsys):
    log = tmp_path / "requests.jsonl"
    good = {"request_id": "r1", "service": "chat", "arrival_ts": "2026-10-05T01:00:00Z",
            "end_ts": "2026-10-05T01:00:02Z", "prompt_tokens": 10, "output_tokens": 5}
    log.write_text(json.dumps(good) + "\n{not json\n")
    assert main(["import", "requests", str(log), "--pool", "p", "--data-dir", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "inference_requests 2026-10-05: 1 rows, 1 quarantined" in out
    [record] = [json.loads(line) for line in
                (tmp_path / "data/quarantine/inference_requests/date=2026-10-05/requests-log-p.jsonl").open()]
    assert record["record"] == 2


def test_a_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["import", "jobs", str(tmp_path / "nope.jsonl"), "--pool", "p"]) == 2
    assert "nope.jsonl: no such file" in capsys.readouterr().err
