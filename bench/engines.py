"""`make bench-engines`: one day of the simulated cluster built by the dbt project on DuckDB and on Apache Spark
(issue 21), at six fleet sizes, on this machine. Not a test; figures in bench/engines.json.

Day 1 of each scenario (tiny: 12 GPUs, demo: 64, large: 1,024) is landed once (bench/simulate.py), and the large
fleet copied 2, 4 and 8 times over (2,048 to 8,192 GPUs' telemetry, copy_fleet), built on DuckDB only. Each engine
then builds it in a data directory of its own that links that landing: the `warehouse_rebuild` job up to the
marts and their dbt tests (op selection `*warehouse_models`: source health, the seeds and inputs, the daily
models, the marts; the Great Expectations suites and the deck need the seven stages of seven days), from an
empty warehouse, as one fresh process tree (Dagster, dbt and, on Spark, its JVM), timed from outside:
- `duckdb`: the default engine (its memory bounded at 3 GB, profiles.yml), and `duckdb_12gb` bounded at 12 GB;
- `spark_local2` and `spark_local1`: dbt-spark's session mode with `local[2]` and `local[1]` (two executor cores
  and one), so that the share of Spark's cost that more cores take away can be read off (bench/README.md).
Every run records its wall time, peak RSS of the tree, the Dagster steps' times, its date and commit; the day's
rows come from the landing. A figure this run did not measure stays in bench/engines.json as an earlier run left it.
bench/README.md turns them into the fleet size one machine refreshes in 10 minutes.

    python -m bench.engines [--data-dir bench/.data/engines] [--scenarios tiny demo large] [--copies 2 4 8]
        [--engines duckdb spark_local2 spark_local1] [--copy-engines duckdb duckdb_12gb] [--repeats 1]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from bench import simulate
from bench.run import ROOT, Pipeline, link_landing, machine_facts
from orchestration.spark_warehouse import missing_prerequisites

RESULTS = ROOT / "bench" / "engines.json"
SCENARIOS = ("tiny", "demo", "large")
ENGINES = {  # name -> environment of the run
    "duckdb": {"GPU_EFF_WAREHOUSE_ENGINE": "duckdb"},  # DuckDB's memory bounded at 3 GB (profiles.yml)
    "duckdb_12gb": {"GPU_EFF_WAREHOUSE_ENGINE": "duckdb", "GPU_EFF_DUCKDB_MEMORY_LIMIT": "12GB"},
    "spark_local2": {"GPU_EFF_WAREHOUSE_ENGINE": "spark", "GPU_EFF_SPARK_MASTER": "local[2]"},
    "spark_local1": {"GPU_EFF_WAREHOUSE_ENGINE": "spark", "GPU_EFF_SPARK_MASTER": "local[1]"},
}
UP_TO_THE_MARTS = "*warehouse_models"
COPIED_DATASETS = ("gpu_samples", "gpu_inventory")  # what grows with the fleet in copy_fleet


def day_rows(landing: Path) -> dict[str, int]:
    """Rows landed per dataset (the landing holds one day)."""
    return {dataset.name: sum(pq.ParquetFile(f).metadata.num_rows for f in dataset.rglob("*.parquet"))
            for dataset in sorted(landing.iterdir()) if dataset.is_dir()}


def copy_fleet(base: Path, scenario: str, copies: int) -> str:
    """A landing of `copies` times the scenario's fleet on its day 1, named `<scenario>-x<copies>`: the day's
    telemetry and inventory once as landed and `copies - 1` times more under other hostnames and GPU UUIDs (suffix
    `-c<k>`), with no pod labels (GPUs no pod was given); every other dataset as landed (hard links). The day's
    readings grow `copies` times, its jobs and requests do not: a larger fleet's telemetry, which dominates the
    warehouse's cost, measured beyond the largest simulated fleet."""
    name = f"{scenario}-x{copies}"
    if (base / name).is_dir():
        return name
    partial = base / f"{name}.partial"  # renamed when whole: an interrupted copy is not taken for a fleet
    shutil.rmtree(partial, ignore_errors=True)
    source = base / scenario / "landing"
    for file in source.rglob("*.parquet"):
        out = partial / "landing" / file.relative_to(source)
        out.parent.mkdir(parents=True, exist_ok=True)
        if file.relative_to(source).parts[0] not in COPIED_DATASETS:
            os.link(file, out)
            continue
        table = pq.read_table(file)
        with pq.ParquetWriter(out, table.schema) as writer:
            writer.write_table(table)
            for k in range(1, copies):
                copy = table
                for column in ("hostname", "gpu_uuid"):
                    renamed = pc.binary_join_element_wise(copy[column], pa.scalar(f"-c{k}"), "")
                    copy = copy.set_column(copy.schema.get_field_index(column), column, renamed)
                for column in ("namespace", "pod", "container"):
                    if column in copy.column_names:
                        index = copy.schema.get_field_index(column)
                        copy = copy.set_column(index, copy.schema.field(index), pa.nulls(len(copy), pa.string()))
                writer.write_table(copy)
    shutil.copytree(base / scenario / "cache", partial / "cache", copy_function=os.link)
    partial.rename(base / name)
    return name


