"""Shared test set-up: no network-bound telemetry, and the real fixtures in ../shared."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

for key, value in {"DO_NOT_TRACK": "1", "DAGSTER_DISABLE_TELEMETRY": "1",
                   "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "GX_ANALYTICS_ENABLED": "false"}.items():
    os.environ.setdefault(key, value)


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} not found: the tests read the real fixtures in ../shared")
    return SHARED
