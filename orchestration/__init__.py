"""Dagster orchestration: ingestion → dbt warehouse → deck, partitioned daily, scheduled at 06:00 Shanghai.

Importing the package first quiets telemetry and makes the data directory and the venv's dbt visible to
every subprocess (see `environment`), whichever module is imported first.
"""

import warnings

from orchestration.environment import configure

configure()
# `backfill_policy` on unpartitioned assets is in beta; it is what lets `dg launch --partition-range` run the
# whole job (landing, warehouse, deck) as one run, so the warning would only alarm users on every command.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy` of function", module="dagster")
