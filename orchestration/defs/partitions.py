"""Daily partitions (UTC days) over the days the configured sources have data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from ingestion.config import Config, load_config
from ingestion.from_config import first_day


def partition_bounds(config: Config) -> tuple[dt.date, dt.date | None]:
    """The first day and the day after the last (None: open, the partitions then run to yesterday).

    A simulated cluster has data on its scenario's days only (the same days `gpu-eff window` prints); a real
    cluster from its first configured stage on, one more day every day."""
    if config.scenario is not None:
        from ingestion.simulator.scenario import load_scenario

        return first_day(config), load_scenario(config.scenario).dates()[-1] + dt.timedelta(days=1)
    return first_day(config), None


def daily_partitions(config: Config) -> dg.DailyPartitionsDefinition:
    start, end = partition_bounds(config)
    return dg.DailyPartitionsDefinition(start_date=start.isoformat(), end_date=end and end.isoformat(),
                                        timezone="UTC")


# The partitions of the configuration loaded with the code location (GPU_EFF_CONFIG; the simulated cluster's
# scenario when unset).
daily = daily_partitions(load_config())

# Tag of every daily-partitioned asset, so that `--select 'tag:partitioning=daily'` finds them.
DAILY_TAG = {"partitioning": "daily"}

# Steps that open the DuckDB warehouse share this pool; the instance allows one step at a time in it.
WAREHOUSE_POOL = "duckdb_warehouse"

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def run_days(tags: Mapping[str, str]) -> list[dt.date] | None:
    """The UTC days of the run's partition (a single-run backfill's range, or one partition); None without."""
    if RANGE_START in tags and RANGE_END in tags:
        first, last = dt.date.fromisoformat(tags[RANGE_START]), dt.date.fromisoformat(tags[RANGE_END])
        return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]
    if "dagster/partition" in tags:
        return [dt.date.fromisoformat(tags["dagster/partition"])]
    return None
