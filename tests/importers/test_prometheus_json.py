"""`gpu-eff import prometheus-json`: saved /api/v1/query_range and /api/v1/query responses as gpu_samples."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.cli import main
from ingestion.contracts import GPU_SAMPLES
from ingestion.importers.prometheus_json import read_prometheus_json

FIXTURES = "fixtures/prometheus"
GPU = {"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "0", "UUID": "GPU-0a1b2c3d-0000-4000-8000-000000000000",
       "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-a", "instance": "node-a:9400", "job": "dcgm",
       "exported_pod": "train-0", "exported_namespace": "ml", "pod": "dcgm-exporter-x"}
MIDNIGHT = dt.datetime(2026, 10, 6, tzinfo=dt.UTC).timestamp()


@pytest.mark.parametrize(("name", "points"), [("query_range_example_from_docs.json", 3),
                                              ("query_instant_example_from_docs.json", 1)])
def test_the_documented_responses_have_no_gpu_series_so_they_are_quarantined(shared, name, points):
    path = shared / FIXTURES / name
    result = read_prometheus_json(path, "p")
    table = result.tables["gpu_samples"]
    assert table.schema == GPU_SAMPLES.schema and table.num_rows == 0
    records = result.rejected["gpu_samples"]
    assert [(r["record"], r["metric"], r["points"], r["origin"]) for r in records] == [
        (1, "up", points, str(path)), (2, "up", points, str(path))]
    assert records[0]["labels"]["job"] == "prometheus" and "UUID" in records[0]["reason"]


def test_the_cli_reports_a_file_that_only_quarantines(shared, tmp_path, capsys):
    path = shared / FIXTURES / "query_range_example_from_docs.json"
    assert main(["import", "prometheus-json", str(path), "--pool", "p", "--batch", "b",
                 "--data-dir", str(tmp_path)]) == 1  # nothing landed
    assert "gpu_samples -: 0 rows, 2 quarantined" in capsys.readouterr().out
    lines = (tmp_path / "quarantine/gpu_samples/prometheus-p@b.jsonl").read_text().splitlines()
    assert [json.loads(line)["labels"]["instance"] for line in lines] == ["localhost:9090", "localhost:9091"]


def test_a_matrix_of_dcgm_series_lands_per_day(tmp_path, capsys):
    payload = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": GPU, "values": [[MIDNIGHT - 60, "35"], [MIDNIGHT, "40.5"], [MIDNIGHT + 60, "NaN"]]},
        {"metric": {k: v for k, v in GPU.items() if k != "UUID"}, "values": [[MIDNIGHT, "1"]]},
        {"metric": {"instance": "node-a:9400"}, "values": [[MIDNIGHT, "2"]]},  # sum(...) without __name__
    ]}}
    path = tmp_path / "util.json"
    path.write_text(json.dumps(payload))
    data = tmp_path / "data"
    assert main(["import", "prometheus-json", str(path), "--pool", "p", "--batch", "b", "--data-dir", str(data),
                 "--max-quarantined-percent", "100"]) == 0
    out = capsys.readouterr().out
    # the NaN point and the two unusable series, all on the first day
    assert "gpu_samples 2026-10-05: 1 rows, 3 quarantined" in out
    assert "gpu_samples 2026-10-06: 1 rows, 0 quarantined" in out
    day1 = pq.read_table(data / "landing/gpu_samples/date=2026-10-05/prometheus-p@b.parquet").to_pylist()
    day2 = pq.read_table(data / "landing/gpu_samples/date=2026-10-06/prometheus-p@b.parquet").to_pylist()
    assert [(r["ts"].timestamp(), r["value"]) for r in day1 + day2] == [(MIDNIGHT - 60, 35.0), (MIDNIGHT, 40.5)]
    row = day2[0]
    assert (row["gpu_uuid"], row["hostname"], row["gpu_index"], row["pod"], row["namespace"]) == (
        GPU["UUID"], "node-a", 0, "train-0", "ml")
    assert (row["metric"], row["source"], row["pool"]) == ("DCGM_FI_DEV_GPU_UTIL", "prometheus", "p")
    rejects = [json.loads(line) for line in
               (data / "quarantine/gpu_samples/date=2026-10-05/prometheus-p@b.jsonl").open()]
    assert [(r["record"], r.get("point"), r["field"]) for r in rejects] == [(1, 2, "values"), (2, None, "metric"),
                                                                             (3, None, "metric")]
    assert "not a finite number: 'NaN'" in rejects[0]["reason"] and "__name__" in rejects[2]["reason"]


def test_a_vector_lands_its_instant(tmp_path):
    payload = {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": GPU, "value": [MIDNIGHT + 3600.5, "12"]}]}}
    path = tmp_path / "now.json"
    path.write_text(json.dumps(payload))
    table = read_prometheus_json(path, "p").tables["gpu_samples"]
    assert table.to_pylist()[0]["ts"] == dt.datetime(2026, 10, 6, 1, 0, 0, 500000, tzinfo=dt.UTC)
    assert table["value"].to_pylist() == [12.0]


@pytest.mark.parametrize(("body", "message"), [
    ({"status": "error", "errorType": "bad_data", "error": "invalid parameter \"query\""},
     "is an error (bad_data): invalid parameter"),
    ({"status": "success", "data": {"resultType": "scalar", "result": [1, "2"]}}, "resultType 'scalar'"),
    ([1, 2], "not a Prometheus API response"),
])
def test_unusable_responses_are_a_clear_error_naming_the_file(tmp_path, capsys, body, message):
    path = tmp_path / "saved.json"
    path.write_text(json.dumps(body))
    assert main(["import", "prometheus-json", str(path), "--pool", "p", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert str(path) in err and message in err
    assert not (tmp_path / "landing").exists()


def test_not_json(tmp_path):
    path = tmp_path / "saved.json"
    path.write_text("<html>502</html>")
    with pytest.raises(ValueError, match="saved.json: not a JSON document"):
        read_prometheus_json(Path(path), "p")
