"""The warehouse built by Spark, read through DuckDB: what everything downstream of dbt reads.

With `warehouse.engine: spark`, dbt builds the models as Parquet tables of Spark's warehouse (<data>/spark/warehouse,
dbt_project/profiles.yml). The source-health checks, the expectations, the quality report and the deck read the marts
from the DuckDB file `warehouse.duckdb` whatever the engine: after each dbt command on Spark, `publish` writes there one
view per table Spark holds, over that table's Parquet files. Only the small marts and reference tables are read
this way at fleet scale; the views read the files when queried, so they stay current until a table's columns change,
which a command's `publish` writes again.

Spark's own views (the staging models) are SQL in Spark's dialect and are not published: nothing downstream reads them.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion import paths

SCHEMAS = ("intermediate", "marts", "reference")  # dbt_project.yml: the schemas of the models' and seeds' tables
CHANGES_TABLES = ("build", "run", "seed")  # dbt commands after which Spark's tables may have changed

# Spark SQL's type names (DataType.simpleString) as DuckDB's, for the typed empty view of a table without files.
DUCKDB_TYPES = {"string": "VARCHAR", "int": "INTEGER", "bigint": "BIGINT", "smallint": "SMALLINT",
                "tinyint": "TINYINT", "double": "DOUBLE", "float": "FLOAT", "boolean": "BOOLEAN", "date": "DATE",
                "timestamp_ntz": "TIMESTAMP", "timestamp": "TIMESTAMPTZ"}


def missing_prerequisites() -> list[str]:
    """What this machine lacks to run the dbt project on Spark (none when it can)."""
    missing = [] if shutil.which("java") else ["Java 17 or 21 on the PATH (Debian: openjdk-17-jre-headless)"]
    if importlib.util.find_spec("pyspark") is None or importlib.util.find_spec("dbt.adapters.spark") is None:
        missing.append("dbt-spark and pyspark (make install-spark)")
    return missing


@dataclass(frozen=True)
class SparkTable:
    schema: str
    name: str
    location: Path
    columns: tuple[tuple[str, str], ...]  # (name, Spark type) in the table's order
    partitions: tuple[str, ...]


def duckdb_type(spark_type: str) -> str:
    if spark_type.startswith("array<") and spark_type.endswith(">"):
        return duckdb_type(spark_type[len("array<"):-1]) + "[]"
    if spark_type.startswith("decimal("):
        return spark_type.upper()
    return DUCKDB_TYPES[spark_type]


def view_sql(table: SparkTable) -> str:
    """The DuckDB view of a Spark table: its Parquet files (hive partitions typed as Spark has them), or a typed empty
    relation when it has none (a partitioned table without rows has no file)."""
    relation = f"{table.schema}.{table.name}"
    if next(table.location.rglob("*.parquet"), None) is None:  # no folder, or a folder without files
        columns = ", ".join(f"cast(null as {duckdb_type(kind)}) as {name}" for name, kind in table.columns)
        return f"create view {relation} as select {columns} where false"
    types = dict(table.columns)
    hive = ", ".join(f"'{name}': '{duckdb_type(types[name])}'" for name in table.partitions)
    options = f", hive_partitioning = true, hive_types = {{{hive}}}" if table.partitions else ""
    names = ", ".join(name for name, _ in table.columns)
    return f"create view {relation} as select {names} from read_parquet('{table.location}/**/*.parquet'{options})"


def spark_tables(spark, schemas: Iterable[str] = SCHEMAS) -> list[SparkTable]:  # noqa: ANN001 (a SparkSession)
    """The tables (not views) of `schemas` in Spark's catalog."""
    existing = {row[0] for row in spark.sql("show schemas").collect()}
    tables = []
    for schema in schemas:
        if schema not in existing:
            continue
        for listed in spark.sql(f"show tables in {schema}").collect():
            if listed.isTemporary:
                continue
            table = described(schema, listed.tableName,
                              spark.sql(f"describe table extended {schema}.{listed.tableName}").collect())
            if table is not None:
                tables.append(table)
    return tables


def described(schema: str, name: str, rows: Sequence) -> SparkTable | None:
    """A table from the rows of Spark's `describe table extended` (col_name, data_type, comment): its columns
    first, then `# Partition Information` and its partition columns, then `# Detailed Table Information`. None for a
    view."""
    columns: list[tuple[str, str]] = []
    partitions: list[str] = []
    details: dict[str, str] = {}
    section = "columns"
    for row in rows:
        key, value = row[0], row[1]
        if key.startswith("# Partition Information"):
            section = "partitions"
        elif key.startswith("# Detailed Table Information"):
            section = "details"
        elif not key or key.startswith("#"):
            continue
        elif section == "columns":
            columns.append((key, value))
        elif section == "partitions":
            partitions.append(key)
        else:
            details[key] = value
    if details.get("Type") == "VIEW":
        return None
    return SparkTable(schema, name, Path(details["Location"].removeprefix("file:")), tuple(columns), tuple(partitions))


def write_views(warehouse: Path, tables: Sequence[SparkTable], built_by: str, schemas: Iterable[str] = SCHEMAS) -> None:
    """Replace every relation of `schemas` in the DuckDB file `warehouse` by the views of `tables`, each with the
    comment `built_by` (the engine, which the deck's evidence names)."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("begin")
        for schema in schemas:
            con.execute(f"create schema if not exists {schema}")
            for name, kind in con.execute("select table_name, table_type from information_schema.tables "
                                          "where table_schema = ?", [schema]).fetchall():
                con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {schema}.{name}")
        for table in tables:
            con.execute(view_sql(table))
            con.execute(f"comment on view {table.schema}.{table.name} is '{built_by}'")
        con.execute("commit")


def publish(data_dir: Path | None = None) -> None:
    """The views of the tables Spark built for `data_dir`, in its warehouse.duckdb. Uses this process's Spark session,
    which dbt-spark's session method started."""
    from pyspark.sql import SparkSession

    spark = SparkSession.builder.getOrCreate()
    write_views(paths.warehouse_path(data_dir), spark_tables(spark), f"Apache Spark {spark.version}")
