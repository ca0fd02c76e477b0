"""Spark's tables read through DuckDB views (orchestration/spark_warehouse.py), without Spark: the views over a
table's Parquet files, typed hive partitions, a typed empty view for a table without files, and the engine the deck
names."""

from __future__ import annotations

import datetime as dt

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from deck_assets.warehouse import marts_engine
from orchestration.spark_warehouse import SparkTable, described, write_views

DESCRIBED = [  # Spark's `describe table extended` of a table partitioned by date
    ("pool", "string", None), ("gpu_minutes", "bigint", None), ("gpus", "array<string>", None),
    ("date", "date", None), ("# Partition Information", "", ""), ("# col_name", "data_type", "comment"),
    ("date", "date", None), ("", "", ""), ("# Detailed Table Information", "", ""),
    ("Catalog", "spark_catalog", ""), ("Type", "MANAGED", ""),
    ("Location", "file:/data/spark/warehouse/intermediate.db/int_x", ""), ("Provider", "parquet", ""),
]


def test_describe_gives_columns_partitions_and_location():
    table = described("intermediate", "int_x", DESCRIBED)
    assert table.columns == (("pool", "string"), ("gpu_minutes", "bigint"), ("gpus", "array<string>"),
                             ("date", "date"))
    assert table.partitions == ("date",)
    assert str(table.location) == "/data/spark/warehouse/intermediate.db/int_x"
    view = [(k, "VIEW" if k == "Type" else v, c) for k, v, c in DESCRIBED]
    assert described("staging", "stg_x", view) is None


def test_views_read_the_files_with_typed_partitions_and_an_empty_table_keeps_its_types(tmp_path):
    spark = tmp_path / "spark" / "warehouse"
    daily = spark / "intermediate.db" / "int_daily"
    for day, minutes in (("2026-10-05", 10), ("2026-10-06", 20)):
        (daily / f"date={day}").mkdir(parents=True)
        pq.write_table(pa.table({"pool": ["p"], "gpu_minutes": [minutes]}), daily / f"date={day}" / "part-0.parquet")
    marts = spark / "marts.db" / "mart_stage_metrics"
    marts.mkdir(parents=True)
    pq.write_table(pa.table({"pool": ["p"], "value": [0.5]}), marts / "part-0.parquet")
    tables = [
        SparkTable("intermediate", "int_daily", daily, (("pool", "string"), ("gpu_minutes", "bigint"),
                                                        ("date", "date")), ("date",)),
        SparkTable("intermediate", "int_empty", spark / "intermediate.db" / "int_empty",
                   (("pool", "string"), ("seen", "timestamp_ntz"), ("share", "decimal(10,4)"),
                    ("date", "date")), ("date",)),
        SparkTable("marts", "mart_stage_metrics", marts, (("pool", "string"), ("value", "double")), ()),
    ]
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:  # a table an earlier DuckDB build left: replaced by the view
        con.execute("create schema marts; create table marts.mart_stage_metrics as select 1 as stale")
        assert marts_engine(con) == "DuckDB"
    write_views(warehouse, tables, "Apache Spark 4.3.0")

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select date, gpu_minutes from intermediate.int_daily order by date").fetchall() == [
            (dt.date(2026, 10, 5), 10), (dt.date(2026, 10, 6), 20)]
        assert con.execute("select count(*) from intermediate.int_empty").fetchone() == (0,)
        assert [(c[0], c[1]) for c in con.execute("describe intermediate.int_empty").fetchall()] == [
            ("pool", "VARCHAR"), ("seen", "TIMESTAMP"), ("share", "DECIMAL(10,4)"), ("date", "DATE")]
        assert con.execute("select * from marts.mart_stage_metrics").fetchall() == [("p", 0.5)]
        assert marts_engine(con) == "Apache Spark 4.3.0"
