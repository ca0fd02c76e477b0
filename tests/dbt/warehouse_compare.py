"""Two builds of the warehouse compared table by table: DuckDB's, and Spark's read through its published views
(orchestration/spark_warehouse.py)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.spark_warehouse import SCHEMAS

RELATIVE = 1e-9  # numbers: |a - b| <= RELATIVE x max(|a|, |b|) (floats are summed in another order by each engine)


@dataclass
class Comparison:
    tables: list[str] = field(default_factory=list)
    worst_relative: float = 0.0
    worst_at: str = ""
    problems: list[str] = field(default_factory=list)


def relations(con: duckdb.DuckDBPyConnection, kind: str) -> list[str]:
    """`schema.name` of the relations of one kind ('BASE TABLE', 'VIEW') in the warehouse's schemas."""
    rows = con.execute("select table_schema || '.' || table_name from information_schema.tables "
                       f"where table_type = ? and table_schema in ({', '.join('?' * len(SCHEMAS))}) order by 1",
                       [kind, *SCHEMAS]).fetchall()
    return [name for (name,) in rows]


def kind_of(series: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(series):
        return "timestamp"
    return "text"  # strings, dates (datetime.date objects), lists


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """The rows in an order that does not depend on the engine: sorted by every column, numbers by their first 9
    significant digits, everything else by its text."""
    frame = frame.copy()
    keys = []
    for column in frame.columns:
        kind = kind_of(frame[column])
        if kind == "text":
            frame[column] = frame[column].map(_text)
        elif kind == "number":
            frame[column] = frame[column].astype("float64")
        key = f"__key_{column}"
        frame[key] = (frame[column].map(lambda v: -math.inf if pd.isna(v) else float(f"{v:.9g}")) if kind == "number"
                      else frame[column].astype("string").fillna(""))
        keys.append(key)
    return frame.sort_values(keys, kind="stable").drop(columns=keys).reset_index(drop=True)


def _text(value: object) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "tolist") or isinstance(value, list):  # a list column
        return repr([str(v) for v in list(value)])
    return str(value)


def compare(duckdb_warehouse: Path, spark_warehouse: Path) -> Comparison:
    """Every table of DuckDB's build against the relation of the same name in Spark's: columns, row count, and each
    value (numbers within RELATIVE)."""
    result = Comparison()
    with duckdb.connect(str(duckdb_warehouse), read_only=True) as duck, \
            duckdb.connect(str(spark_warehouse), read_only=True) as spark:
        published = set(relations(spark, "VIEW"))
        for table in relations(duck, "BASE TABLE"):
            result.tables.append(table)
            if table not in published:
                result.problems.append(f"{table}: not built on Spark")
                continue
            expected, actual = duck.sql(f"select * from {table}").df(), spark.sql(f"select * from {table}").df()
            if set(expected.columns) != set(actual.columns):
                differing = sorted(set(expected.columns) ^ set(actual.columns))
                result.problems.append(f"{table}: columns differ: {differing}")
                continue
            if len(expected) != len(actual):
                result.problems.append(f"{table}: {len(expected)} rows on DuckDB, {len(actual)} on Spark")
                continue
            _compare_values(result, table, canonical(expected), canonical(actual[list(expected.columns)]))
    return result


def _compare_values(result: Comparison, table: str, expected: pd.DataFrame, actual: pd.DataFrame) -> None:
    for column in expected.columns:
        a, b = expected[column], actual[column]
        if kind_of(a) != kind_of(b):
            result.problems.append(f"{table}.{column}: {a.dtype} on DuckDB, {b.dtype} on Spark")
        elif kind_of(a) == "number":
            if (a.isna() != b.isna()).any():
                result.problems.append(f"{table}.{column}: nulls differ in {int((a.isna() != b.isna()).sum())} rows")
                continue
            scale = pd.concat([a.abs(), b.abs()], axis=1).max(axis=1)
            relative = ((a - b).abs() / scale.where(scale > 0, 1.0)).fillna(0.0)
            if relative.max() > result.worst_relative:
                result.worst_relative, result.worst_at = float(relative.max()), f"{table}.{column}"
            if relative.max() > RELATIVE:
                result.problems.append(f"{table}.{column}: numbers differ by up to {relative.max():.3g} relative")
        elif not a.astype("object").where(a.notna(), None).equals(b.astype("object").where(b.notna(), None)):
            differing = [(x, y) for x, y in zip(a, b, strict=True) if not (pd.isna(x) and pd.isna(y)) and x != y]
            result.problems.append(f"{table}.{column}: {len(differing)} values differ, e.g. {differing[:2]}")
