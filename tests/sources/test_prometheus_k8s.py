"""Serving engines' and kube-state-metrics' families from a real Prometheus 2.x backfilled with one hand-written
day (k8s_history.py): per-minute increases through a counter reset, a scrape gap and a new label value; summed
finished_reason; separate data-parallel engines; gauge means; label drift; GPU pods with their phases and times."""

from __future__ import annotations

import datetime as dt
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

HERE = Path(__file__).resolve().parent
for p in (HERE.parents[1], HERE):  # `ingestion` from the working tree; the helper modules beside this file
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import k8s_history as kh  # noqa: E402
import prometheus_server as ps  # noqa: E402

from ingestion import landing  # noqa: E402
from ingestion.contracts import POD_ALLOCATIONS, SERVING_METRICS  # noqa: E402
from ingestion.sources import prometheus as prom  # noqa: E402
from ingestion.sources import prometheus_k8s as k8s  # noqa: E402

MINUTES = range(kh.DAY_START, kh.DAY_START + 86_400, 60)


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[prom.PrometheusClient]:
    if ps.binaries() is None:
        message = "prometheus/promtool not installed (Debian package `prometheus`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must install it")
        pytest.skip(message)
    work = tmp_path_factory.mktemp("k8s-prometheus")
    om = work / "history.om"
    om.write_text(kh.openmetrics(kh.serving_series() + kh.ksm_series()))
    with ps.serve_openmetrics(om, work) as url:
        yield prom.PrometheusClient(url)


@pytest.fixture(scope="module")
def serving(client) -> tuple[pa.Table, list[dict], k8s.ServingReport]:
    return k8s.fetch_serving_day(client, kh.DAY, "pool-k")


@pytest.fixture(scope="module")
def pods(client) -> tuple[pa.Table, list[dict], prom.FetchReport]:
    return k8s.fetch_pods_day(client, kh.DAY, "pool-k")


def _series(table: pa.Table, **where: object) -> dict[int, float]:
    """minute (unix s) -> value of the rows matching `where` (le compared as floats)."""
    mask = pc.equal(table["pool"], "pool-k")
    for column, value in where.items():
        mask = pc.and_(mask, pc.is_null(table[column]) if value is None else pc.equal(table[column], value))
    rows = table.filter(mask)
    minutes = [int(t.timestamp()) for t in rows["minute_ts"].to_pylist()]
    assert len(set(minutes)) == len(minutes), where
    return dict(zip(minutes, rows["value"].to_pylist(), strict=True))


def test_counter_increases_survive_a_reset_and_a_gap(serving) -> None:
    table, _, _ = serving
    tokens = _series(table, pod="llm-0", metric="vllm:generation_tokens_total")
    gap_rows = range(kh.at(12, 4), kh.at(12, 9), 60)  # steps beyond the 5 min lookback: no row
    assert sorted(tokens) == [m for m in MINUTES if m not in gap_rows]
    special = {kh.at(5, 59): 7.0,  # the restart: the new process counted 7 from 0
               **{m: 0.0 for m in range(kh.at(11, 59), kh.at(12, 4), 60)},  # the lookback repeats 11:59's value
               kh.at(12, 9): 110.0}  # the first sample after the gap covers it: 11 minutes
    assert tokens == {m: special.get(m, 10.0) for m in tokens}
    day_total = (kh.generation_tokens(kh.RESTART - 60) - kh.generation_tokens(kh.DAY_START) + 7
                 + kh.generation_tokens(kh.DAY_START + 86_400) - kh.generation_tokens(kh.RESTART))
    assert sum(tokens.values()) == day_total
    rows = table.filter(pc.equal(table["metric"], "vllm:generation_tokens_total"))
    assert set(zip(rows["engine"].to_pylist(), rows["model"].to_pylist(), rows["namespace"].to_pylist(),
                   rows["engine_index"].to_pylist(), rows["value_kind"].to_pylist(), rows["source"].to_pylist(),
                   strict=True)) == {("vllm", "m1", "serving", "0", "increase", "prometheus")}
    assert rows["le"].null_count == rows.num_rows


def test_finished_reasons_are_summed_and_a_new_reason_starts_from_zero(serving) -> None:
    table, _, _ = serving
    success = _series(table, pod="llm-0", metric="vllm:request_success_total")
    # stop 2 + length 1 a minute; abort's first sample (1, at 08:00) is the increase of minute 07:59
    assert success == {m: 3.0 if m < kh.ABORT_FROM - 60 else 4.0 for m in MINUTES}


