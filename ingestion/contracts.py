"""Landing dataset contracts (DESIGN.md, "Landing datasets").

Column names here are the contract between ingestion and the dbt project: add columns, never rename.
All timestamps are UTC, stored as tz-aware microsecond timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Dataset:
    name: str
    schema: pa.Schema
    partition_column: str | None  # timestamp column whose UTC date picks the landing partition
    key: tuple[str, ...]  # columns that identify a record (checked by dbt tests downstream)
    required: tuple[str, ...]  # columns that may never be null: a row without them is quarantined


GPU_SAMPLES = Dataset(
    "gpu_samples",
    pa.schema(
        [
            ("ts", TS),
            ("pool", pa.string()),
            ("hostname", pa.string()),
            ("gpu_index", pa.int32()),
            ("gpu_uuid", pa.string()),
            ("model_name", pa.string()),
            ("mig_profile", pa.string()),
            ("gpu_instance_id", pa.int32()),
            ("namespace", pa.string()),
            ("pod", pa.string()),
            ("container", pa.string()),
            ("metric", pa.string()),
            ("value", pa.float64()),
            ("source", pa.string()),
        ]
    ),
    "ts",
    ("ts", "gpu_uuid", "gpu_instance_id", "metric"),
    ("ts", "pool", "gpu_uuid", "metric", "value", "source"),
)

JOBS = Dataset(
    "jobs",
    pa.schema(
        [
            ("job_id", pa.string()),
            ("pool", pa.string()),
            ("tenant", pa.string()),
            ("queue", pa.string()),
            ("workload_type", pa.string()),
            ("gpu_model", pa.string()),
            ("gpu_count", pa.float64()),
            ("gpu_mem_request_gb", pa.float64()),
            ("mig_profile", pa.string()),
            ("hostname", pa.string()),
            ("gpu_uuids", pa.list_(pa.string())),
            ("submit_ts", TS),
            ("start_ts", TS),
            ("end_ts", TS),
            ("status", pa.string()),
            ("failure_reason", pa.string()),
            ("restarts", pa.int32()),
            ("tokens_processed", pa.float64()),
            ("data_wait_s", pa.float64()),
        ]
    ),
    "submit_ts",
    ("job_id",),
    ("job_id", "pool", "workload_type", "gpu_count", "submit_ts", "status"),
)

JOB_EVENTS = Dataset(
    "job_events",
    pa.schema(
        [
            ("job_id", pa.string()),
            ("ts", TS),
            ("event", pa.string()),
            ("detail", pa.string()),
        ]
    ),
    "ts",
    ("job_id", "ts", "event"),
    ("job_id", "ts", "event"),
)

INFERENCE_REQUESTS = Dataset(
    "inference_requests",
    pa.schema(
        [
            ("request_id", pa.string()),
            ("pool", pa.string()),
            ("service", pa.string()),
            ("replica", pa.string()),
            ("gpu_uuid", pa.string()),
            ("arrival_ts", TS),
            ("scheduled_ts", TS),
            ("first_token_ts", TS),
            ("end_ts", TS),
            ("prompt_tokens", pa.int32()),
            ("cached_prompt_tokens", pa.int32()),
            ("output_tokens", pa.int32()),
            ("status", pa.string()),
        ]
    ),
    "arrival_ts",
    ("request_id",),
    # end_ts may be null: an arrivals-only trace (the Azure LLM trace) says nothing about when a request ended.
    ("request_id", "pool", "service", "arrival_ts", "prompt_tokens", "output_tokens", "status"),
)

# Controlled A/B runs (e.g. the H200 lab): one row per phase, joined to gpu_samples by gpu_uuid and time
# window. `window_start_ts`/`window_end_ts` narrow the phase to its measured part (e.g. the shared window of
# the time-slicing phase, after the workers started); null means the whole phase. `work_done` is what the
# phase produced in `work_unit` within that window (tokens or samples), `results_json` the phase's own fields.
EXPERIMENTS = Dataset(
    "experiments",
    pa.schema(
        [
            ("experiment_id", pa.string()),
            ("pool", pa.string()),
            ("phase", pa.string()),
            ("factor", pa.string()),
            ("variant", pa.string()),
            ("hostname", pa.string()),
            ("gpu_uuid", pa.string()),
            ("model_name", pa.string()),
            ("start_ts", TS),
            ("end_ts", TS),
            ("window_start_ts", TS),
            ("window_end_ts", TS),
            ("status", pa.string()),
            ("work_unit", pa.string()),
            ("work_done", pa.float64()),
            ("reported_rate_per_s", pa.float64()),
            ("results_json", pa.string()),
        ]
    ),
    "start_ts",
    ("experiment_id", "phase"),
    ("experiment_id", "pool", "phase", "gpu_uuid", "start_ts", "end_ts", "status"),
)

# One row per scrape of one exporter target: whether it answered, how long it took, how many samples.
SCRAPE_HEALTH = Dataset(
    "scrape_health",
    pa.schema(
        [
            ("ts", TS),
            ("pool", pa.string()),
            ("source", pa.string()),
            ("target", pa.string()),
            ("ok", pa.bool_()),
            ("http_status", pa.int32()),
            ("duration_s", pa.float64()),
            ("samples", pa.int64()),
            ("error", pa.string()),
        ]
    ),
    "ts",
    ("ts", "target"),
    ("ts", "pool", "source", "target", "ok", "duration_s", "samples"),
)

# LLM serving engines' own /metrics (vLLM, SGLang, Triton, TGI), usually read through Prometheus: one row per
# pod (replica), engine index, minute and series. `metric` is the name as received (`_bucket`, `_sum`, `_count`
# suffixes kept); `le` the bucket's upper bound (+inf for the last), null otherwise. `value_kind` says what
# `value` is: `increase` (a counter's or bucket's increase over [minute_ts, minute_ts + 1 min), counter resets
# survived), `mean` (a gauge's mean over that minute), or `total` (a counter's value since the process
# started, what one saved page gives: `minute_ts` is then the scrape's minute). Series that differ only in
# labels outside these columns (finished_reason, method, ...) are summed. `engine_index` is vLLM's
# data-parallel `engine` label (null when absent).
SERVING_METRICS = Dataset(
    "serving_metrics",
    pa.schema(
        [
            ("minute_ts", TS),
            ("pool", pa.string()),
            ("engine", pa.string()),
            ("model", pa.string()),
            ("namespace", pa.string()),
            ("pod", pa.string()),
            ("engine_index", pa.string()),
            ("metric", pa.string()),
            ("le", pa.float64()),
            ("value", pa.float64()),
            ("value_kind", pa.string()),
            ("source", pa.string()),
        ]
    ),
    "minute_ts",
    ("minute_ts", "pool", "namespace", "pod", "engine_index", "model", "metric", "le"),
    ("minute_ts", "pool", "engine", "metric", "value", "value_kind", "source"),
)

# GPU pods from kube-state-metrics (and Kueue's queue label): one row per pod and observation. A pod seen on
# several days lands once per day (`observed_ts`: the last minute it was seen that day); dbt keeps its latest
# observation per `uid`. `gpu_request`/`gpu_limit` count devices of `gpu_resource` as Kubernetes names it
# (`nvidia.com/gpu`, `nvidia.com/mig-3g.40gb`, ...); `gpu_cores_request` (percent of one GPU) and
# `gpu_mem_request_mib` are HAMi's vGPU fractions. `tenant`, `queue` and `workload_type` come from the
# namespace and configurable pod labels (null when the label is absent); `labels` is the pod's labels as JSON.
POD_ALLOCATIONS = Dataset(
    "pod_allocations",
    pa.schema(
        [
            ("uid", pa.string()),
            ("pod", pa.string()),
            ("namespace", pa.string()),
            ("pool", pa.string()),
            ("node", pa.string()),
            ("gpu_resource", pa.string()),
            ("gpu_request", pa.float64()),
            ("gpu_limit", pa.float64()),
            ("gpu_cores_request", pa.float64()),
            ("gpu_mem_request_mib", pa.float64()),
            ("phase", pa.string()),
            ("created_ts", TS),
            ("start_ts", TS),
            ("end_ts", TS),
            ("tenant", pa.string()),
            ("queue", pa.string()),
            ("workload_type", pa.string()),
            ("owner_kind", pa.string()),
            ("labels", pa.string()),
            ("observed_ts", TS),
            ("source", pa.string()),
        ]
    ),
    "observed_ts",
    ("uid", "observed_ts"),
    ("uid", "pod", "namespace", "pool", "phase", "observed_ts", "source"),
)

# Configuration table, one file per pool (not date-partitioned): which stage was in force when.
STAGE_CALENDAR = Dataset(
    "stage_calendar",
    pa.schema(
        [
            ("stage_id", pa.int32()),
            ("stage_key", pa.string()),
            ("pool", pa.string()),
            ("start_ts", TS),
            ("end_ts", TS),
            ("note", pa.string()),
        ]
    ),
    None,
    ("pool", "stage_id"),
    ("stage_id", "stage_key", "pool", "start_ts", "end_ts"),
)

# Inventory of provisioned GPUs per pool (one file per pool): the denominator of pool-wide metrics,
# so that a GPU that sent no telemetry still counts as provisioned.
GPU_INVENTORY = Dataset(
    "gpu_inventory",
    pa.schema(
        [
            ("pool", pa.string()),
            ("hostname", pa.string()),
            ("gpu_index", pa.int32()),
            ("gpu_uuid", pa.string()),
            ("model_name", pa.string()),
            ("memory_gb", pa.float64()),
        ]
    ),
    None,
    ("gpu_uuid",),
    ("pool", "gpu_uuid", "model_name", "memory_gb"),
)

DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (GPU_SAMPLES, JOBS, JOB_EVENTS, INFERENCE_REQUESTS, EXPERIMENTS, SCRAPE_HEALTH, SERVING_METRICS,
              POD_ALLOCATIONS, STAGE_CALENDAR, GPU_INVENTORY)
}

WORKLOAD_TYPES = ("training", "inference", "development", "evaluation", "other")
# `pending` extends DESIGN.md: a job submitted but not started when the data ends.
JOB_STATUSES = ("succeeded", "failed", "cancelled", "preempted", "running", "pending")
JOB_EVENT_TYPES = ("submitted", "started", "checkpoint", "failed", "restarted", "preempted", "finished")
REQUEST_STATUSES = ("ok", "error", "timeout", "cancelled")
EXPERIMENT_STATUSES = ("ok", "failed")
SERVING_VALUE_KINDS = ("increase", "mean", "total")
POD_PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
STAGE_KEYS = ("baseline", "sharing", "orchestration", "data_infra", "software", "resilience", "load_mgmt")
