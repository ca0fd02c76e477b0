"""The dbt warehouse: incremental models per daily partition, everything else rebuilt after them."""


import contextlib
import datetime as dt
import graphlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from unittest import mock

import dagster as dg
import duckdb
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliInvocation,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)
from dagster_dbt.asset_utils import get_asset_check_key_for_test
from dagster_dbt.errors import DagsterDbtCliRuntimeError

from ingestion import paths
from ingestion.config import load_config
from ingestion.progress import Progress
from orchestration import build_state, dbt_batches
from orchestration.defs.assets.table_metadata import relation_metadata
from orchestration.defs.checks import gx_runner, report, reuse, source_health
from orchestration.defs.checks.dbt_descriptions import describe_test
from orchestration.defs.checks.outcome import ERROR, Outcome
from orchestration.defs.partitions import DAILY_TAG, WAREHOUSE_POOL, daily, run_days
from orchestration.defs.project import DBT_DIR, dbt_project, project_files, run_target
from orchestration.defs.resources import DBT_FLAGS

# The models built per daily partition (tagged `daily` in dbt: incremental by day, the per-GPU-minute pivot and what
# follows it); an incremental model without the tag (int_pod_gpus) is built with their inputs.
DAILY_DBT_TAG = "daily"
DAILY = f"tag:{DAILY_DBT_TAG}"
DAILY_INPUTS = f"+{DAILY}"  # the daily models and all they read


class WarehouseTranslator(DagsterDbtTranslator):
    """Models and seeds are keyed by name, in the group of their layer (their schema: `reference` for the seeds,
    `staging`, `intermediate`, `marts`); sources stay `landing/<table>`. Every dbt test's check says in words what
    it asserts (dbt_descriptions).

    The dbt tests of the sources (`_landing__sources.yml`) are checks of the staging model that reads each source,
    named there by `meta.dagster.ref`: as checks of `landing/<table>` itself, Dagster would exempt
    `warehouse_inputs` (which runs them) from waiting for that asset's other blocking checks, source_health's
    `no_duplicate_rows` among them (tests/quality/test_wiring.py)."""

    def __init__(self) -> None:
        super().__init__(settings=DagsterDbtTranslatorSettings(enable_source_tests_as_checks=True))

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return dg.AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return dg.AssetKey(dbt_resource_props["name"])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        return dbt_resource_props.get("config", {}).get("schema")

    def get_tags(self, dbt_resource_props: Mapping[str, Any]) -> Mapping[str, str]:
        tags = dict(super().get_tags(dbt_resource_props))
        if DAILY_DBT_TAG in dbt_resource_props.get("tags", []):
            tags.update(DAILY_TAG)
        return tags

    def get_asset_check_spec(self, asset_spec: dg.AssetSpec, manifest: Mapping[str, Any], unique_id: str,
                             project: DbtProject | None) -> dg.AssetCheckSpec | None:
        checked = get_asset_check_key_for_test(manifest, self, unique_id, project)  # honours meta.dagster.ref
        upstream = manifest["nodes"][unique_id]["depends_on"]["nodes"]
        if checked is not None and upstream and all(node.startswith("source.") for node in upstream):
            asset_spec = dg.AssetSpec(checked.asset_key)  # a source's test, declared on its staging model
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        test = manifest["nodes"][unique_id]
        tested = manifest["nodes"].get(test.get("attached_node") or "")
        return spec and spec._replace(description=describe_test(test, tested))


# dagster-dbt's metadata on every dbt output that tells a reader nothing (the dbt command's id); `unique_id` stays,
# after the table's own metadata, because it names the dbt node.
DBT_PLUMBING = frozenset({"invocation_id"})


