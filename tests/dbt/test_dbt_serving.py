"""Serving metrics from engine histograms and counters (issue 18 point 3), on a small hand-made landing.

Pool `p1` is the hand-made dataset of dbt_landing_fixture (request logs in stage 0) plus vLLM histograms of the
same three stage-0 requests, split over two data-parallel engines: mart_stage_metrics keeps the request log and
the agreement test compares the two. Pool `p2` has nothing but vLLM /metrics (one pod, two engine indexes,
stage 4 for ten minutes): every serving metric comes from the engines, percentiles from buckets.
"""

from __future__ import annotations

import datetime as dt
import shutil

import dbt_landing_fixture as base_fixture
import numpy as np
import pandas as pd
import pytest
from dbt_gates import artifacts
from dbt_warehouse import DbtWarehouse

from ingestion import landing

SOURCE = "prometheus"
SERVING_POOL = "p2"
SERVING_DAY = dt.date(2024, 3, 3)
WINDOW_MINUTES = 10
# vLLM V1's bucket bounds (vllm/v1/metrics/loggers.py)
TTFT_BOUNDS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
               40.0, 80.0, 160.0, 640.0, 2560.0]
TPOT_BOUNDS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0, 20.0,
               40.0, 80.0]
TTFT = "vllm:time_to_first_token_seconds"
TPOT = "vllm:request_time_per_output_token_seconds"
# generation tokens per minute of engines 0 and 1; engine 0 restarted during minute 5, so the landed increase
# of that minute is what it counted since the restart (ingestion turned the reset into an increase)
GENERATION = {"0": [300.0] * 5 + [120.0] + [300.0] * 4, "1": [200.0] * WINDOW_MINUTES}
DECODE_SECONDS_PER_MINUTE = {"0": 75.0, "1": 45.0}


def _row(pool, minute, metric, value, *, engine_index=None, le=None, kind="increase", pod="vllm-0"):
    return {"minute_ts": minute, "pool": pool, "engine": "vllm", "model": "qwen3-8b", "namespace": "serve",
            "pod": pod, "engine_index": engine_index, "metric": metric, "le": le, "value": float(value),
            "value_kind": kind, "source": SOURCE}


def _histogram(pool, minute, family, bounds, observations, engine_index):
    """A histogram's series for one minute: cumulative bucket increases, _sum and _count."""
    edges = [*bounds, float("inf")]
    rows = [_row(pool, minute, f"{family}_bucket", np.sum(np.asarray(observations) <= le),
                 engine_index=engine_index, le=le) for le in edges]
    rows.append(_row(pool, minute, f"{family}_sum", float(np.sum(observations)), engine_index=engine_index))
    rows.append(_row(pool, minute, f"{family}_count", len(observations), engine_index=engine_index))
    return rows


def serving_observations() -> dict[str, dict[tuple[int, str], np.ndarray]]:
    """Seeded per-request TTFT and time-per-output-token samples of p2, per (minute, engine index)."""
    rng = np.random.default_rng(18)
    keys = [(m, e) for m in range(WINDOW_MINUTES) for e in ("0", "1")]
    return {
        "ttft": {k: rng.lognormal(mean=np.log(0.35), sigma=0.6, size=12) for k in keys},
        "tpot": {k: rng.lognormal(mean=np.log(0.045), sigma=0.3, size=12) for k in keys},
    }


