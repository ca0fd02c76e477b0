"""Dagster orchestration: ingestion → dbt warehouse → deck, partitioned daily, scheduled at 06:00 Shanghai.

Importing the package first quiets telemetry and makes the data directory and the venv's dbt visible to
every subprocess (see `environment`), whichever module is imported first.
"""

from orchestration.environment import configure

configure()
