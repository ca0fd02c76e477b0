"""`gpu-eff import serving-text`: saved /metrics pages of serving engines and kube-state-metrics (real samples in
../shared/fixtures/serving/samples, excerpts of public pastes that are often cut short)."""

from __future__ import annotations

import datetime as dt
import math

import pyarrow.parquet as pq
import pytest

from ingestion.cli import main
from ingestion.importers.serving_text import read_serving_text

SAMPLES = "fixtures/serving/samples"
SCRAPE = "2026-11-30T08:00:30Z"
MINUTE = dt.datetime(2026, 11, 30, 8, 0, tzinfo=dt.UTC)


def read(shared, name, **options):
    return read_serving_text(shared / SAMPLES / name, "infer-a", scrape_ts=SCRAPE, **options)


def rows(result) -> list[dict]:
    return result.tables["serving_metrics"].to_pylist()


def row(result, metric, **where) -> dict:
    [found] = [r for r in rows(result) if r["metric"] == metric and all(r[k] == v for k, v in where.items())]
    return found


def test_every_sample_imports_without_an_error(shared):
    samples = sorted((shared / SAMPLES).glob("*.prom"))
    assert len(samples) == 19
    for sample in samples:
        result = read_serving_text(sample, "infer-a", scrape_ts=SCRAPE, namespace="llm", pod="replica-0")
        reasons = [r["reason"] for records in result.rejected.values() for r in records]
        assert all(reason.startswith("incomplete histogram: ") for reason in reasons), (sample.name, reasons)
        table = result.tables["serving_metrics"]
        assert not any(m.endswith("_created") for m in table["metric"].to_pylist()), sample.name
        assert set(table["minute_ts"].to_pylist()) <= {MINUTE} and set(table["source"].to_pylist()) <= {"serving-text"}


def test_vllm_and_tgi_families_land_with_engine_model_pod_and_value(shared):
    result = read(shared, "vllm-tgis-adapter_ibm-vllm-pr18_bloom-560m.prom", namespace="llm", pod="replica-0")
    tokens = row(result, "vllm:generation_tokens_total")
    assert tokens == {"minute_ts": MINUTE, "pool": "infer-a", "engine": "vllm", "model": "bigscience/bloom-560m",
                      "namespace": "llm", "pod": "replica-0", "engine_index": None,
                      "metric": "vllm:generation_tokens_total", "le": None, "value": 218152.0, "value_kind": "total",
                      "source": "serving-text"}
    assert row(result, "vllm:prompt_tokens_total")["value"] == 1196.0
    queue = row(result, "tgi_queue_size")  # IBM's TGIS-compatible names, no model label
    assert (queue["engine"], queue["model"], queue["value"], queue["value_kind"]) == ("tgi", None, 0.0, "mean")
    # the TTFT histogram is cut after le=0.08 (112 at le=0.02): reported, not landed
    assert not any(r["metric"].startswith("vllm:time_to_first_token_seconds") for r in rows(result))
    assert result.report.incomplete == ['vllm:time_to_first_token_seconds{model_name="bigscience/bloom-560m"} '
                                        '(no +Inf bucket, no _sum, no _count; none of its rows landed)']
    assert result.report.skipped == {"tgi_batch_inference_duration": 13, "vllm:cpu_cache_usage_perc": 1}


def test_the_data_parallel_sample_keeps_both_engines_of_one_family(shared):
    result = read(shared, "vllm-v1_0.10.1dev_pr22227_dp2_qwen3-8b.prom", namespace="llm", pod="qwen3-0")
    itl = {r["engine_index"]: r["value"] for r in rows(result) if r["metric"] == "vllm:inter_token_latency_seconds_sum"}
    assert itl == {"0": 13.223765562288463, "1": 3.8492672259453684}
    assert sum(itl.values()) == pytest.approx(17.07303278823383)  # the pod's value, as dbt sums it
    # the deprecated name, exposed beside the new one in this scrape: its _count is exact, its buckets lack _sum
    assert row(result, "vllm:time_per_output_token_seconds_count", engine_index="1")["value"] == 243.0
    assert not any(r["le"] is not None for r in rows(result))  # every bucket set here is cut: none lands
    incomplete = "\n".join(result.report.incomplete)
    for group in ('vllm:request_queue_time_seconds{engine="0"', 'vllm:request_prefill_time_seconds{engine="1"',
                  'vllm:request_decode_time_seconds{engine="1"', 'vllm:inter_token_latency_seconds{engine="0"'):
        assert group in incomplete
    records = result.rejected["serving_metrics"]
    assert [r["record"] for r in records] == [14, 23, 24, 27, 40, 53]
    assert records[0]["reason"].startswith("incomplete histogram: vllm:time_per_output_token_seconds{engine=\"1\"")
    assert result.report.skipped == {"vllm:request_params_max_tokens": 13}