def serving_only_rows() -> list[dict]:
    obs = serving_observations()
    rows = []
    for m in range(WINDOW_MINUTES):
        minute = base_fixture.ts(SERVING_DAY, 0, m)
        for e in ("0", "1"):
            ttft, tpot = obs["ttft"][(m, e)], obs["tpot"][(m, e)]
            rows += _histogram(SERVING_POOL, minute, TTFT, TTFT_BOUNDS, ttft, e)
            rows += _histogram(SERVING_POOL, minute, TPOT, TPOT_BOUNDS, tpot, e)
            # each TTFT is 80 % prefill, 15 % queue and 5 % outside the engine core: prefill efficiency is
            # prefill / (prefill + queue), the two times vLLM observes together when a request finishes
            rows.append(_row(SERVING_POOL, minute, "vllm:request_prefill_time_seconds_sum", 0.8 * ttft.sum(),
                             engine_index=e))
            rows.append(_row(SERVING_POOL, minute, "vllm:request_queue_time_seconds_sum", 0.15 * ttft.sum(),
                             engine_index=e))
            rows.append(_row(SERVING_POOL, minute, "vllm:request_decode_time_seconds_sum",
                             DECODE_SECONDS_PER_MINUTE[e], engine_index=e))
            rows.append(_row(SERVING_POOL, minute, "vllm:generation_tokens_total", GENERATION[e][m], engine_index=e))
            rows.append(_row(SERVING_POOL, minute, "vllm:num_requests_running", 3.0 if e == "0" else 2.0,
                             engine_index=e, kind="mean"))
            rows.append(_row(SERVING_POOL, minute, "vllm:kv_cache_usage_perc", 0.4 if e == "0" else 0.6,
                             engine_index=e, kind="mean"))
    # a saved page's since-start total: cannot be placed in time, never counted
    rows.append(_row(SERVING_POOL, base_fixture.ts(SERVING_DAY, 0, 3), "vllm:generation_tokens_total", 1.0e9,
                     engine_index="0", kind="total"))
    return rows


# p1's stage-0 requests R1-R3 as the engines saw them: TTFT 0.3, 0.5 and 0.9 s; per-request time per output
# token 0.1 s for R1 and R2 (R3 has one output token: no TPOT observation). Engine 0 served R1 and R3.
P1_TTFT = {"0": [0.3, 0.9], "1": [0.5]}
P1_TPOT = {"0": [0.1], "1": [0.1]}


def p1_rows(ttft: dict[str, list[float]] = P1_TTFT) -> list[dict]:
    minute = base_fixture.ts(base_fixture.DAY1, 0, 11)
    rows = []
    for e in ("0", "1"):
        rows += _histogram(base_fixture.POOL, minute, TTFT, TTFT_BOUNDS, ttft[e], e)
        rows += _histogram(base_fixture.POOL, minute, TPOT, TPOT_BOUNDS, P1_TPOT[e], e)
    return rows


def _land(base, pool, day, rows):
    table = base_fixture._table("serving_metrics", rows)
    landed = landing.write_day("serving_metrics", day, table, source=SOURCE, pool=pool, base=base)
    assert landed.quarantined == 0, landed.reasons


def write_all(base) -> None:
    base_fixture.write_all(base)
    calendar = base_fixture.stage_calendar() + [
        {"stage_id": 4, "stage_key": "software", "pool": SERVING_POOL, "start_ts": base_fixture.ts(SERVING_DAY, 0, 0),
         "end_ts": base_fixture.ts(SERVING_DAY, 0, WINDOW_MINUTES), "note": "test"}]
    landing.write_table("stage_calendar", base_fixture._table("stage_calendar", calendar),
                        source=base_fixture.SOURCE, pool=base_fixture.POOL, base=base)
    _land(base, base_fixture.POOL, base_fixture.DAY1, p1_rows())
    _land(base, SERVING_POOL, SERVING_DAY, serving_only_rows())


def histogram_quantile(q: float, bounds: list[float], counts: np.ndarray) -> float:
    """PromQL's histogram_quantile on cumulative bucket counts (the last is +Inf), re-implemented."""
    edges = [*bounds, float("inf")]
    rank = q * counts[-1]
    b = int(np.argmax(counts >= rank))
    if b == len(edges) - 1:
        return edges[-2]
    start, below = (0.0, 0.0) if b == 0 else (edges[b - 1], counts[b - 1])
    return start + (edges[b] - start) * (rank - below) / (counts[b] - below)


def cumulative_counts(bounds: list[float], observations: np.ndarray) -> np.ndarray:
    return np.array([np.sum(observations <= le) for le in [*bounds, float("inf")]], dtype=float)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> DbtWarehouse:
    data_dir = tmp_path_factory.mktemp("gpu_eff_serving")
    write_all(data_dir)
    built = DbtWarehouse(data_dir)
    built.dbt("build")  # the agreement test runs in it: the build fails if p1's two sources disagree
    return built


def _serving_stage(warehouse) -> dict:
    return warehouse.row(f"select * from intermediate.int_serving_stage_metrics where pool = '{SERVING_POOL}'")


