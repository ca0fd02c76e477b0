"""Ingestion: every source writes the landing datasets of DESIGN.md as date-partitioned Parquet."""
