"""Daily partitions (UTC days) from the first day the configured sources have data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import dagster as dg

from ingestion.config import load_config
from ingestion.from_config import first_day

# Partitions start on the first day of the configuration loaded with the code location
# (GPU_EFF_CONFIG; the simulated cluster's scenario when unset).
daily = dg.DailyPartitionsDefinition(start_date=first_day(load_config()).isoformat(), timezone="UTC")

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
