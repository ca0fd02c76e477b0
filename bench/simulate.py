"""Benchmark: the simulator landing days of the `large` scenario (1,024 GPUs, 1-minute samples).

Each repeat runs in a fresh process (as a Dagster daily partition run does) and measures:
- `replay_s`: the scheduler and the request simulation over the whole scenario (jobs, events, requests;
  no telemetry), which every process pays once before it lands its first day;
- per day landed in order (the streaming backfill): the telemetry of that day alone and its Parquet files;
- one late day landed alone (a daily partition run): its telemetry, with the energy counter carried over
  the earlier days by a power-only replay.
`gen_s_per_day` is the median time to land one day in order; peak RSS is the process's maximum.

    python -m bench.simulate [--repeats 3] [--days 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

SCENARIO = "large"


def _one_process(days: int) -> dict:
    """Inside a fresh process: replay, land `days` days in order, then the last day of the scenario alone."""
    import resource
    from pathlib import Path

    from ingestion.simulator.run import land_config, land_day, simulate
    from ingestion.simulator.scenario import load_scenario

    scenario = load_scenario(SCENARIO)
    base = Path(os.environ["GPU_EFF_DATA_DIR"])
    started = time.perf_counter()
    sim = simulate(scenario)
    replay_s = time.perf_counter() - started
    land_config(sim, base)
    per_day, rows = [], {}
    for day in scenario.dates()[:days]:
        t = time.perf_counter()
        landed = land_day(sim, day, base)
        per_day.append(time.perf_counter() - t)
        rows = {f.dataset: f.rows for f in landed}
    # A fresh simulation object knows no energy carry: the last day alone replays the power of the others.
    alone = type(sim)(sim.scenario, sim.jobs, sim.gpu_modes, sim.requests)
    t = time.perf_counter()
    land_day(alone, scenario.dates()[-1], base)
    last_day_alone_s = time.perf_counter() - t
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"replay_s": replay_s, "day_s": per_day, "last_day_alone_s": last_day_alone_s,
            "peak_rss_gb": peak_kb / 1024 / 1024, "rows_per_day": rows, "jobs": len(sim.jobs),
            "requests": len(sim.requests.request_id)}


def run(repeats: int = 3, days: int = 3) -> dict:
    """Median figures over `repeats` fresh processes, each landing `days` days of the large scenario."""
    results = []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="bench-sim-") as tmp:
            env = {**os.environ, "GPU_EFF_DATA_DIR": tmp}
            out = subprocess.run([sys.executable, "-m", "bench.simulate", "--child", "--days", str(days)],
                                 env=env, check=True, capture_output=True, text=True)
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
    day_times = [t for r in results for t in r["day_s"]]
    rows = results[-1]["rows_per_day"]
    return {
        "scenario": SCENARIO,
        "gen_s_per_day": statistics.median(day_times),
        "gen_s_last_day_alone": statistics.median(r["last_day_alone_s"] for r in results),
        "gen_replay_s": statistics.median(r["replay_s"] for r in results),
        "gen_peak_rss_gb": max(r["peak_rss_gb"] for r in results),
        "gen_rows_per_day": rows,
        "gen_gpu_samples_per_day": rows.get("gpu_samples"),
        "gen_jobs": results[-1]["jobs"],
        "gen_requests": results[-1]["requests"],
        "gen_runs": len(day_times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--days", type=int, default=3, help="days landed in order per process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(_one_process(args.days)))
        return 0
    result = run(args.repeats, args.days)
    width = max(len(k) for k in result)
    for key, value in result.items():
        shown = f"{value:.2f}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
