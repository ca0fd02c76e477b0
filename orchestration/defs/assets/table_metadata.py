"""What the UI shows on a table dbt built, read from the warehouse after dbt exits: its column types
(information_schema) and row count, and for a mart its pools, its days and a preview of its rows.

The preview is a `MetadataValue.table`: the Dagster 1.13 UI draws a table entry inline on the asset's page,
where Markdown longer than 1,000 characters hides behind "[Show Markdown]".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import dagster as dg
import duckdb

PREVIEW_ROWS = 10
COUNTED = ("table", "incremental", "seed")  # views are not counted: they re-read the landing Parquet
# mart_stage_metrics' preview: the ten metrics of the deck's metric model (seed metric_definitions), by stage.
STAGE_METRICS = "mart_stage_metrics"
METRICS_SQL = "select metric from reference.metric_definitions where in_dictionary order by metric_order"


def relation_metadata(con: duckdb.DuckDBPyConnection, node: Mapping[str, Any]) -> dict[str, Any]:
    """Column schema, row count and, for a mart, its summary; empty where the relation is not in the warehouse."""
    schema, name = node["schema"], node.get("alias") or node["name"]
    columns = con.execute("""select column_name, data_type from information_schema.columns
                             where table_schema = ? and table_name = ? order by ordinal_position""",
                          [schema, name]).fetchall()
    if not columns:
        return {}
    described = {column: props.get("description") or None for column, props in node.get("columns", {}).items()}
    metadata: dict[str, Any] = {"dagster/column_schema": dg.TableSchema(columns=[
        dg.TableColumn(column, data_type, description=described.get(column)) for column, data_type in columns])}
    relation = node["relation_name"]
    if node.get("config", {}).get("materialized") in COUNTED:
        metadata["dagster/row_count"] = con.execute(f"select count(*) from {relation}").fetchone()[0]
    if schema == "marts":
        metadata.update(mart_summary(con, relation, columns, stage_metrics=name == STAGE_METRICS))
    return metadata


def mart_summary(con: duckdb.DuckDBPyConnection, relation: str, columns: Sequence[tuple[str, str]],
                 stage_metrics: bool = False) -> dict[str, Any]:
    """The mart's pools, the span of its date and timestamp columns, and its first rows (for mart_stage_metrics
    the ten metrics by pool and stage)."""
    names = [column for column, _ in columns]
    summary: dict[str, Any] = {}
    if "pool" in names:
        pools = [r[0] for r in con.execute(f"select distinct pool from {relation} order by pool").fetchall()]
        summary["pools"] = ", ".join(map(str, pools)) or "none"
    times = [column for column, data_type in columns if data_type == "DATE" or data_type.startswith("TIMESTAMP")]
    if times:
        first, last = con.execute(f"""select min(least({', '.join(f'"{c}"' for c in times)})),
                                             max(greatest({', '.join(f'"{c}"' for c in times)}))
                                      from {relation}""").fetchone()
        summary["time_span"] = f"{_instant(first)} … {_instant(last)}" if first is not None else "no dates"
    shown = ["pool", "stage_id", *_ten_metrics(con, names)] if stage_metrics else names
    order = ", ".join(c for c in ("pool", "stage_id") if c in names) or "all"
    frame = con.execute(f"""select {', '.join(f'"{c}"' for c in shown)} from {relation}
                            order by {order} limit {PREVIEW_ROWS}""").fetchall()
    summary["preview"] = dg.MetadataValue.table(
        records=[dg.TableRecord({c: _cell(v) for c, v in zip(shown, row, strict=True)}) for row in frame],
        schema=dg.TableSchema(columns=[dg.TableColumn(c, dict(columns)[c]) for c in shown]))
    return summary


def _ten_metrics(con: duckdb.DuckDBPyConnection, names: Sequence[str]) -> list[str]:
    return [r[0] for r in con.execute(METRICS_SQL).fetchall() if r[0] in names]


def _instant(value: Any) -> str:
    """A date as is, a timestamp to the minute (UTC): a window's end is often the next day's midnight, exclusive."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if isinstance(value, dt.datetime) else str(value)


def _cell(value: Any) -> str | int | float | bool | None:
    """A value a TableRecord holds: floats to 4 significant digits, dates and the rest as text."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, (float, Decimal)):
        return float(f"{float(value):.4g}")
    return str(value)
