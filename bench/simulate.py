"""Benchmark: the simulator landing the days of the `large` scenario (1,024 GPUs, 1-minute samples).

In a fresh process (as a Dagster run is), measured from the outside (wall time, peak RSS of the process):
- `replay_s`: the scheduler and request simulation over the whole scenario, or reading it back from the replay
  cache (`replay_cached`) when an earlier process stored it under the same data directory;
- each day landed in order (a streaming backfill): that day's telemetry and its Parquet files.
`gen_s_per_day` is the median time to land one day (simulate it and write it).

    python -m bench.simulate --data-dir DIR [--days N]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from bench.procs import run_measured

SCENARIO = "large"


def _child(base: Path, days: int | None, scenario: str) -> dict:
    from ingestion.simulator.replay_cache import cache_file, load_or_simulate
    from ingestion.simulator.run import land_config, land_day

    cached = cache_file(scenario, base).is_file()
    started = time.perf_counter()
    sim = load_or_simulate(scenario, base)
    replay_s = time.perf_counter() - started
    land_config(sim.scenario, base)
    dates = sim.scenario.dates()[:days]
    per_day, rows = [], {}
    for n, day in enumerate(dates, 1):
        t = time.perf_counter()
        landed = land_day(sim, day, base)
        per_day.append(time.perf_counter() - t)
        rows = {f.dataset: f.rows for f in landed}
        eta = statistics.mean(per_day) * (len(dates) - n)
        print(f"landed {day} ({n}/{len(dates)} days, {rows['gpu_samples']:,} gpu_samples rows, "
              f"{rows['gpu_samples'] / per_day[-1]:,.0f} rows/s, ETA {eta:.0f} s)", flush=True)
    return {"replay_s": replay_s, "replay_cached": cached, "day_s": per_day, "rows_per_day": rows,
            "jobs": len(sim.jobs), "requests": len(sim.requests.request_id)}


def land(base: Path, scenario: str = SCENARIO, days: int | None = None) -> dict:
    """Land `days` days (all by default) of the scenario into `base` in a fresh process; its figures."""
    env = {**os.environ, "GPU_EFF_DATA_DIR": str(base)}
    cmd = [sys.executable, "-m", "bench.simulate", "--child", "--data-dir", str(base), "--scenario", scenario]
    measured = run_measured(cmd + (["--days", str(days)] if days else []), env, echo=True)
    if measured.returncode != 0:
        raise RuntimeError(f"landing the {scenario} scenario failed:\n{measured.output[-3000:]}")
    child = json.loads(measured.output.strip().splitlines()[-1])
    rows = child["rows_per_day"]
    return {
        "gen_s_per_day": statistics.median(child["day_s"]),
        "gen_days": len(child["day_s"]),
        "gen_replay_s": child["replay_s"],
        "gen_replay_cached": child["replay_cached"],
        "gen_peak_rss_gb": measured.peak_rss_gb,
        "gen_gpu_samples_per_day": rows.get("gpu_samples"),
        "gen_rows_per_day": rows,
        "gen_jobs": child["jobs"],
        "gen_requests": child["requests"],
        "gen_wall_s": measured.wall_s,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, required=True)
    parser.add_argument("--days", type=int, help="land only the first N days")
    parser.add_argument("--scenario", default=SCENARIO)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_child(args.data_dir.resolve(), args.days, args.scenario)))
        return 0
    for key, value in land(args.data_dir.resolve(), args.scenario, args.days).items():
        print(f"{key:<24}  {value:.2f}" if isinstance(value, float) else f"{key:<24}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
