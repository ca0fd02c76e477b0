"""Daily refresh at 06:00 Asia/Shanghai: land and build the last complete UTC day, then marts and deck."""


import datetime as dt

import dagster as dg

from orchestration.defs.checks import source_checks
from orchestration.defs.partitions import daily

daily_refresh_job = dg.define_asset_job(
    "daily_refresh",
    selection=dg.AssetSelection.all(),
    description="One day's landing partition and incremental models, then the marts and the deck.",
)

# After a change to the dbt models (or to rebuild from scratch): every asset but the landing itself, over a
# partition range (tags dagster/asset_partition_range_start and _end), with the source-health checks.
warehouse_rebuild_job = dg.define_asset_job(
    "warehouse_rebuild",
    selection=(dg.AssetSelection.all() - dg.AssetSelection.groups("ingestion"))
    | dg.AssetSelection.checks(source_checks.source_health_checks),
    description="The warehouse, its checks and the deck, rebuilt from the landing Parquet (nothing is re-landed).",
)


def last_complete_utc_day(now: dt.datetime) -> dt.date:
    return now.astimezone(dt.UTC).date() - dt.timedelta(days=1)


@dg.schedule(
    job=daily_refresh_job,
    cron_schedule="0 6 * * *",
    execution_timezone="Asia/Shanghai",
    name="daily_refresh_0600_shanghai",
    description="Every day at 06:00 Asia/Shanghai: refresh yesterday (the last complete UTC day), rebuild the deck. "
                "On the simulated cluster, whose days are fixed and landed by `make demo`, each tick is skipped "
                "with the reason.",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
    day = last_complete_utc_day(context.scheduled_execution_time)
    if not daily.has_partition_key(day.isoformat()):
        first, last = daily.get_first_partition_key(), daily.get_last_partition_key()
        return dg.SkipReason(f"no partition for {day}: the configured data covers {first} to {last} "
                             "(the simulated cluster's fixed days; set GPU_EFF_CONFIG to refresh a real cluster)")
    return dg.RunRequest(run_key=day.isoformat(), partition_key=day.isoformat())
