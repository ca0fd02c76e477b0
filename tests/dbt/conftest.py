"""Run the dbt project (dbt-duckdb) against small hand-made landing datasets in a tmp GPU_EFF_DATA_DIR."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:  # `ingestion` is imported from the working tree, also under plain `pytest`
    sys.path.insert(0, str(REPO))

import dbt_landing_fixture  # noqa: E402
from dbt_warehouse import DbtWarehouse  # noqa: E402


@pytest.fixture(scope="session")
def built_warehouse(tmp_path_factory) -> DbtWarehouse:
    """The hand-made two-stage dataset, landed and built once with `dbt build` (models + tests)."""
    data_dir = tmp_path_factory.mktemp("gpu_eff_data")
    dbt_landing_fixture.write_all(data_dir)
    warehouse = DbtWarehouse(data_dir)
    warehouse.dbt("build")
    return warehouse