def with_row_counts(context: dg.AssetExecutionContext, invocation: DbtCliInvocation,
                    extra: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """dbt's events, each built table, view or seed with its column types, row count and, for a mart, its pools,
    days and first rows (table_metadata, and `extra` metadata), each failed dbt test with its failing rows; the
    tests' outcomes also go to the quality report (quality.check_results).

    Events are held until the dbt command ends: the warehouse cannot be opened again while dbt writes it (which is
    why dagster-dbt's own `fetch_row_counts`, reading during the run, cannot be used here). When dbt fails
    (an error-severity test failed), the events it emitted are still yielded, so the failed asset checks
    show what is wrong and where, and then the step fails: nothing downstream (the deck) is built.
    """
    events: list[Any] = []
    error: DagsterDbtCliRuntimeError | None = None
    try:
        for event in invocation.stream():
            events.append(event)
    except DagsterDbtCliRuntimeError as exc:
        error = exc
    if paths.warehouse_path().exists():
        queries = failing_row_queries(invocation)
        with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
            for event in events:
                if isinstance(event, dg.Output) and "unique_id" in event.metadata:
                    node = invocation.manifest["nodes"].get(event.metadata["unique_id"].value, {})
                    dbt_metadata = {k: v for k, v in event.metadata.items() if k not in DBT_PLUMBING}
                    event = event.with_metadata({**(relation_metadata(con, node) if node else {}), **(extra or {}),
                                                 **dbt_metadata})
                elif isinstance(event, dg.AssetCheckResult) and not event.passed:
                    event = with_failing_rows(con, event, queries)
                yield event
        report.record(context, [dbt_test_outcome(e) for e in events if isinstance(e, dg.AssetCheckResult)])
    else:
        yield from events
    if error is not None:
        raise error


def dbt_test_outcome(check: dg.AssetCheckResult) -> Outcome:
    """A dbt test's result as a quality-report row (error-severity tests fail the dbt step: blocking)."""
    severity = check.severity.value if check.severity else ERROR
    failed_rows = check.metadata.get("dagster_dbt/failed_row_count")
    return Outcome(asset=check.asset_key.to_user_string() if check.asset_key else "", check_name=check.check_name,
                   passed=bool(check.passed), blocking=severity == ERROR, severity=severity,
                   message=check.description or "", failing_count=int(failed_rows.value) if failed_rows else 0)


FAILING_ROWS_SHOWN = 5


def failing_row_queries(invocation: DbtCliInvocation) -> dict[str, str]:
    """unique_id -> the query that finds a test's failing rows (its compiled SQL, from run_results.json)."""
    try:
        results = invocation.get_artifact("run_results.json")["results"]
    except (FileNotFoundError, KeyError, ValueError):
        return {}
    return {r["unique_id"]: r["compiled_code"] for r in results
            if r["unique_id"].startswith("test.") and r.get("compiled_code")}


def with_failing_rows(con: duckdb.DuckDBPyConnection, check: dg.AssetCheckResult,
                      queries: Mapping[str, str]) -> dg.AssetCheckResult:
    """A failed dbt test's check result with its first failing rows (what is wrong, and the ids that say where)
    and the query that finds them all."""
    unique_id = check.metadata.get("unique_id")
    query = queries.get(unique_id.value) if unique_id is not None else None
    if query is None:
        return check
    try:
        frame = con.execute(f"select * from ({query}) as failing limit {FAILING_ROWS_SHOWN}").df()
    except duckdb.Error:
        return check
    header = "| " + " | ".join(frame.columns) + " |\n|" + "---|" * len(frame.columns)
    lines = ["| " + " | ".join(str(v).replace("|", "/") for v in row) + " |" for row in frame.itertuples(index=False)]
    description = str(frame["failure"].iloc[0]) if "failure" in frame.columns and len(frame) else check.description
    return check.with_metadata({
        **check.metadata,
        "failing_rows": dg.MetadataValue.md("\n".join([header, *lines])),
        "failing_rows_query": dg.MetadataValue.md(f"```sql\n{query.strip()}\n```"),
    })._replace(description=description)


def dbt_vars() -> dict[str, Any]:
    """The config file's prices, as dbt vars (none when it sets none)."""
    config = load_config()
    return config.prices.dbt_vars() if config.prices else {}


def build_args() -> list[str]:
    """`dbt build` with the config file's prices (when it sets any)."""
    prices = dbt_vars()
    return ["build", "--vars", json.dumps(prices)] if prices else ["build"]


def day_bounds(days: list[dt.date]) -> tuple[str, str]:
    """Consecutive days as ISO bounds, the end exclusive."""
    return days[0].isoformat(), (days[-1] + dt.timedelta(days=1)).isoformat()


def run_window(tags: Mapping[str, str]) -> dict[str, str]:
    """The run's days as ISO bounds (end exclusive), none for a run without a partition."""
    days = run_days(tags)
    if days is None:
        return {}
    return dict(zip(("start_date", "end_date"), day_bounds(days), strict=True))


RUN_WINDOW_ENV = ("GPU_EFF_RUN_START", "GPU_EFF_RUN_END")  # read by macros/incremental.sql
BUILD_WINDOW_ENV = dbt_batches.BUILD_WINDOW_ENV


@contextlib.contextmanager
def days_in_environment(names: tuple[str, str], start: str, end: str) -> Iterator[None]:
    """Day bounds (ISO, end exclusive; empty: open) in the environment of the dbt commands started inside the block.

    Environment variables, not dbt vars: changed vars void dbt's partial parsing (a full parse, ~12 s), and the
    days change with every daily run and every chunk of a rebuild; a changed environment variable re-parses only
    what reads it."""
    with mock.patch.dict(os.environ, dict(zip(names, (start, end), strict=True))):
        yield


def run_days_in_environment(window: Mapping[str, str]) -> contextlib.AbstractContextManager[None]:
    """The run's days (`run_window`) for every dbt command of a run: the incremental models build those days, and
    the tests of daily data check those days (`meta.test_days_column`, macros/where_subquery.sql)."""
    return days_in_environment(RUN_WINDOW_ENV, window.get("start_date", ""), window.get("end_date", ""))


def build_window(days: list[dt.date]) -> contextlib.AbstractContextManager[None]:
    """A chunk's days: the incremental models build those days (macros/incremental.sql) while the tests of daily
    data still check the run's days."""
    return days_in_environment(BUILD_WINDOW_ENV, *day_bounds(days))


def dbt_build(context: dg.AssetExecutionContext, dbt: DbtCliResource) -> DbtCliInvocation:
    with run_days_in_environment(run_window(context.run.tags)):
        return dbt.cli(build_args(), context=context, target_path=run_target())


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=DAILY_INPUTS,
    exclude=DAILY,
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="warehouse_inputs",
)
def warehouse_inputs(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Seeds, staging views and small lookup models that the incremental models read (nothing to do when the
    dbt project and the landed files are as at its last build)."""
    yield from build_unless_unchanged(context, "warehouse_inputs", lambda: dbt_build(context, dbt))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    select=DAILY,
    partitions_def=daily,
    backfill_policy=dg.BackfillPolicy.single_run(),
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    name="warehouse_daily",
)
def warehouse_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """Incremental models (per-GPU-minute telemetry and the like): only the partition's days are rebuilt.

    A window of more readings than BUILD_READINGS (a backfill or rebuild of a large pool) is built a few days at a
    time, so that each query stays within DuckDB's memory bound: every chunk but the last by `dbt run` of the
    incremental models, with progress in the run's log; the last chunk by the step's `dbt build`, whose tests
    then check every day of the window.
    """
    window = run_window(context.run.tags)
    days = run_days(context.run.tags) or []
    current = build_state.fingerprints(project_identity(), days)
    last = build_state.recorded("warehouse_daily")
    rebuild_all = forced(context)
    changed = [day for day in days if rebuild_all or not build_state.day_unchanged(day, current, last)]
    if days and not changed:
        yield from unchanged(context, build_state.latest_run(days, last))
        return
    if len(changed) < len(days):
        context.log.info(f"{len(days) - len(changed)} of the run's {len(days)} days unchanged since their last "
                         f"build: building {len(changed)}")
    # The marts' expectations run after the dbt steps (mart_checks). Import Great Expectations (~10 s of one core)
    # while DuckDB, on its own threads, builds this step's models, instead of on the run's path after them.
    gx_runner.import_in_background()
    readings = landed_readings(changed)
    chunks = build_chunks(readings)
    args = build_args()
    last_chunk = contextlib.nullcontext()
    with run_days_in_environment(window):
        if len(chunks) > 1:
            with Progress(len(chunks), "incremental models", context.log.info, unit="chunk") as shown:
                build_apart(chunks[:-1], args, lambda chunk: shown.step(
                    f"{chunk[0]}..{chunk[-1]}", sum(readings[day] for day in chunk)))
        if chunks:
            last_chunk = build_window(chunks[-1])
        with last_chunk:
            invocation = dbt.cli(args, context=context, target_path=run_target())
    yield from with_row_counts(context, invocation, {"first_day": window.get("start_date"),
                                                     "days_before": window.get("end_date")})
    build_state.record("warehouse_daily", {day.isoformat(): current[day.isoformat()] for day in changed},
                       context.run.run_id)


# Readings (gpu_samples rows) int_gpu_minutes pivots in one query within the default 3 GB DuckDB bound: one day of
# the 1,024-GPU pool (21.6 M); the demo's 21 days (31 M) build at once. Each extra chunk costs one more `dbt run` of
# the incremental models (~1 s besides their work: the chunks share one process, build_apart).
BUILD_READINGS = 32_000_000


def landed_readings(days: list[dt.date]) -> dict[dt.date, int]:
    """gpu_samples rows landed on each day, from the Parquet footers."""
    return {day: source_health.rows_on("gpu_samples", day) or 0 for day in days}


def build_chunks(readings: Mapping[dt.date, int]) -> list[list[dt.date]]:
    """Days (`readings` in day order) grouped into runs of consecutive days whose readings stay under
    BUILD_READINGS."""
    chunks: list[list[dt.date]] = []
    total = 0
    for day, landed in readings.items():
        if chunks and total + landed <= BUILD_READINGS and day == chunks[-1][-1] + dt.timedelta(days=1):
            chunks[-1].append(day)
            total += landed
        else:
            chunks.append([day])
            total = landed
    return chunks


BATCHES_COMMAND = (sys.executable, "-m", "orchestration.dbt_batches")


def build_apart(chunks: list[list[dt.date]], args: list[str], built: Callable[[list[dt.date]], None]) -> None:
    """`dbt run` of the incremental models for each chunk in turn, with the vars of the run's `build_args` (their
    tests run once, after the last chunk), in one process that parses the dbt project once (orchestration.dbt_batches);
    `built(chunk)` after each. The run's days stay in the environment for every chunk."""
    _, *with_vars = args  # ["build", "--vars", json] or ["build"]
    spec = {"args": [*with_vars, "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
                     "--target-path", str(run_target()), *DBT_FLAGS],
            "select": DAILY, "chunks": [day_bounds(chunk) for chunk in chunks]}
    by_start = {chunk[0].isoformat(): chunk for chunk in chunks}
    output: list[str] = []
    with subprocess.Popen([*BATCHES_COMMAND, json.dumps(spec)], cwd=DBT_DIR, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True) as process:
        try:
            for line in process.stdout or ():
                if line.startswith(f"{dbt_batches.BUILT} "):
                    built(by_start[line.split()[1]])
                else:
                    output.append(line)
        except BaseException:  # the run was cancelled (or reporting failed): the chunks stop with it
            process.kill()  # not terminate(): a child may inherit SIGTERM blocked or ignored (seen under pytest)
            raise
    if process.returncode != 0:
        raise dg.Failure(description="dbt failed on the incremental models' chunks:\n" + "".join(output[-40:]))


