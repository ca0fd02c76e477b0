"""Inference request logs (JSONL) and the Azure LLM inference trace 2023 (real files in ../shared)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pyarrow.parquet as pq

from ingestion.importers import land
from ingestion.importers.azure_llm_trace import read_azure_llm_trace
from ingestion.importers.requests import read_requests

UTC = dt.UTC
OK = {"request_id": "r1", "service": "chat", "replica": "chat-0", "gpu_uuid": "GPU-a",
      "arrival_ts": "2024-03-01T23:59:59.500+00:00", "scheduled_ts": "2024-03-02T00:00:00Z",
      "first_token_ts": 1709337600.25, "end_ts": "2024-03-02T08:00:02+08:00",
      "prompt_tokens": 512, "cached_prompt_tokens": 256, "output_tokens": 40, "status": "ok"}
LINES = [
    json.dumps(OK),
    json.dumps({**OK, "request_id": "r2", "arrival_ts": "2024-03-02T00:00:01Z", "end_ts": "2024-03-02T00:00:03Z",
                "scheduled_ts": None, "first_token_ts": None, "status": "timeout"}),
    "not json",  # line 3
    json.dumps({**OK, "request_id": "r4", "end_ts": None}),  # line 4: end_ts missing
    json.dumps({**OK, "request_id": "r5", "output_tokens": -3}),  # line 5
    json.dumps({**OK, "request_id": "r6", "status": "weird"}),  # line 6
    json.dumps({**OK, "request_id": "r7", "end_ts": "2024-03-01T00:00:00Z"}),  # line 7: ends before arrival
]


def test_request_log(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    path.write_text("\n".join(LINES) + "\n")
    result = read_requests(path, pool="serve")
    rows = {r["request_id"]: r for r in result.tables["inference_requests"].to_pylist()}
    assert sorted(rows) == ["r1", "r2"]
    r1 = rows["r1"]
    assert r1["arrival_ts"] == dt.datetime(2024, 3, 1, 23, 59, 59, 500000, tzinfo=UTC)
    assert r1["first_token_ts"] == dt.datetime(2024, 3, 2, 0, 0, 0, 250000, tzinfo=UTC)
    assert r1["end_ts"] == dt.datetime(2024, 3, 2, 0, 0, 2, tzinfo=UTC)
    assert (r1["prompt_tokens"], r1["cached_prompt_tokens"], r1["output_tokens"]) == (512, 256, 40)
    assert (rows["r2"]["status"], rows["r2"]["scheduled_ts"]) == ("timeout", None)
    bad = {r["record"]: r["reason"] for r in result.rejected["inference_requests"]}
    assert sorted(bad) == [3, 4, 5, 6, 7]
    assert "bad JSON" in bad[3] and "'end_ts'" in bad[4] and "'output_tokens'" in bad[5]
    assert "'status'" in bad[6] and "'end_ts'" in bad[7] and "before arrival_ts" in bad[7]

    base = tmp_path / "data"
    landed = land(result, "reqlog", base=base)
    assert {(str(f.day), f.rows, f.quarantined) for f in landed} == {("2024-03-01", 1, 5), ("2024-03-02", 1, 0)}
    first = {p: p.read_bytes() for p in base.rglob("*") if p.is_file()}
    land(read_requests(path, pool="serve"), "reqlog", base=base)
    assert {p: p.read_bytes() for p in base.rglob("*") if p.is_file()} == first


def test_azure_trace_arrivals(shared: Path, tmp_path: Path) -> None:
    path = shared / "fixtures/traces/azure-llm-inference-2023/AzureLLMInferenceTrace_code.csv"
    result = read_azure_llm_trace(path, pool="azure")
    table = result.tables["inference_requests"]
    assert table.num_rows == 8819 and result.rejected["inference_requests"] == []
    first = table.slice(0, 1).to_pylist()[0]
    assert first["request_id"] == "AzureLLMInferenceTrace_code/2"
    assert first["service"] == "azure-llm-code"
    assert first["arrival_ts"] == dt.datetime(2023, 11, 16, 18, 17, 3, 979960, tzinfo=UTC)
    assert (first["prompt_tokens"], first["output_tokens"], first["status"]) == (4808, 10, "ok")
    assert (first["end_ts"], first["first_token_ts"], first["latency_observed"]) == (None, None, False)
    assert table["end_ts"].null_count == table.num_rows

    # end_ts may be null in the contract: the arrivals land, and only the unparsable line is quarantined.
    small = tmp_path / "AzureLLMInferenceTrace_conv.csv"
    small.write_text("\n".join((path.parent / small.name).read_text().splitlines()[:4] + ["bad,1,2"]) + "\n")
    base = tmp_path / "data"
    result = read_azure_llm_trace(small, pool="azure")
    assert [r["record"] for r in result.rejected["inference_requests"]] == [5]
    landed = land(result, "azure-llm", base=base, batch="b")
    assert [(str(f.day), f.rows, f.quarantined) for f in landed] == [("2023-11-16", 3, 1)]
    rows = pq.read_table(landed[0].path)
    assert rows["end_ts"].null_count == 3 and rows["latency_observed"].to_pylist() == [False] * 3
    quarantine = (base / "quarantine/inference_requests/date=2023-11-16/azure-llm-azure@b.jsonl").read_text()
    [reason] = [json.loads(line)["reason"] for line in quarantine.splitlines()]
    assert "'TIMESTAMP'" in reason
