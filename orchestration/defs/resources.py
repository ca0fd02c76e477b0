"""Resources shared by the assets."""

from __future__ import annotations

from dagster_dbt import DbtCliResource

from orchestration.defs.project import dbt_project


def build() -> dict:
    return {"dbt": DbtCliResource(project_dir=dbt_project)}