@dbt_assets(
    manifest=dbt_project.manifest_path,
    exclude=DAILY_INPUTS,
    dagster_dbt_translator=WarehouseTranslator(),
    pool=WAREHOUSE_POOL,
    backfill_policy=dg.BackfillPolicy.single_run(),
    name="warehouse_models",
)
def warehouse_models(context: dg.AssetExecutionContext, dbt: DbtCliResource):
    """The marts and what only they read, rebuilt from the incremental models (nothing to do when the dbt
    project and the landed files are as at its last build)."""
    yield from build_unless_unchanged(context, "warehouse_models", lambda: dbt_build(context, dbt))


def build_unless_unchanged(context: dg.AssetExecutionContext, step: str,
                           build: Callable[[], DbtCliInvocation]) -> Iterator[Any]:
    """The step's dbt build with its events, then its fingerprint recorded; or, when its inputs are those of its
    last build, no build: each asset and check reports the outcome of that build."""
    current = build_state.fingerprints(project_identity(), [])
    last = build_state.recorded(step).get(build_state.ALL_DAYS)
    if last is not None and last[0] == current[build_state.ALL_DAYS] and not forced(context):
        yield from unchanged(context, last[1])
        return
    yield from with_row_counts(context, build())
    build_state.record(step, {build_state.ALL_DAYS: current[build_state.ALL_DAYS]}, context.run.run_id)