def test_histogram_engines_stay_separate_with_their_buckets(serving) -> None:
    table, _, _ = serving
    for engine, per_minute in kh.TTFT_PER_MINUTE.items():
        for le in kh.TTFT_BOUNDS:
            bucket = _series(table, pod="llm-1", engine_index=engine,
                             metric="vllm:time_to_first_token_seconds_bucket", le=float(le))
            assert bucket == {m: per_minute[le] for m in MINUTES}, (engine, le)
        for part in ("count", "sum"):
            rows = _series(table, pod="llm-1", engine_index=engine, metric=f"vllm:time_to_first_token_seconds_{part}",
                           le=None)
            assert rows == {m: per_minute[part] for m in MINUTES}, (engine, part)
    buckets = table.filter(pc.equal(table["metric"], "vllm:time_to_first_token_seconds_bucket"))
    assert sorted(set(buckets["le"].to_pylist())) == [0.1, 1.0, math.inf]
    assert set(buckets["namespace"].to_pylist()) == {"serving"}  # from kubernetes_namespace


def test_gauges_are_the_minute_mean_and_label_drift_finds_the_pod(serving) -> None:
    table, _, _ = serving
    assert _series(table, pod="llm-0", metric="vllm:num_requests_running") == {m: kh.running(m) for m in MINUTES}
    routed = table.filter(pc.equal(table["pod"], "llm-2"))
    assert _series(table, pod="llm-2", metric="vllm:num_requests_running") == {m: 2.5 for m in MINUTES}
    assert set(routed["namespace"].to_pylist()) == {"serving"} and set(routed["model"].to_pylist()) == {"m2"}
    assert set(table.filter(pc.equal(table["metric"], "vllm:num_requests_running"))["value_kind"].to_pylist()) \
        == {"mean"}


def test_unused_families_and_buckets_are_skipped_and_podless_series_quarantined(serving) -> None:
    table, quarantine, report = serving
    assert set(table["metric"].to_pylist()) == set(report.metrics) == {
        "vllm:generation_tokens_total", "vllm:request_success_total", "vllm:num_requests_running",
        "vllm:time_to_first_token_seconds_bucket", "vllm:time_to_first_token_seconds_count",
        "vllm:time_to_first_token_seconds_sum", "vllm:request_queue_time_seconds_count",
        "vllm:request_queue_time_seconds_sum"}
    # context only, and the buckets of a histogram no percentile is computed from; `_created` is never read
    assert report.skipped == ["vllm:num_requests_swapped", "vllm:request_queue_time_seconds_bucket"]
    assert _series(table, pod="llm-0", metric="vllm:request_queue_time_seconds_sum") == \
        {m: 0.25 for m in MINUTES}
    assert [(q["metric"], q["labels"]["job"], q["points"]) for q in quarantine] == \
        [("vllm:num_requests_running", "vllm-static", 1440)]
    assert report.quarantined_series == 1 and report.rows == table.num_rows


def test_absent_families_give_no_rows_and_no_error(client) -> None:
    table, quarantine, report = k8s.fetch_serving_day(client, kh.DAY, "pool-k", selector='{namespace="nowhere"}')
    assert table.num_rows == 0 and quarantine == [] and report.metrics == ()
    table, quarantine, _ = k8s.fetch_pods_day(client, kh.DAY, "pool-k", selector='{job="nowhere"}')
    assert table.num_rows == 0 and quarantine == []
    table, _, _ = k8s.fetch_pods_day(client, kh.DAY + dt.timedelta(days=5), "pool-k")
    assert table.num_rows == 0


def test_a_selector_must_be_matchers_in_braces(client) -> None:
    with pytest.raises(ValueError, match="label matchers in braces"):
        k8s.fetch_serving_day(client, kh.DAY, "pool-k", selector='namespace="llm"')


def _utc(seconds: int | None) -> dt.datetime | None:
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, dt.UTC)