def test_vllm_0_10_created_series_never_land_and_renamed_counters_keep_their_name(shared):
    result = read(shared, "vllm-v1_0.10.0_prodstack-issue617_glm45.prom", pod="glm-0")
    assert result.report.created == 4
    assert {r["metric"]: r["value"] for r in rows(result)} == {
        "vllm:gpu_prefix_cache_hits_total": 0.0, "vllm:kv_cache_usage_perc": 9.75010481363281e-06,
        "vllm:prefix_cache_queries_total": 32.0}
    assert {(r["engine_index"], r["model"]) for r in rows(result)} == {("0", "zai-org/GLM-4.5")}
    assert row(result, "vllm:kv_cache_usage_perc")["value_kind"] == "mean"
    assert result.report.skipped == {"vllm:request_params_n": 8}


def test_sglang_name_label_gives_the_model_and_the_smg_spelling_is_known(shared):
    old = read(shared, "sglang_0.3.x_pr1853_llama3.2-3b_name-label.prom", pod="sgl-0")
    prompt = row(old, "sglang:prompt_tokens_total")
    assert (prompt["engine"], prompt["value"]) == ("sglang", 230794.0)
    assert prompt["model"] == ("/shared/public/elr-models/meta-llama/Llama-3.2-3B/"
                               "5cc0ffe09ee49f7be6ca7c794ee6bd7245e84e60/")
    assert old.report.skipped == {"sglang:context_len": 1, "sglang:max_prefill_tokens": 1,
                                  "sglang:max_running_requests": 1, "sglang:max_total_num_tokens": 1}
    assert "sglang:time_to_first_token_seconds{name=" in old.report.incomplete[0]

    gauges = read(shared, "sglang_0.4.4-era_pr4444_llama3-8b.prom", pod="sgl-1")
    assert {(r["metric"], r["value_kind"], r["model"]) for r in rows(gauges)} == {
        ("sglang:num_running_reqs", "mean", "/shared/public/models/Meta-Llama-3-8B-Instruct"),
        ("sglang:token_usage", "mean", "/shared/public/models/Meta-Llama-3-8B-Instruct")}

    smg = read(shared, "sglang-reexported-by-smg-sidecar_smg-pr813_llama3.1-8b.prom")
    assert rows(smg) == [] and smg.rejected["serving_metrics"] == []
    assert smg.report.skipped == {"sglang_cache_hit_rate": 1, "sglang_cuda_graph_passes_total": 1,
                                  "sglang_num_prefill_prealloc_queue_reqs": 1,
                                  "sglang_per_stage_req_latency_seconds": 5, "sglang_realtime_tokens_total": 1}


def test_triton_counts_per_model_and_the_empty_families_page_imports_cleanly(shared):
    simple = read(shared, "triton_2021-11_pr3569_simple-models.prom", pod="triton-0")
    assert {r["model"]: r["value"] for r in rows(simple)} == {
        "simple": 20.0, "simple_identity": 40.0, "simple_int8": 10.0, "simple_sequence": 0.0, "simple_string": 10.0}
    assert {r["engine"] for r in rows(simple)} == {"triton"}
    assert simple.report.skipped == {"nv_inference_count": 3, "nv_inference_request_failure": 5}

    empty = read(shared, "triton_20.03_issue2755_empty-families.prom")
    assert rows(empty) == [] and empty.rejected == {"serving_metrics": []}
    assert empty.report.skipped == {"nv_gpu_utilization": 1} and empty.report.incomplete == []

    dynamo = read(shared, "dynamo-frontend_2026-04_kthena-issue913_ds-r1-distill-1.5b.prom")
    assert rows(dynamo) == [] and sum(dynamo.report.skipped.values()) == 5


