"""Jobs from Kubernetes pods when a pool keeps no job log (issue 18, point 3).

Two pools see the same cluster (tests/dbt/dbt_landing_fixture.py): `p1` through its job log, `k8s` through the GPU
pods kube-state-metrics reported (pod_allocations), dcgm-exporter's pod labels on the readings and the serving
engines' series. The pods mirror the log's jobs J1..J5 (same placements, requests and times), so the scheduling
marts must agree; on day 2 the time-sliced GPU-a carries two pods, so each of its readings lands twice (once per
pod, as dcgm-exporter's --kubernetes-virtual-gpus does) and must still count once. Three more `k8s` pods run or wait
outside the stage windows: one deleted while running, one withdrawn while pending, one still pending.
"""

from __future__ import annotations

import datetime as dt

import dbt_landing_fixture as fx
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt_warehouse import DbtWarehouse

from ingestion import landing
from ingestion.contracts import DATASETS

pytestmark = pytest.mark.slow

K8S = "k8s"
SOURCE = "prometheus"
D1, D2 = fx.DAY1, fx.DAY2

# (namespace, pod) of the pods whose labels dcgm-exporter put on each GPU's (and MIG instance's) readings
POD_LABELS = {
    (D1, "GPU-a", None): [("train", "j1")],
    (D1, "GPU-b", None): [("serve", "j2")],
    (D2, "GPU-a", None): [("serve", "j3"), ("dev", "j4")],
    (D2, "GPU-b", 1): [("train", "j5")],
}


