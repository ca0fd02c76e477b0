"""`gpu-eff`: the entry points that do not need Dagster (which is slow to import)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path


def _simulate(args: argparse.Namespace) -> int:
    from ingestion.simulator.run import check_invariants, land_config, land_day, simulate
    from ingestion.simulator.scenario import load_scenario

    scenario = load_scenario(args.scenario)
    started = time.monotonic()
    sim = simulate(scenario)
    print(f"simulated {scenario.name}: {scenario.gpu_count} GPUs, {scenario.days} days, {len(sim.jobs)} jobs, "
          f"{len(sim.requests.request_id)} requests in {time.monotonic() - started:.1f}s", flush=True)
    problems = check_invariants(sim)
    if problems:
        print("invariant violated: " + "; ".join(problems), file=sys.stderr)
        return 1
    base = Path(args.data_dir).resolve() if args.data_dir else None
    land_config(sim, base)
    days = scenario.dates()
    if args.day:
        days = [dt.date.fromisoformat(d) for d in args.day]
    for n, day in enumerate(days, 1):
        landed = land_day(sim, day, base)
        rows = ", ".join(f"{f.dataset}={f.rows}" for f in landed)
        print(f"[{n}/{len(days)}] {day}: {rows} ({time.monotonic() - started:.0f}s)", flush=True)
    return 0


def _window(args: argparse.Namespace) -> int:
    import json

    from ingestion.simulator.scenario import load_scenario

    days = load_scenario(args.scenario).dates()
    first, last = days[0].isoformat(), days[-1].isoformat()
    if args.dagster_tags:  # a Dagster run over the whole window (single-run backfill)
        print(json.dumps({"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}))
    else:
        print(f"{first}...{last}")
    return 0


def _read_dcgm_text(path: Path, pool: str, scrape_ts: str | None):
    """A /metrics page saved from dcgm-exporter; its samples are stamped with the scrape time."""
    from ingestion.importers import ImportResult
    from ingestion.sources.dcgm_exposition import parse_file

    when = dt.datetime.fromisoformat(scrape_ts) if scrape_ts else dt.datetime.fromtimestamp(path.stat().st_mtime)
    parsed = parse_file(path, scrape_ts=when.astimezone(dt.UTC), pool=pool)
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": parsed.table},
                        rejected={"gpu_samples": parsed.quarantine})


# kind -> (landing source name, reader module, reader function)
IMPORTERS = {
    "jobs": ("jobs-log", "ingestion.importers.jobs", "read_jobs"),
    "slurm-sacct": ("slurm-sacct", "ingestion.importers.slurm_sacct", "read_slurm_sacct"),
    "openb": ("openb", "ingestion.importers.openb", "read_openb"),
    "requests": ("requests-log", "ingestion.importers.requests", "read_requests"),
    "azure-llm-trace": ("azure-llm-trace", "ingestion.importers.azure_llm_trace", "read_azure_llm_trace"),
    "dcgm-text": ("dcgm-exporter", None, None),
}


def _import(args: argparse.Namespace) -> int:
    import importlib

    from ingestion.importers import land

    path = Path(args.path)
    if not path.is_file():
        print(f"gpu-eff import: {path}: no such file", file=sys.stderr)
        return 2
    source, module, function = IMPORTERS[args.kind]
    if module is None:
        result = _read_dcgm_text(path, args.pool, args.scrape_ts)
    else:
        result = getattr(importlib.import_module(module), function)(path, args.pool)
    base = Path(args.data_dir).resolve() if args.data_dir else None
    for landed in land(result, source, base):
        day = landed.day.isoformat() if landed.day else "-"
        print(f"{landed.dataset} {day}: {landed.rows} rows, {landed.quarantined} quarantined -> {landed.path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="gpu-eff", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sim = sub.add_parser("simulate", help="run a simulated-cluster scenario and land its days as Parquet")
    sim.add_argument("--scenario", default="demo", help="bundled scenario name (demo, tiny) or a YAML path")
    sim.add_argument("--day", action="append", help="land only this day (YYYY-MM-DD); repeatable")
    sim.add_argument("--data-dir", help="data directory (default: $GPU_EFF_DATA_DIR or ./data)")
    sim.set_defaults(func=_simulate)
    win = sub.add_parser("window", help="print a scenario's first and last day (a Dagster partition range)")
    win.add_argument("--scenario", default="demo", help="bundled scenario name (demo, tiny) or a YAML path")
    win.add_argument("--dagster-tags", action="store_true", help="print the run tags of a one-run backfill")
    win.set_defaults(func=_window)
    imp = sub.add_parser("import", help="land a log file (jobs, requests, traces, a saved /metrics page)")
    imp.add_argument("kind", choices=sorted(IMPORTERS))
    imp.add_argument("path")
    imp.add_argument("--pool", required=True, help="the pool the records belong to")
    imp.add_argument("--scrape-ts", help="dcgm-text: when the page was scraped (ISO 8601; default: file mtime)")
    imp.add_argument("--data-dir", help="data directory (default: $GPU_EFF_DATA_DIR or ./data)")
    imp.set_defaults(func=_import)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
