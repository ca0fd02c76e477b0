"""Acceptance on the demo scenario (64 GPUs, 21 days): the marts are complete, agree with plain SQL over the
landing Parquet, and tell the stage story that the simulated mechanisms cause."""

from __future__ import annotations

import duckdb
import pytest
from pipeline_run import WITHOUT_PREVIEW, mart, run_pipeline

from ingestion.simulator.run import check_invariants, simulation_for

pytestmark = pytest.mark.slow

TEN_METRICS = [
    "throughput_tokens_per_sec", "ttft_milliseconds", "tbt_milliseconds", "prefill_efficiency_percent",
    "decoding_parallelism", "gpu_utilization_percent", "memory_overhead_gb", "cluster_throughput_per_watt",
    "throughput_per_watt", "throughput_per_dollar",
]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("demo")
    assert run_pipeline("demo", data_dir, without=WITHOUT_PREVIEW).success
    return data_dir


@pytest.fixture(scope="module")
def metrics(demo):
    return mart(demo, "mart_stage_metrics", "stage_id").set_index("stage_id")


def test_seven_stages_with_all_ten_metrics(metrics):
    assert list(metrics.index) == list(range(7))
    assert set(metrics.pool) == {"demo"}
    assert metrics[TEN_METRICS].notna().all().all(), metrics[TEN_METRICS].isna().sum()


def test_simulation_invariants_hold_on_the_demo(demo):
    assert check_invariants(simulation_for("demo")) == []


def _plain(demo, sql: str) -> dict[int, float]:
    landing = demo / "landing"
    with duckdb.connect() as con:
        for view, dataset in (("samples", "gpu_samples"), ("requests", "inference_requests"), ("jobs", "jobs")):
            con.execute(f"create view {view} as select * from "
                        f"read_parquet('{landing}/{dataset}/*/*.parquet', hive_partitioning=true)")
        con.execute(f"create view calendar as select * from read_parquet('{landing}/stage_calendar/*.parquet')")
        return dict(con.execute(sql).fetchall())


def test_utilisation_agrees_with_plain_sql(demo, metrics):
    plain = _plain(demo, """
        with activity as (  -- GR_ENGINE_ACTIVE per GPU-minute; a MIG GPU is the slice-weighted sum of instances
            select gpu_uuid, ts,
                   sum(value * coalesce(cast(split_part(mig_profile, 'g.', 1) as double) / 7, 1)) * 100 as pct
            from samples where metric = 'DCGM_FI_PROF_GR_ENGINE_ACTIVE' group by gpu_uuid, ts)
        select stage_id, avg(pct) from activity join calendar on ts >= start_ts and ts < end_ts group by stage_id""")
    for stage, value in plain.items():
        assert metrics.loc[stage, "gpu_utilization_percent"] == pytest.approx(value, rel=0.005), stage


def test_ttft_and_throughput_agree_with_plain_sql(demo, metrics):
    ttft = _plain(demo, """
        select stage_id, quantile_cont(epoch_ms(r.first_token_ts) - epoch_ms(r.arrival_ts), 0.5)
        from requests r join calendar c on r.arrival_ts >= c.start_ts and r.arrival_ts < c.end_ts
        where r.status = 'ok' group by stage_id""")
    throughput = _plain(demo, """
        select stage_id, sum(r.output_tokens) / max(epoch(c.end_ts) - epoch(c.start_ts))
        from requests r join calendar c on r.arrival_ts >= c.start_ts and r.arrival_ts < c.end_ts
        where r.status = 'ok' group by stage_id""")
    for stage in range(7):
        assert metrics.loc[stage, "ttft_milliseconds"] == pytest.approx(ttft[stage], rel=0.01), stage
        assert metrics.loc[stage, "throughput_tokens_per_sec"] == pytest.approx(throughput[stage], rel=0.001), stage


def test_tokens_per_joule_agrees_with_plain_sql(demo, metrics):
    plain = _plain(demo, """
        with energy as (  -- counter delta over the window, one reading per GPU and minute (J)
            select stage_id, (max(value) - min(value)) / 1000 as joules
            from (select distinct gpu_uuid, ts, value from samples
                  where metric = 'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION') e
            join calendar on ts >= start_ts and ts <= end_ts
            group by stage_id, gpu_uuid),
        inference as (
            select stage_id, sum(r.output_tokens) as tokens from requests r
            join calendar c on r.arrival_ts >= c.start_ts and r.arrival_ts < c.end_ts
            where r.status = 'ok' group by stage_id),
        training as (  -- a job's tokens, pro rata to its running time inside each stage window
            select stage_id, sum(tokens_processed
                   * greatest(0, epoch(least(coalesce(j.end_ts, c.end_ts), c.end_ts))
                                 - epoch(greatest(j.start_ts, c.start_ts)))
                   / nullif(epoch(coalesce(j.end_ts, (select max(end_ts) from calendar))) - epoch(j.start_ts), 0)
                   ) as tokens
            from jobs j cross join calendar c
            where workload_type = 'training' and j.start_ts is not null group by stage_id)
        select e.stage_id, (i.tokens + t.tokens) / sum(e.joules)
        from energy e join inference i using (stage_id) join training t using (stage_id)
        group by e.stage_id, i.tokens, t.tokens""")
    for stage, value in plain.items():
        assert metrics.loc[stage, "cluster_throughput_per_watt"] == pytest.approx(value, rel=0.02), stage


def test_the_stage_story_is_in_the_data(demo, metrics):
    util = metrics.gpu_utilization_percent
    assert util[0] < 30, "exclusive bare-metal baseline"
    assert util[6] > 60, "24/7 load management"
    for column in ("cluster_throughput_per_watt", "throughput_per_watt", "throughput_per_dollar"):
        assert metrics.loc[4, column] > metrics.loc[0, column], column
    scheduling = mart(demo, "mart_scheduling", "stage_id").set_index("stage_id")
    assert scheduling.loc[2, "fragmentation_percent"] < scheduling.loc[1, "fragmentation_percent"]
    reliability = mart(demo, "mart_reliability", "stage_id").set_index("stage_id")
    assert reliability.loc[5, "lost_gpu_hours"] < reliability.loc[4, "lost_gpu_hours"]


def test_training_fills_the_night_in_stage_six(demo):
    profile = mart(demo, "mart_hourly_profile", "stage_id, local_hour_of_day")
    training = profile[(profile.stage_id == 6) & (profile.workload_type == "training")]
    by_hour = training.set_index("local_hour_of_day").mean_allocated_share
    night, working_day = by_hour.loc[0:5].mean(), by_hour.loc[10:16].mean()
    assert night > working_day, (night, working_day)
