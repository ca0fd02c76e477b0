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


# Session fixtures that build something (a pipeline run, a warehouse): the tests that use one run on one
# pytest-xdist worker, so it is built once.
SHARED_BUILDS = ("tiny_pipeline", "built_warehouse")
# The groups that take longest (measured: ~200 s, ~70 s, ~80 s of a ~600 s suite), handed to the workers first
# (`--no-loadscope-reorder` keeps this order), so that the short groups fill in around them and the workers end
# together instead of one starting a long group when the other is nearly done.
LONGEST_FIRST = ("test_dbt_spark", "tiny_pipeline", "test_pipeline_demo", "built_warehouse")


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`-n`, `--dist loadgroup`), a module's tests stay on one worker (its module fixtures are
    built once), every module that uses a shared build stays with the others that use it, and the longest groups
    come first."""
    group_of: dict[str, str] = {}
    for item in items:
        shared = next((name for name in SHARED_BUILDS if name in item.fixturenames), None)
        if shared is not None or item.module.__name__ not in group_of:
            group_of[item.module.__name__] = shared or group_of.get(item.module.__name__) or item.module.__name__
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of[item.module.__name__]))
    rank = {group: position for position, group in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(group_of[item.module.__name__], len(rank)))  # stable: module order kept


@pytest.fixture(scope="session")
def shared() -> Path:
    if not SHARED.is_dir():
        pytest.fail(f"{SHARED} not found: the tests read the real fixtures in ../shared")
    return SHARED


@pytest.fixture(scope="session")
def tiny_pipeline(tmp_path_factory):
    """(data dir, result) of one clean Dagster run of the tiny scenario over every day, with a deck: shared by
    the end-to-end tests (tests that change its data work on a copy; a re-run must leave the same outputs)."""
    from pipeline_run import run_pipeline

    data_dir = tmp_path_factory.mktemp("tiny")
    result = run_pipeline("tiny", data_dir)
    assert result.success
    return data_dir, result
