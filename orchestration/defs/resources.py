"""Resources shared by the assets."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from typing import Any

from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging import version

from orchestration.dbt_in_process import dbt_in_process
from orchestration.defs.project import dbt_project


class WarehouseDbt(DbtCliResource):
    """dagster-dbt's dbt CLI, its commands run in the run's process (orchestration/dbt_in_process.py), without the
    second dbt adapter dagster-dbt builds before every dbt command (~2.5 s each: dbt's profile and macros loaded
    again). That adapter only serves `fetch_row_counts()` and `fetch_column_metadata()`, which the pipeline does not
    call: it reads row counts and columns from the warehouse after dbt exits (assets/warehouse.py,
    `with_row_counts`)."""

    def cli(self, args: Sequence[str], **kwargs: Any) -> DbtCliInvocation:
        with dbt_in_process():
            return super().cli(args, **kwargs)

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # noqa: ARG002 (dagster-dbt's signature)
        return None

    @cached_property
    def _cli_version(self) -> version.Version:
        """dbt-core's version, read from the installed package: the `dbt` this resource runs is dbt-core's (a
        dependency of this project, not the Fusion engine), so dagster-dbt's `dbt --version` subprocess, which
        imports dbt once more (~2 s on every run's first dbt command), tells nothing new."""
        return version.parse(installed_version("dbt-core"))


# dbt's own log file (`<data dir>/dbt_target/dbt.log`) keeps warnings and errors only: at its default, debug, it
# writes every statement of every node (10 MB a run), which made a dbt step ~12 % slower. What dbt prints (its
# info lines: each node's outcome, every error) still reaches the run's log in Dagster.
DBT_FLAGS = ["--log-level-file", "warn"]


def build() -> dict:
    return {"dbt": WarehouseDbt(project_dir=dbt_project, global_config_flags=DBT_FLAGS)}