def _k8s_samples(day: dt.date, rows: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        pods = POD_LABELS.get((day, row["gpu_uuid"], row["gpu_instance_id"]), [(None, None)])
        for namespace, pod in pods:
            out.append({**row, "pool": K8S, "gpu_uuid": "K-" + row["gpu_uuid"], "namespace": namespace, "pod": pod,
                        "container": "main" if pod else None, "source": SOURCE})
    return out


def _pod(uid, namespace, pod, node, phase, created, start, end, *, observed, tenant=None, resource="nvidia.com/gpu",
         request=1.0, cores=None, mem_mib=None, workload_type=None, owner="ReplicaSet"):
    return {
        "uid": uid, "pod": pod, "namespace": namespace, "pool": K8S, "node": node, "gpu_resource": resource,
        "gpu_request": request, "gpu_limit": request, "gpu_cores_request": cores, "gpu_mem_request_mib": mem_mib,
        "phase": phase, "created_ts": created, "start_ts": start, "end_ts": end, "tenant": tenant, "queue": "default",
        "workload_type": workload_type, "owner_kind": owner, "labels": "{}", "observed_ts": observed, "source": SOURCE,
    }


def pods_day1() -> list[dict]:
    ts = fx.ts
    return [
        # J1: exclusive training under a Job, its tokens from the trainer's counter
        _pod("u1", "train", "j1", "h1", "Succeeded", ts(D1, 0, 7), ts(D1, 0, 10), ts(D1, 0, 18),
             observed=ts(D1, 0, 18), tenant="t1", owner="Job"),
        # J2: an inference replica, known as such only from its vLLM series
        _pod("u2", "serve", "j2", "h1", "Succeeded", ts(D1, 0, 9), ts(D1, 0, 10), ts(D1, 0, 14),
             observed=ts(D1, 0, 14), tenant="t2"),
        # deleted while running, on no labelled GPU and outside the windows
        _pod("u6", "train", "gone", "h2", "Running", ts(D1, 0, 19), ts(D1, 0, 20), ts(D1, 0, 25),
             observed=ts(D1, 0, 25), tenant="t1", owner="Job"),
        # withdrawn while pending
        _pod("u7", "train", "withdrawn", None, "Pending", ts(D1, 0, 19), None, ts(D1, 0, 22),
             observed=ts(D1, 0, 22), tenant="t1", owner="Job"),
    ]


def pods_day2() -> list[dict]:
    ts = fx.ts
    return [
        # J3: HAMi vGPU half a GPU and 20 GiB, still running, labelled inference
        _pod("u3", "serve", "j3", "h1", "Running", ts(D2, 0, 8), ts(D2, 0, 10), None, observed=ts(D2, 0, 14),
             tenant="t2", cores=50.0, mem_mib=20 * 1024.0, workload_type="inference"),
        # J4: a notebook on a quarter of GPU-a; an earlier observation of the same uid, still pending, is stale
        _pod("u4", "dev", "j4", "h1", "Pending", ts(D2, 0, 6), None, None, observed=ts(D2, 0, 9), tenant="t1",
             cores=25.0, mem_mib=10 * 1024.0, owner="StatefulSet"),
        _pod("u4", "dev", "j4", "h1", "Succeeded", ts(D2, 0, 6), ts(D2, 0, 10), ts(D2, 0, 14),
             observed=ts(D2, 0, 14), tenant="t1", cores=25.0, mem_mib=10 * 1024.0, owner="StatefulSet"),
        # J5: a MIG 3g.40gb slice of GPU-b under a Kubeflow PyTorchJob
        _pod("u5", "train", "j5", "h1", "Succeeded", ts(D2, 0, 10), ts(D2, 0, 10), ts(D2, 0, 14),
             observed=ts(D2, 0, 14), tenant="t1", resource="nvidia.com/mig-3g.40gb", owner="PyTorchJob"),
        # still waiting when the data ends
        _pod("u8", "train", "waiting", None, "Pending", ts(D2, 0, 13), None, None, observed=ts(D2, 0, 14),
             tenant="t1", owner="Job"),
    ]


def _serving(minute, namespace, pod, engine, metric, value, kind):
    return {"minute_ts": minute, "pool": K8S, "engine": engine, "model": "m", "namespace": namespace, "pod": pod,
            "engine_index": None, "metric": metric, "le": None, "value": value, "value_kind": kind, "source": SOURCE}


def serving_day1() -> list[dict]:
    # J1's trainer counts 100k tokens a minute for its 8 minutes: 800k, the log's tokens_processed
    rows = [_serving(fx.ts(D1, 0, m), "train", "j1", "trainer", "gpu_eff_training_tokens_total", 100_000.0, "increase")
            for m in range(10, 18)]
    rows += [_serving(fx.ts(D1, 0, m), "serve", "j2", "vllm", "vllm:num_requests_running", 2.0, "mean")
             for m in range(10, 14)]
    return rows


def serving_day2() -> list[dict]:
    # J5's trainer: 25k tokens a minute for its 4 minutes, the log's 100k
    return [_serving(fx.ts(D2, 0, m), "train", "j5", "trainer", "gpu_eff_training_tokens_total", 25_000.0, "increase")
            for m in range(10, 14)]


def _land(base) -> None:
    kw = {"source": SOURCE, "pool": K8S, "base": base}
    rename = {"pool": K8S}
    landing.write_table("stage_calendar", fx._table("stage_calendar", [{**r, **rename} for r in fx.stage_calendar()]),
                        **kw)
    inventory = [{**r, **rename, "gpu_uuid": "K-" + r["gpu_uuid"]} for r in fx.gpu_inventory()]
    landing.write_table("gpu_inventory", fx._table("gpu_inventory", inventory), **kw)
    for day, samples, pods in ((D1, fx.gpu_samples_day1(), pods_day1()), (D2, fx.gpu_samples_day2(), pods_day2())):
        table = fx._table("gpu_samples", _k8s_samples(day, samples))
        path = landing.write_day("gpu_samples", day, table, **kw).path
        # the landing quarantines rows only for a null gpu_instance_id (non-MIG): land the conformed table as is
        pq.write_table(landing.conform(DATASETS["gpu_samples"], table), path, compression="zstd")
        landing.write_day("pod_allocations", day, fx._table("pod_allocations", pods), **kw)
    for day, rows in ((D1, serving_day1()), (D2, serving_day2())):
        serving = pa.Table.from_pylist(rows, schema=DATASETS["serving_metrics"].schema)
        landing.write_day("serving_metrics", day, serving, **kw)


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> DbtWarehouse:
    data_dir = tmp_path_factory.mktemp("pods")
    fx.write_all(data_dir)
    _land(data_dir)
    built = DbtWarehouse(data_dir)
    built.dbt("build")
    return built


def _by_stage(warehouse, sql_columns: str, model: str) -> dict:
    frame = warehouse.query(f"select pool, stage_id, {sql_columns} from {model} order by pool, stage_id")
    return {pool: rows.drop(columns="pool").reset_index(drop=True) for pool, rows in frame.groupby("pool")}


def test_pod_jobs_mirror_the_job_log(warehouse):
    jobs = warehouse.query(f"select * from intermediate.int_jobs where pool = '{K8S}'").set_index("job_id")
    assert set(jobs["job_source"]) == {"pod_allocations"}
    assert set(warehouse.query("select job_source from intermediate.int_jobs where pool = 'p1'")["job_source"]) == {
        "jobs"}
    mirrored = jobs.loc[["train/j1", "serve/j2", "serve/j3", "dev/j4", "train/j5"]]
    assert list(mirrored["workload_type"]) == ["training", "inference", "inference", "development", "training"]
    assert list(mirrored["tenant"]) == ["t1", "t2", "t2", "t1", "t1"]
    # HAMi cores x devices, MIG compute slices / 7
    assert list(mirrored["gpu_count"]) == pytest.approx([1.0, 1.0, 0.5, 0.25, 3 / 7])
    assert list(mirrored["mig_profile"].fillna("")) == ["", "", "", "", "3g.40gb"]
    assert list(mirrored["gpu_mem_request_gb"].fillna(0)) == pytest.approx([0, 0, 20.0, 10.0, 0])
    assert [list(g) for g in mirrored["gpu_uuids"]] == [["K-GPU-a"], ["K-GPU-b"], ["K-GPU-a"], ["K-GPU-a"],
                                                        ["K-GPU-b"]]
    assert list(mirrored["status"]) == ["succeeded", "succeeded", "running", "succeeded", "succeeded"]
    assert set(mirrored["gpu_model"]) == {fx.MODEL}
    assert list(mirrored["tokens_processed"].fillna(0)) == pytest.approx([800_000.0, 0, 0, 0, 100_000.0])
    # the latest observation of a uid wins: J4 had started and finished
    assert str(mirrored.loc["dev/j4", "start_ts"]) == "2024-03-02 00:10:00"


def test_pod_phases_become_job_statuses(warehouse):
    jobs = warehouse.query(f"select job_id, status, gpu_slots from intermediate.int_jobs where pool = '{K8S}'")
    status = dict(zip(jobs["job_id"], jobs["status"], strict=True))
    assert status["train/gone"] == "preempted"  # deleted while running
    assert status["train/withdrawn"] == "cancelled"  # gone while pending
    assert status["train/waiting"] == "pending"
    assert len(jobs) == 8  # one job per uid, J4's two observations included


def test_a_pod_deleted_while_running_counts_as_a_preemption(warehouse):
    # `gone` ran on day 1 at 00:20-00:25, after the baseline window: no stage counts it
    rows = warehouse.query(f"select stage_id, preemptions from marts.mart_reliability where pool = '{K8S}'")
    assert list(rows["preemptions"]) == [0, 0]
    assert warehouse.row(f"""select count(*) as n from intermediate.int_jobs
                             where pool = '{K8S}' and status = 'preempted'""")["n"] == 1


def test_the_tier_follows_the_landed_source(warehouse):
    """The same cluster is 仿真 where its readings landed from the simulator (p1) and 集群实测 where they came
    from Prometheus (k8s): the tier is the data's, and every measured value of the pool carries it."""
    coverage = dict(warehouse.query("select pool, evidence_tier from marts.mart_data_coverage").itertuples(index=False))
    assert coverage == {"p1": "仿真", K8S: "集群实测"}
    tiers = warehouse.query("""select pool, list(distinct evidence_tier) as tiers from marts.mart_stage_comparison
                               where value_source = 'measured' group by pool""")
    assert {r.pool: sorted(r.tiers) for r in tiers.itertuples()} == {"p1": ["仿真"], K8S: ["集群实测"]}


def test_scheduling_marts_agree_with_the_job_log(warehouse):
    columns = ("allocation_percent, fragmentation_percent, mean_fragmented_gpus, jobs_dispatched, "
               "queue_wait_p50_minutes, queue_wait_p95_minutes, queue_wait_mean_minutes, tenants, jain_fairness_index")
    marts = _by_stage(warehouse, columns, "marts.mart_scheduling")
    assert marts["p1"]["jobs_dispatched"].sum() == 5
    pd.testing.assert_frame_equal(marts[K8S], marts["p1"])


def test_density_and_training_hours_agree_with_the_job_log(warehouse):
    density = _by_stage(warehouse, "jobs, mig_jobs, fractional_jobs", "marts.mart_gpu_density")
    pd.testing.assert_frame_equal(density[K8S], density["p1"])
    hours = _by_stage(warehouse, "jobs_run, training_gpu_hours", "marts.mart_reliability")
    pd.testing.assert_frame_equal(hours[K8S], hours["p1"])
    # training tokens from the trainer's counter, attributed pro rata like the log's tokens_processed
    tokens = _by_stage(warehouse, "sum(attributed_tokens) as tokens", "intermediate.int_job_stage_overlap "
                       "where workload_type = 'training' group by pool, stage_id")
    assert list(tokens[K8S]["tokens"]) == pytest.approx([400_000.0, 100_000.0])
    pd.testing.assert_frame_equal(tokens[K8S], tokens["p1"])


def test_a_reading_repeated_per_pod_counts_once(warehouse):
    # day 2: every reading of K-GPU-a landed twice (pods j3 and j4), p1's GPU-a once
    copies = warehouse.row(f"""select count(*) / count(distinct (sample_ts, raw_metric)) as copies
                               from staging.stg_landing__gpu_samples
                               where pool = '{K8S}' and gpu_uuid = 'K-GPU-a' and landing_date = '{D2}'""")
    assert copies["copies"] == 2
    minutes = warehouse.query("""select pool, minute_ts, activity_pct, energy_j, fb_used_gb, power_w, allocated_share,
                                        inference_share, reserved_gb
                                 from intermediate.int_gpu_minutes where gpu_uuid in ('GPU-a', 'K-GPU-a')
                                 order by pool, minute_ts""")
    k8s = minutes[minutes["pool"] == K8S].drop(columns="pool").reset_index(drop=True)
    log = minutes[minutes["pool"] == "p1"].drop(columns="pool").reset_index(drop=True)
    assert len(log) == 8
    pd.testing.assert_frame_equal(k8s, log)
    stage = _by_stage(warehouse, "gpu_utilization_percent, energy_joules, inference_energy_joules, memory_overhead_gb",
                      "marts.mart_stage_metrics")
    pd.testing.assert_frame_equal(stage[K8S], stage["p1"])