@pytest.mark.parametrize(("name", "bounds", "column"), [("ttft", TTFT_BOUNDS, "ttft"), ("tpot", TPOT_BOUNDS, "tbt")])
@pytest.mark.parametrize("q", [0.5, 0.95])
def test_bucket_quantiles_equal_histogram_quantile_and_bound_the_true_value(warehouse, name, bounds, column, q):
    observations = np.concatenate(list(serving_observations()[name].values()))
    counts = cumulative_counts(bounds, observations)
    stage = _serving_stage(warehouse)
    label = "p50" if q == 0.5 else "p95"
    value, bound = stage[f"{column}_{label}_seconds"], stage[f"{column}_{label}_bound_seconds"]

    assert value == pytest.approx(histogram_quantile(q, bounds, counts), rel=1e-12)
    true_value = float(np.percentile(observations, 100 * q))  # linear: percentile_cont of the raw requests
    assert abs(true_value - value) <= bound
    assert bound < max(np.diff(bounds))  # a bucket edge, not an unbounded guess
    if column == "tbt":
        assert stage["tbt_metric"] == "tpot_request_seconds"


def test_stage_metrics_of_a_pool_with_only_serving_metrics(warehouse):
    obs = serving_observations()
    ttft = np.concatenate(list(obs["ttft"].values()))
    stage = warehouse.row(f"select * from marts.mart_stage_metrics where pool = '{SERVING_POOL}'")
    tokens = sum(GENERATION["0"]) + sum(GENERATION["1"])  # the saved page's 1e9 total left out

    assert stage["inference_output_tokens"] == tokens
    assert stage["throughput_tokens_per_sec"] == pytest.approx(tokens / (WINDOW_MINUTES * 60))
    assert stage["ttft_milliseconds"] == pytest.approx(1000 * histogram_quantile(0.5, TTFT_BOUNDS,
                                                                                 cumulative_counts(TTFT_BOUNDS, ttft)))
    assert stage["ttft_milliseconds_bound"] == pytest.approx(1000 * _serving_stage(warehouse)["ttft_p50_bound_seconds"])
    assert stage["tbt_milliseconds_bound"] > 0 and stage["ttft_p95_milliseconds_bound"] > 0
    assert stage["prefill_efficiency_percent"] == pytest.approx(100 * 0.8 / 0.95)
    # decode seconds of both engines over one pod (replica) for ten minutes
    decode = WINDOW_MINUTES * sum(DECODE_SECONDS_PER_MINUTE.values())
    assert stage["decoding_parallelism"] == pytest.approx(decode / (WINDOW_MINUTES * 60))
    assert {stage[f"{m}_basis"] for m in ("throughput", "ttft", "tbt", "prefill_efficiency",
                                          "decoding_parallelism")} == {"serving_metrics"}


def test_day_grain_of_a_one_day_serving_stage_equals_the_stage(warehouse):
    """p2's stage 4 lies within one UTC day: the engines' metrics and the stage metrics at the day grain (the same
    macros over int_stage_day_windows) equal the stage's, from the histograms' percentiles to the series read."""
    for stage_table, day_table in (("intermediate.int_serving_stage_metrics",
                                    "intermediate.int_serving_stage_day_metrics"),
                                   ("marts.mart_stage_metrics", "marts.mart_stage_day_metrics")):
        stage = warehouse.query(f"select * from {stage_table} where pool = '{SERVING_POOL}'")
        day = warehouse.query(f"select * from {day_table} where pool = '{SERVING_POOL}'")
        assert day["date"].astype(str).tolist() == [SERVING_DAY.isoformat()], day_table
        day = day.drop(columns="date")[list(stage.columns)]
        pd.testing.assert_frame_equal(day, stage, check_exact=False, rtol=1e-12)
    spread = warehouse.row("select days, day_min, value from marts.mart_stage_comparison "
                           f"where pool = '{SERVING_POOL}' and metric = 'ttft_milliseconds'")
    assert spread["days"] == 1 and spread["day_min"] == pytest.approx(spread["value"])


def test_engine_indexes_are_summed_per_pod(warehouse):
    minute = warehouse.row(
        f"select engine_indexes, value from intermediate.int_serving_minutes where pool = '{SERVING_POOL}' "
        "and raw_metric = 'vllm:generation_tokens_total' and minute_ts = '2024-03-03 00:05:00'")
    assert minute == {"engine_indexes": 2, "value": 120.0 + 200.0}
    running = warehouse.row(
        f"select running_requests_per_replica, kv_cache_usage_ratio from intermediate.int_serving_stage_metrics "
        f"where pool = '{SERVING_POOL}'")
    # running requests add up over a pod's engines; a ratio gauge is their mean
    assert running == pytest.approx({"running_requests_per_replica": 5.0, "kv_cache_usage_ratio": 0.5})


