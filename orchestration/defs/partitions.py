"""Daily partitions (UTC days) from the first day the configured sources have data."""

from __future__ import annotations

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
