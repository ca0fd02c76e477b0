"""Resources shared by the assets."""

from __future__ import annotations

from collections.abc import Sequence

from dagster_dbt import DbtCliResource

from orchestration.defs.project import dbt_project


class WarehouseDbt(DbtCliResource):
    """dagster-dbt's dbt CLI, without the in-process dbt adapter it builds before every dbt command (~2.5 s each:
    dbt's profile and macros loaded again). That adapter only serves `fetch_row_counts()` and
    `fetch_column_metadata()`, which the pipeline does not call: it reads row counts and columns from the
    warehouse after dbt exits (assets/warehouse.py, `with_row_counts`)."""

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002 (dagster-dbt's signature)
        return None


def build() -> dict:
    return {"dbt": WarehouseDbt(project_dir=dbt_project)}