def test_a_kube_state_metrics_page_gives_its_gpu_pod(shared):
    result = read(shared, "ksm_v2.x_golden_server_test_full_pod_scrape.prom")
    [pod] = result.tables["pod_allocations"].to_pylist()
    assert (pod["uid"], pod["namespace"], pod["pod"], pod["node"], pod["phase"]) == (
        "abc-0", "default", "pod0", "node1", "Running")
    assert (pod["gpu_resource"], pod["gpu_request"], pod["gpu_limit"]) == ("nvidia.com/gpu", 1.0, 1.0)
    assert pod["created_ts"] == dt.datetime(2017, 7, 14, 2, 40, tzinfo=dt.UTC)  # kube_pod_created 1.5e+09
    assert pod["observed_ts"] == dt.datetime(2026, 11, 30, 8, 0, 30, tzinfo=dt.UTC)
    assert pod["source"] == "serving-text" and result.report.created == 0
    assert result.report.skipped["kube_pod_container_status_ready"] == 2


# A whole page written here: no public paste has a whole vLLM V1 histogram (SOURCES.md, "Not found").
WHOLE_PAGE = """\
# TYPE vllm:time_to_first_token_seconds histogram
vllm:time_to_first_token_seconds_sum{engine="0",model_name="m"} 1.5
vllm:time_to_first_token_seconds_bucket{engine="0",le="0.1",model_name="m"} 2.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="1.0",model_name="m"} 5.0
vllm:time_to_first_token_seconds_bucket{engine="0",le="+Inf",model_name="m"} 6.0
vllm:time_to_first_token_seconds_count{engine="0",model_name="m"} 6.0
vllm:time_to_first_token_seconds_created{engine="0",model_name="m"} 1.7e+09
vllm:time_to_first_token_seconds_sum{engine="1",model_name="m"} 0.5
vllm:time_to_first_token_seconds_bucket{engine="1",le="0.1",model_name="m"} 3.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="1.0",model_name="m"} 2.0
vllm:time_to_first_token_seconds_bucket{engine="1",le="+Inf",model_name="m"} 3.0
vllm:time_to_first_token_seconds_count{engine="1",model_name="m"} 3.0
# TYPE vllm:request_success_total counter
vllm:request_success_total{engine="0",finished_reason="stop",model_name="m",pod="vllm-7",namespace="llm"} 4.0
vllm:request_success_total{engine="0",finished_reason="length",model_name="m",pod="vllm-7",namespace="llm"} 2.0
vllm:generation_tokens_total{engine="0",model_name="m"} NaN
vllm:request_params_n_sum{engine="0",model_name="m"} NaN
vllm:num_requests_running{engine="0",model_name="m" 3
gpu_eff_training_tokens_total{namespace="team-a",pod="train-1"} 1.2e+06
"""


