"""The simulated cluster as a Kubernetes cluster's Prometheus: its exporter view (dcgm-exporter with pod labels,
vLLM, the trainers' token counters, kube-state-metrics) backfilled into a local Prometheus server.

    make k8s-prometheus                                             # serves http://127.0.0.1:9090 until Ctrl-C
    GPU_EFF_CONFIG=ingestion/examples/k8s-prometheus.yaml make demo  # in another terminal

The history is written one UTC day at a time (promtool reads its input once per block it writes) into
`<data dir>/k8s-prometheus/<scenario>/tsdb`, once; later starts reuse it. Needs the `prometheus` and `promtool`
binaries (Debian/Ubuntu: `apt-get install prometheus`).

A backfilled database has no staleness markers (a scraping Prometheus writes one when a series disappears, e.g.
when a pod ends), so the server runs with a lookback under the one-minute sample interval.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from ingestion import paths

LOOKBACK = "59s"  # under the 1-minute samples: a series that ended is not repeated (no staleness markers)


def binaries() -> tuple[str, str] | None:
    """(prometheus, promtool) on PATH, or None."""
    prometheus, promtool = shutil.which("prometheus"), shutil.which("promtool")
    return (prometheus, promtool) if prometheus and promtool else None


def backfill(files: Sequence[Path], tsdb: Path, promtool: str = "promtool") -> None:
    """Turn OpenMetrics files into TSDB blocks under `tsdb` (24-hour blocks: give one file per day). A promtool
    parses its file on one core and writes blocks of its own, so the files are backfilled one per core at a time
    (the tiny scenario's 7 days: 15.8 s one at a time, 8.9 s two at a time on 2 cores)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    with ThreadPoolExecutor(max(1, min(cores, len(files)))) as pool:
        list(pool.map(lambda path: _backfill_file(path, tsdb, promtool), files))


def _backfill_file(path: Path, tsdb: Path, promtool: str) -> None:
    done = subprocess.run([promtool, "tsdb", "create-blocks-from", "openmetrics", "--max-block-duration=24h",
                           str(path), str(tsdb)], capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"promtool could not backfill {path}: {done.stderr.strip()[-2000:]}")


def server_args(tsdb: Path, workdir: Path, address: str, lookback: str = LOOKBACK,
                prometheus: str = "prometheus") -> list[str]:
    """The command line of a Prometheus that serves `tsdb` (read-only use: it scrapes nothing)."""
    config = workdir / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\nscrape_configs: []\n")
    return [prometheus, f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
            "--storage.tsdb.retention.time=100y",  # the backfilled history is weeks old: keep it
            f"--web.listen-address={address}", f"--query.lookback-delta={lookback}",
            f"--web.console.templates={workdir}", f"--web.console.libraries={workdir}", "--log.level=warn"]


def build_history(scenario: str, workdir: Path, promtool: str = "promtool") -> Path:
    """The scenario's exporter view as a TSDB under `workdir` (built once; the day files are removed after)."""
    from ingestion.simulator.exporter_view import write_openmetrics
    from ingestion.simulator.run import simulation_for

    tsdb = workdir / "tsdb"
    done = workdir / "tsdb.complete"
    if done.exists():
        return tsdb
    shutil.rmtree(tsdb, ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    sim = simulation_for(scenario)
    for day in sim.scenario.dates():
        day_file = workdir / f"exporters-{day}.om"
        summary = write_openmetrics(sim, day_file, [day])
        backfill([day_file], tsdb, promtool)
        day_file.unlink()
        print(f"{day}: {summary['samples']:,} samples backfilled", flush=True)
    done.touch()
    return tsdb


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingestion.simulator.k8s_prometheus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="tiny", help="simulator scenario (default: tiny)")
    parser.add_argument("--address", default="127.0.0.1:9090", help="listen address (default: 127.0.0.1:9090)")
    args = parser.parse_args(argv)
    found = binaries()
    if found is None:
        print("error: prometheus and promtool are not installed (Debian/Ubuntu: apt-get install prometheus)",
              file=sys.stderr)
        return 2
    prometheus, promtool = found
    workdir = paths.data_dir() / "k8s-prometheus" / args.scenario
    try:
        tsdb = build_history(args.scenario, workdir, promtool)
    except (RuntimeError, ValueError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Prometheus with the {args.scenario} scenario's exporter view on http://{args.address} (Ctrl-C stops it)",
          flush=True)
    try:
        return subprocess.run(server_args(tsdb, workdir, args.address, prometheus=prometheus)).returncode
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
