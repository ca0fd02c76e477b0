"""The dbt warehouse: incremental models per daily partition, everything else rebuilt after them."""


import json
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets

from orchestration.defs.partitions import DAILY_TAG, WAREHOUSE_POOL, daily
from orchestration.defs.project import dbt_project

INCREMENTAL = "config.materialized:incremental"
INCREMENTAL_INPUTS = "+config.materialized:incremental"  # the incremental models and all they read


class WarehouseTranslator(DagsterDbtTranslator):
    """Models and seeds are keyed by name in the `warehouse` group; sources stay `landing/<table>`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "warehouse"

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if dbt_resource_props.get("config", {}).get("materialized") == "incremental":
            tags.update(DAILY_TAG)
        return tags


def partition_vars(context: dg.AssetExecutionContext) -> dict[str, str]:
    """dbt vars for the partition window being built (end exclusive)."""
    window = context.partition_time_window
    return {"start_date": window.start.date().isoformat(), "end_date": window.end.date().isoformat()}


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=INCREMENTAL_INPUTS,
    exclude=INCREMENTAL,
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    name="warehouse_inputs",
)
def warehouse_inputs(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Seeds, staging views and small lookup models that the incremental models read."""
    yield from dbt.cli(["build"], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=INCREMENTAL,
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    name="warehouse_daily",
)
def warehouse_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Incremental models (per-GPU-minute telemetry and the like): only the partition's days are rebuilt."""
    yield from dbt.cli(["build", "--vars", json.dumps(partition_vars(context))], context=context).stream()


@dbt_assets(
    manifest=dbt_project.manifest_path,
    exclude=INCREMENTAL_INPUTS,
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    name="warehouse_models",
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """The marts and what only they read, rebuilt from the incremental models."""
    yield from dbt.cli(["build"], context=context).stream()
