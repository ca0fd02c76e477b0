"""Fixtures for the deck tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from deck_warehouse import WarehouseFactory, make_warehouse


@pytest.fixture
def warehouse(tmp_path: Path) -> WarehouseFactory:
    def factory(pool: str = "pool-a", sources: str = "simulator", extra_pools: tuple[str, ...] = (),
                lab: bool = True, stage_marts: bool = True) -> Path:
        return make_warehouse(tmp_path / "warehouse.duckdb", pool, sources, extra_pools, lab, stage_marts)

    return factory
