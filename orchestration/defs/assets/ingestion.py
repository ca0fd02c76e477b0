"""Ingestion assets: the landing datasets, written as date-partitioned Parquet (never DuckDB).

Every asset reads the configuration (`GPU_EFF_CONFIG`; the simulated cluster when unset) at run time.
"""


import datetime as dt
from collections import defaultdict

import dagster as dg

from ingestion import from_config, paths
from ingestion.config import load_config
from orchestration.defs.partitions import DAILY_TAG, daily

DAILY_DATASETS = {
    "gpu_samples": "GPU telemetry, one row per metric reading (DCGM names and units as received).",
    "jobs": "Jobs (training, inference replicas, notebooks, evaluations), by submit date.",
    "job_events": "Job lifecycle events: submitted, started, checkpoint, failed, restarted, preempted, finished.",
    "inference_requests": "Inference requests with arrival, scheduling, first-token and end times, by arrival date.",
    "serving_metrics": "Serving engines' own metrics (vLLM, SGLang, Triton, TGI) per pod and minute: counter "
                       "increases, histogram buckets and gauge means, names as received.",
    "pod_allocations": "GPU pods from kube-state-metrics: GPU requests, phase, node, created/start/end times, "
                       "tenant, queue and workload type.",
}
CONFIG_DATASETS = {
    "stage_calendar": "Which efficiency stage was in force when, per pool.",
    "gpu_inventory": "The provisioned GPUs of each pool: the denominator of pool-wide metrics.",
}


def _spec(name: str, description: str, partitioned: bool) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=dg.AssetKey(["landing", name]),
        description=description,
        group_name="ingestion",
        kinds={"parquet", "python"},
        owners=["team:gpu-platform"],
        partitions_def=daily if partitioned else None,
        tags=DAILY_TAG if partitioned else None,
    )


def _describe_sources(config) -> str:
    sources = []
    if config.scenario is not None:
        sources.append(f"simulator (scenario {config.scenario})")
    if config.prometheus is not None:
        sources.append(f"prometheus ({config.prometheus.url}, pool {config.prometheus.pool})")
    sources += [f"{log.kind} ({log.path.name}, pool {log.pool})" for log in config.logs
                if log.kind not in from_config.LAB_KINDS]
    return "; ".join(sources) or "none"


def _results(names, files, metadata):
    by_dataset = defaultdict(list)
    for file in files:
        by_dataset[file.dataset].append(file)
    for name in names:
        landed = by_dataset[name]
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["landing", name]),
            metadata={
                "dagster/row_count": sum(f.rows for f in landed),
                "quarantined_rows": sum(f.quarantined for f in landed),
                "files": len(landed),
                **metadata,
                "path": dg.MetadataValue.path(str(paths.landing_dir() / name)),
            },
        )


@dg.multi_asset(
    specs=[_spec(name, desc, True) for name, desc in DAILY_DATASETS.items()],
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="landing_daily",
)
def landing(context: dg.AssetExecutionContext):
    """Land each day of the partition window from the configured daily sources (the simulated cluster,
    Prometheus history, the configured log files)."""
    window = context.partition_time_window
    days = [window.start.date() + dt.timedelta(days=i) for i in range((window.end - window.start).days)]
    config = load_config()
    files = from_config.land_days(config, days, progress=context.log.info)
    yield from _results(DAILY_DATASETS, files, {"first_day": str(days[0]), "last_day": str(days[-1]),
                                                "days": len(days), "sources": _describe_sources(config)})


@dg.multi_asset(
    specs=[_spec(name, desc, False) for name, desc in CONFIG_DATASETS.items()],
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="landing_config",
)
def landing_config(context: dg.AssetExecutionContext):
    """Land the stage calendar and the GPU inventory of every configured pool."""
    files = from_config.land_pool_tables(load_config())
    yield from _results(CONFIG_DATASETS, files, {})


@dg.asset(
    key=dg.AssetKey(["landing", "experiments"]),
    group_name="ingestion",
    kinds={"parquet", "python"},
    owners=["team:gpu-platform"],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def landing_experiments(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Controlled experiments (by default the vendored real H200 lab runs), one row per phase; their NVML
    telemetry lands in gpu_samples under the lab's own pool, on the days the runs happened."""
    config = load_config()
    files = from_config.land_lab(config)
    for file in files:
        if file.day == from_config.SCHEMA_DAY:
            context.log.info(f"{file.dataset}: nothing landed yet; an empty placeholder file gives the warehouse "
                             f"its columns until a source lands rows ({file.path})")
        else:
            context.log.info(f"{file.dataset} {file.day}: {file.rows} rows, {file.quarantined} quarantined")
    experiments = [f for f in files if f.dataset == "experiments"]
    labs = [f"{log.path} (pool {log.pool})" for log in config.logs if log.kind in from_config.LAB_KINDS]
    return dg.MaterializeResult(metadata={
        "dagster/row_count": sum(f.rows for f in experiments),
        "quarantined_rows": sum(f.quarantined for f in files),
        "telemetry_rows": sum(f.rows for f in files if f.dataset == "gpu_samples"),
        "labs": "; ".join(labs) or "none configured",
        "path": dg.MetadataValue.path(str(paths.landing_dir() / "experiments")),
    })
