"""The pipeline on the Spark engine, in a process of its own (Spark's JVM and its metastore belong to one data
directory for the life of a process), on the tiny scenario. Prints one JSON line.

    python tests/dbt/spark_run.py dagster DATA_DIR FIRST_DAY LAST_DAY
        one Dagster run of daily_refresh over those days, up to the marts and their checks (two or three days have
        not the seven stages the expectations ask for): whether it succeeded, the assets it
        materialised and the checks it evaluated, and what the job's selection holds (every asset and every check of
        those assets)
    python tests/dbt/spark_run.py dbt DATA_DIR DBT_ARG...
        one dbt command as the pipeline runs it (its tables then published to warehouse.duckdb): whether it
        succeeded, and its errors"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO), str(REPO / "tests")]
WAREHOUSE_STEP = "warehouse_models"  # a Dagster run up to the marts and their dbt tests, and what they read


def dagster_run(first: str, last: str) -> dict:
    import pipeline_run

    from orchestration.definitions import defs

    start, end = dt.date.fromisoformat(first), dt.date.fromisoformat(last)
    job = defs.resolve_job_def("daily_refresh")
    with pipeline_run.ephemeral_instance() as instance:
        result = job.execute_in_process(
            instance=instance, op_selection=[f"*{WAREHOUSE_STEP}"],
            tags={"dagster/asset_partition_range_start": start.isoformat(),
                  "dagster/asset_partition_range_end": end.isoformat()})
    ran = set(job.get_subset(op_selection=[f"*{WAREHOUSE_STEP}"]).graph.node_dict)  # the ops of the selection
    by_ops = [assets for assets in defs.resolve_asset_graph().assets_defs
              if assets.is_executable and assets.node_def.name in ran]
    selected = {key for assets in by_ops for key in assets.keys}
    checks = {key for assets in by_ops for key in assets.check_keys}
    return {
        "success": result.success,
        "materialized": sorted({e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}),
        "checks": {f"{e.asset_key.to_user_string()}:{e.check_name}": e.passed
                   for e in result.get_asset_check_evaluations()},
        "selected": sorted(key.to_user_string() for key in selected),
        "selected_checks": sorted(f"{key.asset_key.to_user_string()}:{key.name}" for key in checks),
    }


def dbt_command(*args: str) -> dict:
    from orchestration.dbt_in_process import run_dbt

    errors: list[str] = []

    def keep_errors(event) -> None:  # noqa: ANN001 (a dbt EventMsg)
        if event.info.level == "error":
            errors.append(event.info.msg)

    dbt_dir = REPO / "dbt_project"
    data_dir = Path(os.environ["GPU_EFF_DATA_DIR"])
    result = run_dbt([*args, "--project-dir", str(dbt_dir), "--profiles-dir", str(dbt_dir),
                      "--target-path", str(data_dir / "dbt_target"), "--log-path", str(data_dir / "dbt_logs")],
                     {"DBT_LOG_LEVEL": "none"}, keep_errors)
    return {"success": result.success, "errors": errors}


def main(mode: str, data_dir: str, *args: str) -> None:
    os.environ.update(GPU_EFF_WAREHOUSE_ENGINE="spark", GPU_EFF_SCENARIO="tiny", GPU_EFF_DATA_DIR=data_dir)
    print(json.dumps(dagster_run(*args) if mode == "dagster" else dbt_command(*args)))


if __name__ == "__main__":
    main(*sys.argv[1:])
