"""A small, hand-made landing dataset for the dbt tests whose mart values can be computed by hand.

Pool `p1`, source `simulator`, three H100 80GB GPUs: `GPU-a` and `GPU-b` on host `h1`, `GPU-c`
on host `h2`. Two stage windows of four minutes each, on two days:

- stage 0 `baseline`  2024-03-01 00:10-00:14: exclusive allocations. GPU-a runs training job J1
  (00:10-00:18, 800k tokens, 48 s data wait), GPU-b runs inference replica J2 (00:10-00:14).
  GPU-a has GR_ENGINE_ACTIVE 0.5 (and GPU_UTIL 90, which must be ignored), GPU-b only GPU_UTIL 20,
  GPU-c GR_ENGINE_ACTIVE 0 and no energy counter. GPU-b's energy counter resets at 00:12.
- stage 1 `sharing`   2024-03-02 00:10-00:14: GPU-a is time-sliced between inference replica J3
  (share 0.5, 20 GB request, still running) and notebook J4 (share 0.25, 10 GB); GPU-b is MIG with
  instances 3g.40gb (training job J5, GR 0.6) and 1g.10gb (idle, GR 0.2); GPU-c misses 00:13.
  J5 checkpoints at 00:11, fails at 00:12:30 and restarts at 00:13.

Telemetry is emitted one minute before each window (00:09) so the counter delta of 00:10 is known.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion import landing, paths
from ingestion.contracts import DATASETS

POOL = "p1"
SOURCE = "simulator"
MODEL = "NVIDIA H100 80GB HBM3"
DAY1 = dt.date(2024, 3, 1)
DAY2 = dt.date(2024, 3, 2)
UTC = dt.UTC
MIB = 1024.0


def ts(day: dt.date, hh: int, mm: int, ss: float = 0.0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, tzinfo=UTC) + dt.timedelta(seconds=ss)


def _table(name: str, rows: list[dict]) -> pa.Table:
    schema = DATASETS[name].schema
    if not rows:
        return schema.empty_table()
    return pa.Table.from_pylist(rows, schema=schema)


def _sample(t, gpu, idx, host, metric, value, mig=None, inst=None, pod=None):
    return {
        "ts": t, "pool": POOL, "hostname": host, "gpu_index": idx, "gpu_uuid": gpu, "model_name": MODEL,
        "mig_profile": mig, "gpu_instance_id": inst, "namespace": "ml" if pod else None, "pod": pod,
        "container": "main" if pod else None, "metric": metric, "value": float(value), "source": SOURCE,
    }


def gpu_samples_day1(gr_a: float = 0.5) -> list[dict]:
    rows = []
    b_counter = {9: 5.0e8, 10: 5.12e8, 11: 5.24e8, 12: 3.0e6, 13: 15.0e6}  # reset at 00:12
    for m in range(9, 14):
        t = ts(DAY1, 0, m)
        # GPU-a: exclusive training, GR 0.5 (GPU_UTIL 90 must not be used), 400 W, 60 GiB used
        a = [("DCGM_FI_DEV_GPU_UTIL", 90), ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", gr_a),
             ("DCGM_FI_PROF_SM_ACTIVE", 0.4), ("DCGM_FI_DEV_POWER_USAGE", 400),
             ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 1.0e9 + (m - 9) * 24.0e6),
             ("DCGM_FI_DEV_GPU_TEMP", 60), ("DCGM_FI_DEV_SM_CLOCK", 1980),
             ("DCGM_FI_DEV_FB_USED", 60 * MIB), ("DCGM_FI_DEV_FB_FREE", 20 * MIB)]
        rows += [_sample(t, "GPU-a", 0, "h1", k, v, pod="train-j1") for k, v in a]
        # GPU-b: exclusive inference, only GPU_UTIL 20, 200 W (210 W at the reset minute), 30 GiB used
        b = [("DCGM_FI_DEV_GPU_UTIL", 20), ("DCGM_FI_DEV_POWER_USAGE", 210 if m == 12 else 200),
             ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", b_counter[m]),
             ("DCGM_FI_DEV_FB_USED", 30 * MIB), ("DCGM_FI_DEV_FB_FREE", 50 * MIB)]
        rows += [_sample(t, "GPU-b", 1, "h1", k, v, pod="chat-j2") for k, v in b]
        # GPU-c: idle, GR 0, no energy counter, 100 W
        c = [("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 0.0), ("DCGM_FI_PROF_SM_ACTIVE", 0.0),
             ("DCGM_FI_DEV_POWER_USAGE", 100), ("DCGM_FI_DEV_FB_USED", 0), ("DCGM_FI_DEV_FB_FREE", 80 * MIB)]
        rows += [_sample(t, "GPU-c", 0, "h2", k, v) for k, v in c]
    return rows


def gpu_samples_day2() -> list[dict]:
    rows = []
    for m in range(9, 14):
        t = ts(DAY2, 0, m)
        a = [("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 0.3), ("DCGM_FI_PROF_SM_ACTIVE", 0.2),
             ("DCGM_FI_DEV_POWER_USAGE", 250),
             ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 5.0e9 + (m - 9) * 15.0e6),
             ("DCGM_FI_DEV_FB_USED", 25 * MIB), ("DCGM_FI_DEV_FB_FREE", 55 * MIB)]
        rows += [_sample(t, "GPU-a", 0, "h1", k, v) for k, v in a]
        # GPU-b under MIG: every row carries the instance labels; device fields repeat per instance
        for mig, inst, gr, sm, used, size in (("3g.40gb", 1, 0.6, 0.5, 10, 40), ("1g.10gb", 2, 0.2, 0.1, 4, 10)):
            b = [("DCGM_FI_PROF_GR_ENGINE_ACTIVE", gr), ("DCGM_FI_PROF_SM_ACTIVE", sm),
                 ("DCGM_FI_DEV_POWER_USAGE", 300),
                 ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 7.0e8 + (m - 9) * 18.0e6),
                 ("DCGM_FI_DEV_FB_USED", used * MIB), ("DCGM_FI_DEV_FB_FREE", (size - used) * MIB)]
            rows += [_sample(t, "GPU-b", 1, "h1", k, v, mig=mig, inst=inst) for k, v in b]
        if m != 13:  # GPU-c misses the last minute of the window
            c = [("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 0.1), ("DCGM_FI_PROF_SM_ACTIVE", 0.05),
                 ("DCGM_FI_DEV_POWER_USAGE", 100), ("DCGM_FI_DEV_FB_USED", 0), ("DCGM_FI_DEV_FB_FREE", 80 * MIB)]
            rows += [_sample(t, "GPU-c", 0, "h2", k, v) for k, v in c]
    return rows


def _job(job_id, tenant, wtype, gpus, count, submit, start, end, *, status="succeeded", mem=None, mig=None,
         tokens=None, wait=None, restarts=0, host="h1"):
    return {
        "job_id": job_id, "pool": POOL, "tenant": tenant, "queue": "default", "workload_type": wtype,
        "gpu_model": MODEL, "gpu_count": count, "gpu_mem_request_gb": mem, "mig_profile": mig, "hostname": host,
        "gpu_uuids": gpus, "submit_ts": submit, "start_ts": start, "end_ts": end, "status": status,
        "failure_reason": None, "restarts": restarts, "tokens_processed": tokens, "data_wait_s": wait,
    }


def jobs_day1() -> list[dict]:
    return [
        _job("J1", "t1", "training", ["GPU-a"], 1.0, ts(DAY1, 0, 7), ts(DAY1, 0, 10), ts(DAY1, 0, 18),
             tokens=800_000.0, wait=48.0),
        _job("J2", "t2", "inference", ["GPU-b"], 1.0, ts(DAY1, 0, 9), ts(DAY1, 0, 10), ts(DAY1, 0, 14)),
    ]


def jobs_day2() -> list[dict]:
    return [
        _job("J3", "t2", "inference", ["GPU-a"], 0.5, ts(DAY2, 0, 8), ts(DAY2, 0, 10), None,
             status="running", mem=20.0),
        _job("J4", "t1", "development", ["GPU-a"], 0.25, ts(DAY2, 0, 6), ts(DAY2, 0, 10), ts(DAY2, 0, 14),
             mem=10.0),
        _job("J5", "t1", "training", ["GPU-b"], 3 / 7, ts(DAY2, 0, 10), ts(DAY2, 0, 10), ts(DAY2, 0, 14),
             mig="3g.40gb", tokens=100_000.0, wait=12.0, restarts=1),
    ]


def job_events_day1() -> list[dict]:
    e = [("J1", ts(DAY1, 0, 7), "submitted"), ("J1", ts(DAY1, 0, 10), "started"),
         ("J1", ts(DAY1, 0, 18), "finished"), ("J2", ts(DAY1, 0, 9), "submitted"),
         ("J2", ts(DAY1, 0, 10), "started"), ("J2", ts(DAY1, 0, 14), "finished")]
    return [{"job_id": j, "ts": t, "event": ev, "detail": None} for j, t, ev in e]


def job_events_day2() -> list[dict]:
    e = [("J3", ts(DAY2, 0, 8), "submitted"), ("J3", ts(DAY2, 0, 10), "started"),
         ("J4", ts(DAY2, 0, 6), "submitted"), ("J4", ts(DAY2, 0, 10), "started"),
         ("J4", ts(DAY2, 0, 14), "finished"),
         ("J5", ts(DAY2, 0, 10), "submitted"), ("J5", ts(DAY2, 0, 10, 0.5), "started"),
         ("J5", ts(DAY2, 0, 11), "checkpoint"), ("J5", ts(DAY2, 0, 12, 30), "failed"),
         ("J5", ts(DAY2, 0, 13), "restarted"), ("J5", ts(DAY2, 0, 14), "finished")]
    return [{"job_id": j, "ts": t, "event": ev, "detail": None} for j, t, ev in e]


def _req(rid, replica, gpu, arrival, sched, first, end, prompt, cached, out, status="ok"):
    return {
        "request_id": rid, "pool": POOL, "service": "chat", "replica": replica, "gpu_uuid": gpu,
        "arrival_ts": arrival, "scheduled_ts": sched, "first_token_ts": first, "end_ts": end,
        "prompt_tokens": prompt, "cached_prompt_tokens": cached, "output_tokens": out, "status": status,
    }


def requests_day1() -> list[dict]:
    d = DAY1
    return [
        _req("R1", "J2", "GPU-b", ts(d, 0, 10, 10.0), ts(d, 0, 10, 10.1), ts(d, 0, 10, 10.3), ts(d, 0, 10, 12.3),
             100, 0, 21),
        _req("R2", "J2", "GPU-b", ts(d, 0, 10, 20.0), ts(d, 0, 10, 20.4), ts(d, 0, 10, 20.9), ts(d, 0, 10, 23.9),
             200, 50, 31),
        _req("R3", "J2", "GPU-b", ts(d, 0, 10, 30.0), ts(d, 0, 10, 30.0), ts(d, 0, 10, 30.5), ts(d, 0, 10, 30.5),
             100, 100, 1),
        _req("R4", "J2", "GPU-b", ts(d, 0, 10, 40.0), None, None, ts(d, 0, 11, 10.0), 50, 0, 0, status="timeout"),
        # outside every stage window: must not count
        _req("R8", "J2", "GPU-b", ts(d, 0, 20), ts(d, 0, 20), ts(d, 0, 20, 0.1), ts(d, 0, 20, 1.1), 10, 0, 11),
    ]


def requests_day2() -> list[dict]:
    d = DAY2
    return [
        _req("R5", "J3", "GPU-a", ts(d, 0, 10, 5.0), ts(d, 0, 10, 5.0), ts(d, 0, 10, 5.1), ts(d, 0, 10, 6.1),
             100, 80, 11),
        _req("R6", "J3", "GPU-a", ts(d, 0, 11, 0.0), ts(d, 0, 11, 0.05), ts(d, 0, 11, 0.2), ts(d, 0, 11, 1.7),
             100, 20, 16),
        _req("R7", "J3", "GPU-a", ts(d, 0, 12, 0.0), ts(d, 0, 12, 0.0), ts(d, 0, 12, 0.4), ts(d, 0, 12, 0.6),
             100, 0, 3, status="error"),
    ]


def stage_calendar() -> list[dict]:
    return [
        {"stage_id": 0, "stage_key": "baseline", "pool": POOL, "start_ts": ts(DAY1, 0, 10),
         "end_ts": ts(DAY1, 0, 14), "note": "test"},
        {"stage_id": 1, "stage_key": "sharing", "pool": POOL, "start_ts": ts(DAY2, 0, 10),
         "end_ts": ts(DAY2, 0, 14), "note": "test"},
    ]


def gpu_inventory() -> list[dict]:
    return [
        {"pool": POOL, "hostname": "h1", "gpu_index": 0, "gpu_uuid": "GPU-a", "model_name": MODEL, "memory_gb": 80.0},
        {"pool": POOL, "hostname": "h1", "gpu_index": 1, "gpu_uuid": "GPU-b", "model_name": MODEL, "memory_gb": 80.0},
        {"pool": POOL, "hostname": "h2", "gpu_index": 0, "gpu_uuid": "GPU-c", "model_name": MODEL, "memory_gb": 80.0},
    ]


def _write_samples(base: Path, day: dt.date, rows: list[dict]) -> None:
    """Land gpu_samples through ingestion.landing; if the landing quarantines rows only because
    gpu_instance_id is null (it is part of the contract key, but null is legitimate on non-MIG GPUs),
    land the conformed table as is, at the same path, so the dbt tests do not depend on that choice."""
    table = _table("gpu_samples", rows)
    landed = landing.write_day("gpu_samples", day, table, source=SOURCE, pool=POOL, base=base)
    if landed.quarantined:
        pq.write_table(landing.conform(DATASETS["gpu_samples"], table), landed.path, compression="zstd")
        qdir = paths.quarantine_dir(base) / "gpu_samples" / f"date={day.isoformat()}"
        (qdir / f"{SOURCE}-{POOL}.jsonl").unlink(missing_ok=True)


def write_day1(base: Path, *, gr_a: float = 0.5) -> None:
    kw = {"source": SOURCE, "pool": POOL, "base": base}
    _write_samples(base, DAY1, gpu_samples_day1(gr_a))
    landing.write_day("jobs", DAY1, _table("jobs", jobs_day1()), **kw)
    landing.write_day("job_events", DAY1, _table("job_events", job_events_day1()), **kw)
    landing.write_day("inference_requests", DAY1, _table("inference_requests", requests_day1()), **kw)


def write_day2(base: Path) -> None:
    kw = {"source": SOURCE, "pool": POOL, "base": base}
    _write_samples(base, DAY2, gpu_samples_day2())
    landing.write_day("jobs", DAY2, _table("jobs", jobs_day2()), **kw)
    landing.write_day("job_events", DAY2, _table("job_events", job_events_day2()), **kw)
    landing.write_day("inference_requests", DAY2, _table("inference_requests", requests_day2()), **kw)


def write_all(base: Path) -> None:
    kw = {"source": SOURCE, "pool": POOL, "base": base}
    landing.write_table("stage_calendar", _table("stage_calendar", stage_calendar()), **kw)
    landing.write_table("gpu_inventory", _table("gpu_inventory", gpu_inventory()), **kw)
    write_day1(base)
    write_day2(base)
