"""Read the deck's marts from the DuckDB warehouse, read-only, into typed records."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from deck_assets.quality import quality_summary

MART_SCHEMA = "marts"  # dbt_project builds the marts in this schema (macros/generate_schema_name.sql)
REFERENCE_SCHEMA = "reference"  # dbt seeds (configuration and reference data)
BENCHMARKS_TABLE = "industry_benchmarks"
BENCHMARK_COLUMNS = ("id", "metric", "value", "unit", "source", "venue_year", "url", "claim_form", "conditions")
# The word a cited figure carries right before its number, by claim_form ("至多 6.4 倍", "均值 10.5%"); a point
# figure carries none: its configuration is stated by the outline text and the slide's 资料来源 footnote.
CLAIM_FORM_WORDS = {"up_to": "至多", "at_least": "不少于", "at_most": "不超过", "mean": "均值", "median": "中位数",
                    "point": ""}

REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "mart_data_coverage": ("pool", "sources", "simulated", "evidence_tier", "first_ts", "last_ts", "days", "gpus",
                           "sample_rows"),
    "mart_stage_metrics": ("pool", "stage_id", "stage_key", "stage_name_zh"),
    "mart_stage_comparison": (
        "pool", "stage_id", "stage_key", "stage_name_zh", "metric", "value", "unit", "higher_is_better",
        "baseline_value", "ratio_to_baseline", "change_vs_baseline_percent", "value_source",
        "evidence_tier", "source_ref", "days", "ratio_low", "ratio_high", "measurable_change",
    ),
}
# Optional marts: a warehouse without lab data lacks them (or they are empty); the deck then says so.
# A lab mart that is present must have these columns.
LAB_COLUMNS: dict[str, tuple[str, ...]] = {
    "mart_lab_comparisons": (
        "experiment_id", "pool", "factor", "treatment_variant", "baseline_variant", "treatment_phase",
        "baseline_phase", "work_unit", "treatment_work_per_s", "baseline_work_per_s", "throughput_ratio",
        "treatment_work_per_joule", "baseline_work_per_joule", "work_per_joule_ratio", "treatment_power_w",
        "baseline_power_w", "power_ratio", "evidence_tier",
    ),
    "mart_lab_experiments": (
        "experiment_id", "pool", "phase", "gpu_uuid", "model_name", "gpu_util_pct", "sm_active_pct", "evidence_tier",
    ),
}
# Marts the `chart` slides read (all pools): absent here is fine, a chart bound to an absent mart or
# column is a WarehouseError naming it (Snapshot.mart_rows).
# Where each metric of each stage was read (basis, series, bound): the evidence file names it beside the number.
BASIS_MART = "mart_metric_basis"
CHART_MARTS = ("mart_scheduling", "mart_data_stalls", "mart_inference", "mart_reliability", "mart_hourly_profile",
               "mart_gpu_density", "mart_daily_utilization", "mart_stage_comparison", BASIS_MART)
_LAB_TEXT = {"experiment_id", "pool", "factor", "treatment_variant", "baseline_variant", "treatment_phase",
             "baseline_phase", "work_unit", "phase", "gpu_uuid", "model_name", "evidence_tier"}


class WarehouseError(RuntimeError):
    """The warehouse lacks a mart, a column or rows the deck needs."""


@dataclass(frozen=True)
class Coverage:
    pool: str
    sources: tuple[str, ...]
    simulated: bool  # some of the pool's data comes from a simulated source
    evidence_tier: str  # the tier of what is measured on the pool: 仿真 (simulated) or 集群实测
    first_ts: dt.datetime | None
    last_ts: dt.datetime | None
    days: float | None
    gpus: float | None
    sample_rows: float | None


@dataclass(frozen=True)
class Stage:
    stage_id: int
    stage_key: str
    name_zh: str


@dataclass(frozen=True)
class MetricValue:
    pool: str
    stage: Stage
    metric: str
    value: float | None
    unit: str
    higher_is_better: bool | None
    baseline_value: float | None
    ratio_to_baseline: float | None
    change_vs_baseline_percent: float | None
    value_source: str
    evidence_tier: str
    source_ref: str
    # The day-to-day spread of ratio_to_baseline (min-max of the stage's and the baseline's daily values) and
    # whether it excludes 1; None with fewer than two days on either side.
    days: float | None = None
    ratio_low: float | None = None
    ratio_high: float | None = None
    measurable_change: bool | None = None


@dataclass(frozen=True)
class Benchmark:
    """One row of reference.industry_benchmarks: a published number and its citation."""

    id: str
    metric: str
    value: str  # as published: usually a number, sometimes a range ("2-4", "50 vs 200")
    unit: str
    source: str
    venue_year: str
    url: str
    # How the source states the value: up_to, at_least, at_most, mean, median or point (the deck adds the word).
    claim_form: str = ""
    conditions: str = ""  # what the source measured, on what, against what

    @property
    def number(self) -> float | None:
        """The value as a number, or None when it is a range or text."""
        try:
            number = float(self.value.replace(",", ""))
        except ValueError:
            return None
        return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Snapshot:
    """Everything the deck reads, for every pool."""

    warehouse_path: Path
    coverage: tuple[Coverage, ...]
    stage_metrics: dict[str, dict[int, dict[str, Any]]]  # pool -> stage_id -> column -> value
    comparison: dict[str, dict[tuple[str, int], MetricValue]]  # pool -> (metric, stage_id) -> value
    # Lab marts (all pools), empty when absent: text columns as str (or None), numbers as float (or None).
    lab_comparisons: tuple[dict[str, Any], ...] = ()
    lab_experiments: tuple[dict[str, Any], ...] = ()
    benchmarks: dict[str, Benchmark] = field(default_factory=dict)  # reference.industry_benchmarks by id
    # CHART_MARTS that are present: mart -> its columns, and its rows (all pools) as column -> value.
    mart_columns: dict[str, frozenset[str]] = field(default_factory=dict)
    marts: dict[str, tuple[dict[str, Any], ...]] = field(default_factory=dict)
    # The latest run's data-quality outcomes (deck_assets.quality.quality_summary), None before any run recorded.
    quality: dict[str, Any] | None = None
    engine: str = "DuckDB"  # what built the marts (marts_engine)

    @property
    def pools(self) -> list[str]:
        return sorted(c.pool for c in self.coverage)

    def measured_tier(self, pool: str) -> str:
        """The tier of what the warehouse measured on ``pool`` (mart_data_coverage.evidence_tier)."""
        for c in self.coverage:
            if c.pool == pool:
                return c.evidence_tier
        raise WarehouseError(f"{self.warehouse_path}: {MART_SCHEMA}.mart_data_coverage has no row for pool {pool!r}")

    def stages(self, pool: str) -> list[Stage]:
        rows = self.stage_metrics.get(pool, {})
        return [Stage(sid, str(r["stage_key"]), str(r["stage_name_zh"])) for sid, r in sorted(rows.items())]

    def value(self, pool: str, metric: str, stage_id: int) -> MetricValue | None:
        return self.comparison.get(pool, {}).get((metric, stage_id))

    def mart_rows(self, mart: str, pool: str, columns: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """The rows of ``marts.MART`` for ``pool``; a WarehouseError naming the mart when it is absent (or not
        one of CHART_MARTS), or naming the ``columns`` it lacks."""
        if mart not in CHART_MARTS:
            raise WarehouseError(f"{self.warehouse_path}: {MART_SCHEMA}.{mart} is not a chart mart {CHART_MARTS}")
        if mart not in self.mart_columns:
            raise WarehouseError(f"{self.warehouse_path}: table {MART_SCHEMA}.{mart} is missing")
        missing = [c for c in ("pool", *columns) if c not in self.mart_columns[mart]]
        if missing:
            raise WarehouseError(f"{self.warehouse_path}: {MART_SCHEMA}.{mart} lacks columns {missing}")
        return [r for r in self.marts.get(mart, ()) if str(r["pool"]) == pool]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return None if math.isnan(number) else number


def _utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC) if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise WarehouseError(f"expected a timestamp, got {value!r}")


def _rows(con: duckdb.DuckDBPyConnection, table: str, order_by: str) -> list[dict[str, Any]]:
    cursor = con.execute(f"select * from {MART_SCHEMA}.{table} order by {order_by}")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _check_columns(con: duckdb.DuckDBPyConnection, path: Path) -> set[str]:
    """Raise on a missing required mart or column; return the optional lab marts that are present."""
    found: dict[str, set[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = ?", [MART_SCHEMA]
    ).fetchall():
        found.setdefault(table, set()).add(column)
    for table, columns in REQUIRED_COLUMNS.items():
        if table not in found:
            raise WarehouseError(f"{path}: table {MART_SCHEMA}.{table} is missing")
        missing = [c for c in columns if c not in found[table]]
        if missing:
            raise WarehouseError(f"{path}: {MART_SCHEMA}.{table} lacks columns {missing}")
    for table, columns in LAB_COLUMNS.items():
        missing = [c for c in columns if c not in found.get(table, set(columns))]
        if missing:
            raise WarehouseError(f"{path}: {MART_SCHEMA}.{table} lacks columns {missing}")
    return {t for t in LAB_COLUMNS if t in found}


def _chart_marts(con: duckdb.DuckDBPyConnection) -> tuple[dict[str, frozenset[str]], dict[str, tuple[dict, ...]]]:
    """The CHART_MARTS that are present: their columns and rows (ordered by every column, for stable output)."""
    columns: dict[str, frozenset[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = ?", [MART_SCHEMA]
    ).fetchall():
        if table in CHART_MARTS:
            columns[table] = columns.get(table, frozenset()) | {column}
    rows = {t: tuple(_rows(con, t, "all")) for t in columns}
    return columns, rows


def _read_benchmarks(con: duckdb.DuckDBPyConnection, path: Path) -> dict[str, Benchmark]:
    """reference.industry_benchmarks (a dbt seed), required: the deck's {bench:ID} citations."""
    table = f"{REFERENCE_SCHEMA}.{BENCHMARKS_TABLE}"
    columns = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [REFERENCE_SCHEMA, BENCHMARKS_TABLE]).fetchall()}
    if not columns:
        raise WarehouseError(f"{path}: table {table} is missing (dbt seed industry_benchmarks; run dbt seed)")
    missing = [c for c in BENCHMARK_COLUMNS if c not in columns]
    if missing:
        raise WarehouseError(f"{path}: {table} lacks columns {missing}")
    cursor = con.execute(f"select {', '.join(BENCHMARK_COLUMNS)} from {table} order by id")
    out: dict[str, Benchmark] = {}
    for row in cursor.fetchall():
        if row[0] is None:
            continue
        text = {c: "" if v is None else str(v).strip() for c, v in zip(BENCHMARK_COLUMNS, row, strict=True)}
        out[text["id"]] = Benchmark(**text)
    return out


