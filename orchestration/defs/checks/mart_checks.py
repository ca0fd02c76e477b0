"""The GX suites on the marts as one Dagster multi-asset check (`mart_expectations`), one result per check.

The warehouse is read read-only into pandas (GX 1.x has no DuckDB backend), the results are recorded in the
quality report (a brief write), then yielded: a failed blocking check fails this step, so `deck`, downstream
of the checked marts, does not run.
"""

import datetime as dt
import time
from collections.abc import Mapping
from pathlib import Path

import dagster as dg
import duckdb

from ingestion import paths
from ingestion.config import load_config
from orchestration import build_state
from orchestration.defs.checks import gx_runner, labels, mart_suites, reuse
from orchestration.defs.checks.gx_runner import Failure, validate
from orchestration.defs.checks.mart_suites import MART_CHECKS, MartCheck
from orchestration.defs.checks.outcome import Outcome
from orchestration.defs.partitions import WAREHOUSE_POOL, run_days

FAILURES_SHOWN = 10


def _energy_price_override() -> float | None:
    prices = load_config().prices
    return prices.energy_per_kwh if prices is not None else None


def _read(con: duckdb.DuckDBPyConnection, sql: str, parameters: Mapping[str, object]):
    """The suite's frame; `parameters` fills the `$name` placeholders the query uses."""
    used = {name: value for name, value in parameters.items() if f"${name}" in sql}
    return con.execute(sql, used).df() if used else con.execute(sql).df()


def evaluate(check: MartCheck, con: duckdb.DuckDBPyConnection, energy_per_kwh: float | None = None,
             days: list[dt.date] | None = None) -> Outcome:
    """Run every suite of the check on frames read through `con`; a suite whose frame cannot be read fails.
    `days`: the run's days, which the suites on per-row data check (None: every day)."""
    parameters = {"energy_per_kwh": energy_per_kwh,
                  "start_date": days[0] if days else None,
                  "end_date": days[-1] + dt.timedelta(days=1) if days else None}
    failures: list[Failure] = []
    rows: dict[str, int] = {}
    for suite in check.suites:
        try:
            frame = _read(con, suite.sql, parameters)
        except duckdb.Error as exc:
            failures.append(Failure(suite.name, "read the frame", 0, 0, observed=str(exc).splitlines()[0]))
            continue
        rows[suite.name] = len(frame)
        failures += validate(suite, frame)
    failing = sum(f.unexpected_count for f in failures)
    if failures:
        message = f"{len(failures)} expectation(s) failed: " + " | ".join(f.summary() for f in failures[:3])
    else:
        message = f"all {sum(len(s.expectations) for s in check.suites)} expectations hold ({check.description})"
    metadata = {
        "failing_expectations": dg.MetadataValue.json([
            {"suite": f.suite, "expectation": f.expectation, "unexpected_count": f.unexpected_count,
             "element_count": f.element_count, "observed": f.observed}
            for f in failures[:FAILURES_SHOWN]
        ]),
        "sample_rows": dg.MetadataValue.json({f"{f.suite}: {f.expectation}": f.sample_rows
                                              for f in failures[:FAILURES_SHOWN] if f.sample_rows}),
        "rows_validated": dg.MetadataValue.json(rows),
    }
    return Outcome(asset=check.asset, check_name=check.name, passed=not failures, blocking=check.blocking,
                   severity=check.severity, message=message, failing_count=failing, metadata=metadata)


def evaluate_all(warehouse: Path, checks=MART_CHECKS, energy_per_kwh: float | None = None,
                 days: list[dt.date] | None = None) -> list[Outcome]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [evaluate(check, con, energy_per_kwh, days) for check in checks]


SPECS = [
    dg.AssetCheckSpec(
        check.name,
        asset=dg.AssetKey(check.asset),
        description=labels.gate(check.description, "the checked mart's consumers") if check.blocking
        else labels.warning(check.description),
        blocking=check.blocking,
        additional_deps=[dg.AssetKey(dep) for dep in check.additional_deps],
    )
    for check in MART_CHECKS
]


@dg.multi_asset_check(specs=SPECS, name="mart_expectations", pool=WAREHOUSE_POOL,
                      description="Great Expectations suites on the marts (blocking ones stop the deck).")
def mart_expectations(context: dg.AssetCheckExecutionContext):
    """Evaluated on the marts; or, when the dbt steps' build records say the warehouse is as at the last
    evaluation, that evaluation's outcomes (checks/reuse.py)."""
    energy_per_kwh, days = _energy_price_override(), run_days(context.run.tags)

    def evaluate() -> list[Outcome]:
        started = time.monotonic()
        outcomes = evaluate_all(paths.warehouse_path(), energy_per_kwh=energy_per_kwh, days=days)
        context.log.info(f"{len(outcomes)} GX checks in {time.monotonic() - started:.1f}s")
        return outcomes

    inputs = build_state.inputs_identity(CODE[0].parent, CODE, {"builds": build_state.builds(WAREHOUSE_STEPS),
                                                                "energy_per_kwh": energy_per_kwh, "days": days})
    yield from reuse.reused_or_evaluated(context, "mart_expectations", inputs, evaluate)


CODE = (Path(__file__), Path(mart_suites.__file__), Path(gx_runner.__file__))
WAREHOUSE_STEPS = ("warehouse_inputs", "warehouse_daily", "warehouse_models")  # assets/warehouse.py
