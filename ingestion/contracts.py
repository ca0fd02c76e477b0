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
    ("request_id", "pool", "service", "arrival_ts", "end_ts", "prompt_tokens", "output_tokens", "status"),
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
    d.name: d for d in (GPU_SAMPLES, JOBS, JOB_EVENTS, INFERENCE_REQUESTS, STAGE_CALENDAR, GPU_INVENTORY)
}

WORKLOAD_TYPES = ("training", "inference", "development", "evaluation", "other")
# `pending` extends DESIGN.md: a job submitted but not started when the data ends.
JOB_STATUSES = ("succeeded", "failed", "cancelled", "preempted", "running", "pending")
JOB_EVENT_TYPES = ("submitted", "started", "checkpoint", "failed", "restarted", "preempted", "finished")
REQUEST_STATUSES = ("ok", "error", "timeout", "cancelled")
STAGE_KEYS = ("baseline", "sharing", "orchestration", "data_infra", "software", "resilience", "load_mgmt")