def test_a_whole_histogram_lands_and_bad_lines_are_quarantined_by_line_and_field(tmp_path):
    page = tmp_path / "vllm.txt"
    page.write_bytes(WHOLE_PAGE.encode() + b"vllm:num_requests_waiting{model_name=\"\xff\"} 1\n")
    result = read_serving_text(page, "infer-a", scrape_ts=SCRAPE, namespace="ns", pod="vllm-0")
    buckets = {r["le"]: r["value"] for r in rows(result) if r["metric"] == "vllm:time_to_first_token_seconds_bucket"}
    assert buckets == {0.1: 2.0, 1.0: 5.0, math.inf: 6.0}  # engine 1's buckets decrease: not landed
    assert {r["engine_index"] for r in rows(result) if r["metric"].endswith("_bucket")} == {"0"}
    assert row(result, "vllm:time_to_first_token_seconds_sum", engine_index="0")["value"] == 1.5
    assert row(result, "vllm:time_to_first_token_seconds_count", engine_index="1")["value"] == 3.0
    assert 'vllm:time_to_first_token_seconds{engine="1",model_name="m"} (buckets not cumulative; landed only _sum ' \
           'and _count)' in result.report.incomplete
    success = row(result, "vllm:request_success_total")  # finished_reason summed; labels win over --pod
    assert (success["value"], success["pod"], success["namespace"]) == (6.0, "vllm-7", "llm")
    trainer = row(result, "gpu_eff_training_tokens_total")
    assert (trainer["engine"], trainer["pod"], trainer["value"]) == ("trainer", "train-1", 1.2e6)
    records = {r["record"]: (r["field"], r["reason"]) for r in result.rejected["serving_metrics"]}
    assert sorted(records) == [8, 16, 18, 20]
    assert records[16] == ("value", "field 'value': not a finite number: nan")
    assert records[18][0] == "labels" and records[20][0] == "line"  # unclosed label set; not UTF-8
    assert records[8][1].startswith("incomplete histogram: vllm:time_to_first_token_seconds{engine=\"1\"")
    assert result.report.skipped == {"vllm:request_params_n": 1}  # its NaN is not quarantined: a skipped family
    assert result.report.created == 1


def test_openmetrics_timestamps_are_seconds_and_exemplars_are_read_past(tmp_path):
    page = tmp_path / "om.txt"
    page.write_text('# TYPE vllm:generation_tokens counter\n'
                    'vllm:generation_tokens_total{model_name="m",pod="p"} 42 1764489690.5 # {trace_id="a"} 1.0\n'
                    'vllm:generation_tokens_created{model_name="m",pod="p"} 1764480000\n'
                    '# EOF\n')
    result = read_serving_text(page, "infer-a", scrape_ts=SCRAPE)
    [landed] = rows(result)
    assert landed["value"] == 42.0 and landed["minute_ts"] == dt.datetime(2025, 11, 30, 8, 1, tzinfo=dt.UTC)
    assert result.report.created == 1


def test_garbage_is_quarantined_without_a_traceback(tmp_path):
    page = tmp_path / "garbage.txt"
    page.write_bytes(b"\x00\x01{}}}\n" + b"a" * 70_000 + b"\nvllm:num_requests_running 1 99999999999999999999\n"
                     + b"\xef\xbb\xbf# BOM in the middle\n" + b"vllm:num_requests_running{le=\"x\"} 1e999\n")
    result = read_serving_text(page, "infer-a", scrape_ts=SCRAPE)
    assert rows(result) == []
    assert [(r["record"], r["field"]) for r in result.rejected["serving_metrics"]] == [
        (1, "metric"), (2, "line"), (3, "timestamp"), (4, "metric"), (5, "value")]
    with pytest.raises(ValueError, match="garbage.txt: scrape time"):
        read_serving_text(page, "infer-a", scrape_ts="yesterday")


def test_the_cli_lands_a_page_and_reports_what_it_skipped(shared, tmp_path, capsys):
    page = shared / SAMPLES / "vllm-tgis-adapter_ibm-vllm-pr18_bloom-560m.prom"
    args = ["import", "serving-text", str(page), "--pool", "infer-a", "--scrape-ts", SCRAPE, "--namespace", "llm",
            "--pod", "bloom-0", "--batch", "page-1", "--max-quarantined-percent", "50", "--data-dir", str(tmp_path)]
    assert main(args) == 0
    assert main(args) == 0  # a re-import replaces what the page landed
    landed = list((tmp_path / "landing/serving_metrics").rglob("*.parquet"))
    assert [p.name for p in landed] == ["serving-text-infer-a@page-1.parquet"]
    table = pq.read_table(landed[0])
    assert table.num_rows == 4 and set(table["pod"].to_pylist()) == {"bloom-0"}
    out = capsys.readouterr().out
    assert "skipped 14 samples of 2 families the product does not use: tgi_batch_inference_duration (13)" in out
    assert "serving_metrics 2026-11-30: 4 rows, 1 quarantined" in out
