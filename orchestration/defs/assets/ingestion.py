"""Ingestion assets: the landing datasets, written as date-partitioned Parquet (never DuckDB)."""


import datetime as dt
from collections import defaultdict

import dagster as dg

from ingestion import paths
from ingestion.simulator.run import land_config, land_day, simulation_for
from orchestration.defs.partitions import DAILY_TAG, daily, scenario_ref

DAILY_DATASETS = {
    "gpu_samples": "GPU telemetry, one row per metric reading (DCGM names and units as received).",
    "jobs": "Jobs (training, inference replicas, notebooks, evaluations), by submit date.",
    "job_events": "Job lifecycle events: submitted, started, checkpoint, failed, restarted, preempted, finished.",
    "inference_requests": "Inference requests with arrival, scheduling, first-token and end times, by arrival date.",
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


@dg.multi_asset(
    specs=[_spec(name, desc, True) for name, desc in DAILY_DATASETS.items()],
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="landing_daily",
)
def landing(context: dg.AssetExecutionContext):
    """Land each day of the partition window from the configured source (the simulated cluster)."""
    window = context.partition_time_window
    days = [window.start.date() + dt.timedelta(days=i) for i in range((window.end - window.start).days)]
    sim = simulation_for(scenario_ref())
    scenario = sim.scenario
    landed = defaultdict(list)
    for n, day in enumerate(days, 1):
        for file in land_day(sim, day):
            landed[file.dataset].append(file)
        context.log.info(f"landed {day} ({n}/{len(days)} days)")
    outside = [d for d in days if not scenario.start_date <= d < scenario.start_date + dt.timedelta(scenario.days)]
    for name in DAILY_DATASETS:
        files = landed[name]
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["landing", name]),
            metadata={
                "dagster/row_count": sum(f.rows for f in files),
                "quarantined_rows": sum(f.quarantined for f in files),
                "first_day": str(days[0]),
                "last_day": str(days[-1]),
                "days": len(days),
                "days_outside_scenario": len(outside),
                "source": f"simulator (scenario {scenario.name}, seed {scenario.seed})",
                "path": dg.MetadataValue.path(str(paths.landing_dir() / name)),
            },
        )


@dg.multi_asset(
    specs=[_spec(name, desc, False) for name, desc in CONFIG_DATASETS.items()],
    name="landing_config",
)
def landing_config(context: dg.AssetExecutionContext):
    """Land the configuration tables of the configured source."""
    sim = simulation_for(scenario_ref())
    for file in land_config(sim):
        yield dg.MaterializeResult(
            asset_key=dg.AssetKey(["landing", file.dataset]),
            metadata={
                "dagster/row_count": file.rows,
                "quarantined_rows": file.quarantined,
                "path": dg.MetadataValue.path(str(file.path)),
            },
        )
