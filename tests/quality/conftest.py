"""One clean run of the tiny scenario, shared by the quality tests; fault runs work on copies of its data."""

from __future__ import annotations

import hashlib
import shutil
import sys
from pathlib import Path

import dagster as dg
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: pipeline_run

from pipeline_run import environment, ephemeral_instance  # noqa: E402

LAST_DAY = "2026-10-11"  # the tiny scenario's last day: what the daily schedule would refresh next


@pytest.fixture(scope="session")
def clean_run(tiny_pipeline):
    """(data dir, result) of one full tiny run (every day), with a deck (tests/conftest.py)."""
    return tiny_pipeline


def copy_of(data_dir: Path, target: Path) -> Path:
    shutil.copytree(data_dir, target)
    return target


def deck_hashes(data_dir: Path) -> dict[str, str]:
    """sha256 of every file under deck/ (the decks, their evidence, the preview images)."""
    deck = data_dir / "deck"
    return {str(p.relative_to(deck)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(deck.rglob("*")) if p.is_file()}


def run_day(data_dir: Path, day: str = LAST_DAY) -> dg.ExecuteInProcessResult:
    """The daily_refresh job on one partition (as the schedule runs it), failures returned, not raised."""
    from orchestration.definitions import defs

    with environment(GPU_EFF_SCENARIO="tiny", GPU_EFF_DATA_DIR=str(data_dir)), ephemeral_instance() as instance:
        return defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=instance, partition_key=day, raise_on_error=False)


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, object]:
    """'asset:check_name' -> AssetCheckEvaluation of the run."""
    return {f"{e.asset_key.to_user_string()}:{e.check_name}": e for e in result.get_asset_check_evaluations()}


def materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