def test_metric_basis_names_the_series_and_the_bound(warehouse):
    basis = warehouse.query(
        f"select metric, basis, series, bound, note from marts.mart_metric_basis where pool = '{SERVING_POOL}'"
    ).set_index("metric")
    stage = warehouse.row(f"select * from marts.mart_stage_metrics where pool = '{SERVING_POOL}'")

    assert len(basis) == 10
    serving = ["throughput_tokens_per_sec", "ttft_milliseconds", "tbt_milliseconds", "prefill_efficiency_percent",
               "decoding_parallelism"]
    assert set(basis.loc[serving, "basis"]) == {"serving_metrics"}
    assert basis.loc["ttft_milliseconds", "series"] == f"prometheus: {TTFT}_bucket"
    assert basis.loc["tbt_milliseconds", "series"] == f"prometheus: {TPOT}_bucket"
    assert basis.loc["throughput_tokens_per_sec", "series"] == "prometheus: vllm:generation_tokens_total"
    assert basis.loc["prefill_efficiency_percent", "series"] == (
        "prometheus: vllm:request_prefill_time_seconds_sum, prometheus: vllm:request_queue_time_seconds_sum")
    assert basis.loc["ttft_milliseconds", "bound"] == pytest.approx(stage["ttft_milliseconds_bound"])
    assert "within ±bound" in basis.loc["ttft_milliseconds", "note"]
    # p2 has no GPU telemetry: those metrics are missing, not made up
    assert basis.loc["gpu_utilization_percent", "basis"] == "missing"


def test_pool_with_both_sources_takes_the_request_log(warehouse):
    stage = warehouse.row("select * from marts.mart_stage_metrics where pool = 'p1' and stage_id = 0")
    histogram = warehouse.row("select * from intermediate.int_serving_stage_metrics where pool = 'p1'")

    assert (stage["ttft_basis"], stage["tbt_basis"], stage["throughput_basis"]) == ("inference_requests",) * 3
    assert stage["ttft_milliseconds"] == pytest.approx(500.0)  # p50 of 300, 500 and 900 ms: exact
    assert stage["ttft_milliseconds_bound"] is None or np.isnan(stage["ttft_milliseconds_bound"])
    # the same requests from buckets: 0.25 + 0.25 x 1.5 / 2 s, bucket (0.25, 0.5]
    assert histogram["ttft_p50_seconds"] == pytest.approx(0.4375)
    assert abs(0.5 - histogram["ttft_p50_seconds"]) <= histogram["ttft_p50_bound_seconds"]
    basis = warehouse.row("select basis, series from marts.mart_metric_basis where pool = 'p1' and stage_id = 0 "
                          "and metric = 'ttft_milliseconds'")
    assert basis == {"basis": "inference_requests", "series": "inference_requests: first_token_ts - arrival_ts"}


def test_agreement_test_fails_when_the_histograms_disagree(warehouse, tmp_path):
    """The same landing with p1's TTFT observations moved to 2-2.5 s: the build's agreement test must fail."""
    data_dir = tmp_path / "perturbed"
    shutil.copytree(warehouse.data_dir, data_dir)
    perturbed = DbtWarehouse(data_dir)
    _land(data_dir, base_fixture.POOL, base_fixture.DAY1, p1_rows({"0": [2.2, 2.4], "1": [2.3]}))
    perturbed.dbt("run", "--select", "stg_landing__serving_metrics+", "--exclude", "mart_inference")
    with pytest.raises(AssertionError, match="Failure in test assert_serving_histograms_agree_with_requests"):
        perturbed.dbt("test", "--select", "assert_serving_histograms_agree_with_requests")
    failures = artifacts(perturbed).failing_rows("assert_serving_histograms_agree_with_requests", "")
    assert list(failures["metric"]) == ["ttft_milliseconds"]  # TBT histograms were left as they were
    assert failures["failure"][0].startswith("ttft_milliseconds p50 from requests 500.0 ms is not within")