def in_dependency_order(context: dg.AssetExecutionContext) -> list[dg.AssetKey]:
    """The step's selected assets, each after those it reads (the order Dagster wants them reported in)."""
    selected = context.selected_asset_keys
    specs = {spec.key: spec for spec in context.assets_def.specs}
    graph = {key: {dep.asset_key for dep in specs[key].deps if dep.asset_key in selected} for key in selected}
    return list(graphlib.TopologicalSorter(graph).static_order())


def forced(context: dg.AssetExecutionContext) -> bool:
    return build_state.forced(context.run.job_name)


def project_identity() -> str:
    return build_state.inputs_identity(DBT_DIR, project_files(), dbt_vars())


def unchanged(context: dg.AssetExecutionContext, built_by: str) -> Iterator[Any]:
    """What a step reports when its inputs did not change since run `built_by` built it: every selected asset,
    marked `skipped`, and every selected check with that run's outcome (also written to this run's quality
    report, so the deck counts every check)."""
    reason = f"inputs unchanged since run {built_by[:8]}"
    context.log.info(f"{context.op_execution_context.op.name}: nothing to build ({reason})")
    for key in in_dependency_order(context):
        yield dg.MaterializeResult(asset_key=key, metadata={"skipped": reason, "built_by_run": built_by})
    outcomes = reuse.outcomes_of(context, built_by)
    for outcome in outcomes:
        yield outcome.to_result()
    report.record(context, outcomes)
