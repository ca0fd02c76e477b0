"""Soak the dcgm collector (not a test): `python -m bench.soak [--seconds 60] [--kills 3]`.

Runs `gpu-eff collect dcgm` in a subprocess against loopback targets with injected faults (two healthy
exporters, one that hangs, one down, one flaky with 503s, one serving garbage among good lines, one echoing the
bearer token back), `kill -9`s it a few times at random moments (a restart follows each), stops the last run
with SIGTERM, and prints what was scraped against what landed:

- scrapes: scrape_health rows (ok ones) and the collector's ticks
- samples expected: good samples the targets served with a 200; landed: gpu_samples rows on disk;
  lost: the difference (a `kill -9` loses what the killed run had buffered since its last flush: truly gone)
- partial files (unreadable Parquet), leftover temporary files, duplicate (gpu, metric, time) rows, and
  the number of files and output lines holding the token.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq

TOKEN = "soak-s3cret-token"
REPO = Path(__file__).resolve().parents[1]
GOOD = 4  # samples per healthy page


class Targets:
    """The loopback exporters; `served` counts the good samples answered with 200."""

    def __init__(self) -> None:
        self.served = 0
        self.hits: Counter[str] = Counter()
        self.lock = threading.Lock()
        self.closing = threading.Event()
        targets = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_GET(self) -> None:
                status, body, good = targets.answer(self.path, self.headers.get("Authorization", ""))
                try:
                    self.send_response(status)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:  # the collector gave up (its deadline) or was killed
                    return
                with targets.lock:
                    targets.served += good

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, path: str, auth: str) -> tuple[int, bytes, int]:
        with self.lock:
            self.hits[path] += 1
            hit = self.hits[path]
        name = path.strip("/").split("/")[0]
        page = "".join(f'DCGM_FI_DEV_GPU_UTIL{{gpu="{i}",UUID="GPU-{name}-{i}"}} {hit}\n' for i in range(GOOD))
        if name.startswith("healthy"):
            return 200, page.encode(), GOOD
        if name == "hang":
            self.closing.wait(60)
            return 200, page.encode(), 0  # past every deadline: never counted as served
        if name == "flaky" and hit % 3 == 0:
            return 503, b"busy", 0
        if name == "flaky":
            return 200, page.encode(), GOOD
        if name == "garbage":
            return 200, (page + "<html>502</html>\nDCGM_FI_DEV_GPU_UTIL{gpu=\"9\"} 1 253402300800000\n").encode(), GOOD
        if name == "echo":
            return 401, f"denied: Authorization: {auth}".encode(), 0
        return 404, b"", 0


def collector(targets: list[str], data: Path, log: Path) -> subprocess.Popen:
    args = [sys.executable, "-m", "ingestion.cli", "collect", "dcgm", *(a for t in targets for a in ("--target", t)),
            "--pool", "soak", "--interval", "0.25s", "--timeout", "1s", "--retries", "1", "--flush-every", "1s",
            "--bearer-token-env", "SOAK_TOKEN", "--data-dir", str(data)]
    env = {**os.environ, "SOAK_TOKEN": TOKEN, "DO_NOT_TRACK": "1"}
    return subprocess.Popen(args, cwd=REPO, env=env, stdout=log.open("a"), stderr=subprocess.STDOUT)


def soak(seconds: float, kills: int, seed: int) -> dict[str, int | float]:
    rng = random.Random(seed)
    server = Targets()
    down = f"http://127.0.0.1:{_closed_port()}/metrics"
    urls = [f"{server.base}/{n}/metrics" for n in ("healthy-1", "healthy-2", "hang", "flaky", "garbage", "echo")]
    data, log = Path(tempfile.mkdtemp(prefix="soak-")), Path(tempfile.mkstemp(suffix=".log")[1])
    stop_at = time.monotonic() + seconds
    kill_at = sorted(rng.uniform(2, seconds - 15) for _ in range(kills))  # the last run lives > 10 s
    proc, started = collector([*urls, down], data, log), time.monotonic()
    for at in kill_at:
        time.sleep(max(0.0, started + at - time.monotonic()))
        proc.kill()
        proc.wait()
        proc = collector([*urls, down], data, log)
    time.sleep(max(0.0, stop_at - time.monotonic()))
    signalled = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(30)
    stop_s = time.monotonic() - signalled
    server.closing.set()
    return _count(data, log, server.served, kills, stop_s)


def _count(data: Path, log: Path, served: int, kills: int, stop_s: float) -> dict[str, int | float]:
    partial, rows, health, keys = 0, 0, [], Counter()
    for f in sorted((data / "landing").rglob("*.parquet")):
        try:
            table = pq.read_table(f)
        except Exception:
            partial += 1
            continue
        if "scrape_health" in f.parts:
            health += table.to_pylist()
        else:
            rows += table.num_rows
            keys.update(zip(table["gpu_uuid"].to_pylist(), table["metric"].to_pylist(), table["ts"].to_pylist(),
                            strict=True))
    files = [f for f in data.rglob("*") if f.is_file()]
    return {
        "kills (-9)": kills, "scrapes": len(health), "scrapes ok": sum(bool(h["ok"]) for h in health),
        "samples expected": served, "landed": rows, "lost": served - rows, "partial files": partial,
        "leftover temporary files": sum(f.name.endswith(".tmp") for f in files),
        "duplicates": sum(n - 1 for n in keys.values()),
        "secrets found in outputs": sum(TOKEN.encode() in f.read_bytes() for f in [*files, log]),
        "SIGTERM to exit (s)": round(stop_s, 2),
    }


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--kills", type=int, default=3)
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    if args.seconds < 20:
        parser.error("--seconds must be at least 20 (the last run lives more than 10 s)")
    for name, value in soak(args.seconds, args.kills, args.seed).items():
        print(f"{name:>26}: {value}")


if __name__ == "__main__":
    main()