def test_gpu_pods_with_phases_times_and_labels(pods) -> None:
    table, quarantine, report = pods
    assert table.schema == POD_ALLOCATIONS.schema and quarantine == [] and report.rows == table.num_rows
    rows = {r["uid"]: r for r in table.to_pylist()}
    # no CPU pod, no pod gone before the day, none born after it
    assert sorted(rows) == ["old/legacy-g", "u-a", "u-b", "u-c", "u-f", "u-m"]
    wanted = ("pod", "namespace", "node", "gpu_resource", "gpu_request", "gpu_limit", "gpu_cores_request",
              "gpu_mem_request_mib", "phase", "created_ts", "start_ts", "end_ts", "tenant", "queue", "workload_type",
              "owner_kind", "observed_ts")
    expected = {
        "u-a": ("train-a", "team-a", "node-1", "nvidia.com/gpu", 1.0, 1.0, None, None, "Succeeded", kh.at(1),
                kh.at(1, 10), kh.at(3), "team-a", "team-a-queue", "training", "Job", kh.at(3, 30)),
        # deleted while running: its last observation + one step
        "u-b": ("infer-b", "serving", "node-2", "nvidia.com/mig-3g.40gb", 1.0, 1.0, None, None, "Running",
                kh.at(22, 0, -1), kh.at(22, 5, -1), kh.at(10, 1), "serving", None, None, "ReplicaSet", kh.at(10)),
        # scraped without honor_labels: exported_*; HAMi cores and memory
        "u-c": ("notebook-c", "dev", "node-3", "nvidia.com/gpu", 1.0, 1.0, 30.0, 10240.0, "Running",
                kh.at(22, 30, -1), kh.at(22, 31, -1), None, "dev", None, "development", "StatefulSet", kh.at(23, 59)),
        # deleted at midnight: seen to vanish on the day (the query looks one step past it), row on the day
        "u-m": ("cut-m", "team-a", "node-1", "nvidia.com/gpu", 1.0, 1.0, None, None, "Running", kh.at(20, 0, -1),
                kh.at(20, 1, -1), kh.at(0, 0, 1), "team-a", None, None, None, kh.at(23, 59)),
        # deleted while pending
        "u-f": ("queued-f", "team-a", None, "nvidia.com/gpu", 8.0, 8.0, None, None, "Pending", kh.at(5), None,
                kh.at(5, 31), "team-a", "team-a-queue", None, None, kh.at(5, 30)),
        # KSM v1: no uid, the GPU request in kube_pod_container_resource_requests_nvidia_gpu_devices
        "old/legacy-g": ("legacy-g", "old", "node-9", "nvidia.com/gpu", 4.0, None, None, None, "Running",
                         kh.at(20, 0, -1), None, None, "old", None, None, None, kh.at(23, 59)),
    }
    times = ("created_ts", "start_ts", "end_ts", "observed_ts")
    for uid, values in expected.items():
        want = {k: _utc(v) if k in times else v for k, v in zip(wanted, values, strict=True)}
        assert {k: rows[uid][k] for k in wanted} == want, uid
    assert rows["u-a"]["labels"] == ('{"label_app": "llama", "label_gpu_efficiency_workload_type": "training", '
                                     '"label_kueue_x_k8s_io_queue_name": "team-a-queue"}')
    assert rows["u-b"]["labels"] == '{"label_gpu_efficiency_workload_type": "batch"}'  # not a workload type: null
    assert rows["old/legacy-g"]["labels"] is None
    assert {r["pool"] for r in rows.values()} == {"pool-k"} and {r["source"] for r in rows.values()} == {"prometheus"}


def test_both_days_land(serving, pods, tmp_path) -> None:
    for name, (table, quarantine, _) in (("serving_metrics", serving), ("pod_allocations", pods)):
        landed = landing.write_day(name, kh.DAY, table, source="prometheus", pool="pool-k", rejected=quarantine,
                                   base=tmp_path)
        assert (landed.rows, landed.quarantined) == (table.num_rows, len(quarantine)), name
    assert SERVING_METRICS.schema == serving[0].schema


def test_a_decrease_within_float_rounding_is_no_reset() -> None:
    ts = np.array([0.0, 60.0, 120.0, 180.0])
    values = np.array([42508.15, 42508.63, 42508.63 - 5e-11, 3.0])  # rounding noise, then a real reset
    minutes, increases = k8s.counter_increases(ts, values, first_step=0.0, step_s=60.0)
    assert minutes.tolist() == [0.0, 60.0, 120.0]
    assert increases == pytest.approx([0.48, 0.0, 3.0])