def build_day(base: Path, landed: str, engine: str, repeats: int) -> dict:
    """The day of the landing `landed` built from an empty warehouse by `engine`, `repeats` times; median wall time,
    largest peak RSS, the last run's step times."""
    from ingestion.simulator.scenario import load_scenario

    scenario = landed.partition("-x")[0]  # a copied fleet is its scenario's
    day = load_scenario(scenario).dates()[0]
    work = base / f"{landed}-{engine}"
    link_landing(base / landed, work, day)
    pipeline = Pipeline(work, scenario)
    pipeline.env.update(ENGINES[engine])
    runs = []
    for n in range(1, repeats + 1):
        shutil.rmtree(work / "spark", ignore_errors=True)  # Spark's tables and metastore: an empty warehouse
        measured = pipeline.rebuild(day, day, op_selection=UP_TO_THE_MARTS)
        runs.append(measured)
        print(f"  {landed} on {engine} {n}/{repeats}: {measured.wall_s:.1f} s, "
              f"peak RSS {measured.peak_rss_gb:.2f} GB", flush=True)
    return {"s": statistics.median(m.wall_s for m in runs), "runs_s": [round(m.wall_s, 2) for m in runs],
            "peak_rss_gb": round(max(m.peak_rss_gb for m in runs), 2), "steps_s": pipeline.last_run_steps()}


def spark_versions() -> dict[str, str]:
    """dbt-spark's, pyspark's and Java's versions, where installed."""
    versions = {}
    for package in ("dbt-spark", "pyspark"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[package] = metadata.version(package)
    if shutil.which("java"):
        java = subprocess.run(["java", "-version"], capture_output=True, text=True)
        versions["java"] = (java.stderr.splitlines() or ["?"])[0]
    return versions


def run(base: Path, builds: list[tuple[str, list[str]]], repeats: int) -> dict:
    """Each (landing, engines) of `builds`: the landing's day 1 built by each engine. A landing is a scenario, or
    `large-x<N>`, N copies of the large scenario's fleet (copy_fleet)."""
    machine = machine_facts()
    machine["versions"].update(spark_versions())
    earlier = json.loads(RESULTS.read_text())["scenarios"] if RESULTS.is_file() else {}
    results: dict = {"machine": machine, "repeats": repeats, "op_selection": UP_TO_THE_MARTS,
                     "scenarios": earlier, "errors": {}}
    for landed, engines in builds:
        scenario, _, copies = landed.partition("-x")
        if not (base / scenario / "landing").is_dir():
            print(f"landing day 1 of {scenario}", flush=True)
            simulate.land(base / scenario, scenario, days=1)
        if copies:
            print(f"copying the fleet of {scenario} {copies} times", flush=True)
            copy_fleet(base, scenario, int(copies))
        figures = results["scenarios"].setdefault(landed, {})
        figures["rows"] = day_rows(base / landed / "landing")
        for engine in engines:
            print(f"{landed} on {engine}", flush=True)
            try:
                figures[engine] = build_day(base, landed, engine, repeats) | {"date": machine["date"],
                                                                              "commit": machine["commit"]}
            except RuntimeError as exc:  # a failed run is reported; the others still run
                results["errors"][f"{landed} on {engine}"] = str(exc)[-3000:]
                print(f"  FAILED: {str(exc)[-800:]}", flush=True)
            save(results)
    return results


def save(results: dict) -> None:
    partial = RESULTS.with_suffix(".json.tmp")
    partial.write_text(json.dumps(results, indent=2) + "\n")
    partial.replace(RESULTS)


def print_table(results: dict) -> None:
    engines = [e for e in ENGINES if any(e in f for f in results["scenarios"].values())]
    print(f"{'scenario':<8} {'gpu_samples':>12}  " + "  ".join(f"{e:>14}" for e in engines))
    for scenario, figures in results["scenarios"].items():
        cells = [f"{figures[e]['s']:>12.1f} s" if e in figures else f"{'-':>14}" for e in engines]
        print(f"{scenario:<8} {figures['rows'].get('gpu_samples', 0):>12,}  " + "  ".join(cells))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT / "bench" / ".data" / "engines")
    parser.add_argument("--scenarios", nargs="*", default=list(SCENARIOS))
    parser.add_argument("--engines", nargs="+", default=["duckdb", "spark_local2", "spark_local1"],
                        choices=list(ENGINES))
    parser.add_argument("--copies", nargs="*", type=int, default=[2, 4, 8],
                        help="larger fleets: the large scenario's fleet copied N times")
    parser.add_argument("--copy-engines", nargs="+", default=["duckdb", "duckdb_12gb"], choices=list(ENGINES))
    parser.add_argument("--repeats", type=int, default=1, help="runs per figure (a Spark run of the large day "
                                                               "takes minutes)")
    args = parser.parse_args(argv)
    if any(e.startswith("spark") for e in args.engines + args.copy_engines) and (missing := missing_prerequisites()):
        print(f"Spark cannot run here: it needs {'; '.join(missing)}. Or run --engines duckdb.", file=sys.stderr)
        return 1
    builds = [(scenario, args.engines) for scenario in args.scenarios]
    builds += [(f"{SCENARIOS[-1]}-x{n}", args.copy_engines) for n in args.copies]
    results = run(args.data_dir.resolve(), builds, max(1, args.repeats))
    print_table(results)
    print(f"wrote {RESULTS}")
    return 1 if results["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
