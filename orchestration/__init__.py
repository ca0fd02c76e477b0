"""Dagster orchestration: ingestion → dbt warehouse → deck, partitioned daily, scheduled at 06:00 Shanghai."""
