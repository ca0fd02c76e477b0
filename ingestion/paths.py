"""Where data lives: `GPU_EFF_DATA_DIR`, else `data/` at the project root."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
# The engines that build the warehouse (dbt_project/profiles.yml's targets): DuckDB's is warehouse.duckdb, Spark's
# the Parquet tables under spark/ (read through views in warehouse.duckdb, orchestration/spark_warehouse.py).
WAREHOUSE_ENGINES = ("duckdb", "spark")
ENGINE_ENV = "GPU_EFF_WAREHOUSE_ENGINE"  # the engine of dbt's commands; overrides the configuration's warehouse.engine


def data_dir() -> Path:
    configured = os.environ.get("GPU_EFF_DATA_DIR")
    return Path(configured).expanduser().resolve() if configured else PROJECT_ROOT / "data"


def landing_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "landing"


def quarantine_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "quarantine"


def warehouse_path(base: Path | None = None) -> Path:
    return (base or data_dir()) / "warehouse.duckdb"


def deck_dir(base: Path | None = None) -> Path:
    return (base or data_dir()) / "deck"