def _lab_row(row: dict[str, Any], table: str) -> dict[str, Any]:
    return {c: (None if row[c] is None else str(row[c])) if c in _LAB_TEXT else _num(row[c])
            for c in LAB_COLUMNS[table]}


def marts_engine(con: duckdb.DuckDBPyConnection) -> str:
    """What built the marts: DuckDB, whose tables they are, or the engine a view of them names in its comment (the
    views over Spark's tables, orchestration/spark_warehouse.py)."""
    comment = con.execute("select comment from duckdb_views() where schema_name = ? and view_name = "
                          "'mart_stage_metrics'", [MART_SCHEMA]).fetchall()
    return (comment[0][0] or "unknown") if comment else "DuckDB"


def read_snapshot(path: Path) -> Snapshot:
    """Open the warehouse read-only, read the marts, close it."""
    if not path.exists():
        raise WarehouseError(f"{path}: warehouse file not found")
    con = duckdb.connect(str(path), read_only=True)
    try:
        lab_tables = _check_columns(con, path)
        benchmarks = _read_benchmarks(con, path)
        lab = {t: tuple(_lab_row(r, t) for r in _rows(con, t, "all")) if t in lab_tables else ()
               for t in LAB_COLUMNS}
        coverage_rows = _rows(con, "mart_data_coverage", "pool")
        metric_rows = _rows(con, "mart_stage_metrics", "pool, stage_id")
        comparison_rows = _rows(con, "mart_stage_comparison", "pool, stage_id, metric")
        mart_columns, marts = _chart_marts(con)
        quality = quality_summary(con)
        engine = marts_engine(con)
    finally:
        con.close()
    if not coverage_rows:
        raise WarehouseError(f"{path}: {MART_SCHEMA}.mart_data_coverage has no rows")

    coverage = tuple(
        Coverage(
            pool=str(r["pool"]),
            sources=tuple(s.strip() for s in str(r["sources"] or "").split(",") if s.strip()),
            simulated=bool(r["simulated"]),
            evidence_tier=str(r["evidence_tier"]),
            first_ts=_utc(r["first_ts"]),
            last_ts=_utc(r["last_ts"]),
            days=_num(r["days"]),
            gpus=_num(r["gpus"]),
            sample_rows=_num(r["sample_rows"]),
        )
        for r in coverage_rows
    )
    stage_metrics: dict[str, dict[int, dict[str, Any]]] = {}
    for r in metric_rows:
        stage_metrics.setdefault(str(r["pool"]), {})[int(r["stage_id"])] = r
    comparison: dict[str, dict[tuple[str, int], MetricValue]] = {}
    for r in comparison_rows:
        stage = Stage(int(r["stage_id"]), str(r["stage_key"]), str(r["stage_name_zh"]))
        hib = r["higher_is_better"]
        comparison.setdefault(str(r["pool"]), {})[(str(r["metric"]), stage.stage_id)] = MetricValue(
            pool=str(r["pool"]),
            stage=stage,
            metric=str(r["metric"]),
            value=_num(r["value"]),
            unit=str(r["unit"] or ""),
            higher_is_better=None if hib is None else bool(hib),
            baseline_value=_num(r["baseline_value"]),
            ratio_to_baseline=_num(r["ratio_to_baseline"]),
            change_vs_baseline_percent=_num(r["change_vs_baseline_percent"]),
            value_source=str(r["value_source"] or "missing"),
            evidence_tier=str(r["evidence_tier"] or "估算"),
            source_ref=str(r["source_ref"] or ""),
            days=_num(r["days"]),
            ratio_low=_num(r["ratio_low"]),
            ratio_high=_num(r["ratio_high"]),
            measurable_change=None if r["measurable_change"] is None else bool(r["measurable_change"]),
        )
    return Snapshot(path, coverage, stage_metrics, comparison, lab_comparisons=lab["mart_lab_comparisons"],
                    lab_experiments=lab["mart_lab_experiments"], benchmarks=benchmarks,
                    mart_columns=mart_columns, marts=marts, quality=quality, engine=engine)
