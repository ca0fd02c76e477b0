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
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
