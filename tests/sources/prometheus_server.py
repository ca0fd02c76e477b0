"""Test helpers: a real Prometheus server backfilled with dcgm-exporter-like history, and a tiny HTTP stub.

`PromHistory` generates OpenMetrics text (1-minute samples, DCGM names and labels as dcgm-exporter emits
them, the energy field as a counter) and remembers every value written, so tests can compare exactly.
`start_prometheus` backfills it with `promtool tsdb create-blocks-from openmetrics` into a fresh TSDB
directory and runs the `prometheus` binary on 127.0.0.1 with a free port.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import json
import math
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ingestion.simulator.k8s_prometheus import backfill, binaries, server_args

# (labels of one GPU or MIG instance as dcgm-exporter emits them)
GPUS: list[dict[str, str]] = [
    {"gpu": "0", "UUID": "GPU-0a1b2c3d-0000-4000-8000-000000000000", "device": "nvidia0",
     "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-a", "namespace": "ml", "pod": "train-0",
     "container": "trainer"},
    {"gpu": "1", "UUID": "GPU-0a1b2c3d-0000-4000-8000-000000000001", "device": "nvidia1",
     "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-a"},
    # scraped without honor_labels: the workload labels arrive as exported_*; lowercase hostname label
    {"gpu": "0", "UUID": "GPU-0a1b2c3d-0000-4000-8000-000000000002", "device": "nvidia0",
     "modelName": "NVIDIA H200", "hostname": "node-b", "exported_namespace": "serving",
     "exported_pod": "llm-0", "exported_container": "vllm", "namespace": "gpu-operator",
     "pod": "nvidia-dcgm-exporter-xyz", "container": "nvidia-dcgm-exporter"},
    # a MIG instance of GPU 1 on node-b
    {"gpu": "1", "UUID": "GPU-0a1b2c3d-0000-4000-8000-000000000003", "device": "nvidia1",
     "modelName": "NVIDIA H200", "Hostname": "node-b", "GPU_I_PROFILE": "3g.71gb", "GPU_I_ID": "2",
     "namespace": "dev", "pod": "notebook-7", "container": "jupyter"},
]
# a broken series: no UUID label (quarantined by the source)
NO_UUID = {"gpu": "9", "modelName": "NVIDIA H100 80GB HBM3", "Hostname": "node-c"}

GAUGES = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE", "DCGM_FI_DEV_POWER_USAGE",
          "DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE")
COUNTER = "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION"
METRICS = (*GAUGES, COUNTER)


def _is_mig(labels: dict[str, str]) -> bool:
    return "GPU_I_ID" in labels


@dataclass
class PromHistory:
    """1-minute history from `start` (inclusive) to `end` (exclusive); `values[(metric, uuid)][unix_s]`."""

    start: dt.datetime
    end: dt.datetime
    nan_at: int | None = None  # unix second at which GPU 0's GPU_UTIL is NaN
    values: dict[tuple[str, str], dict[int, float]] = field(default_factory=dict)
    _power_sums: dict[int, list[float]] = field(default_factory=dict, repr=False)

    def series(self) -> Iterator[tuple[str, dict[str, str]]]:
        for metric in METRICS:
            for labels in [*GPUS, NO_UUID]:
                if metric == "DCGM_FI_DEV_GPU_UTIL" and _is_mig(labels):
                    continue  # GPU_UTIL is absent under MIG
                yield metric, labels

    def value(self, metric: str, k: int, g: int) -> float:
        # deterministic, exactly representable values (quarter steps)
        if metric == COUNTER:  # mJ since boot: the power gauge integrated over each minute, so the two agree
            return float(1_000_000_000 * (g + 1) + g + 60_000 * self._power_sum(k, g))
        base = {"DCGM_FI_DEV_GPU_UTIL": 100, "DCGM_FI_PROF_GR_ENGINE_ACTIVE": 1, "DCGM_FI_DEV_POWER_USAGE": 700,
                "DCGM_FI_DEV_FB_USED": 80_000, "DCGM_FI_DEV_FB_FREE": 80_000}[metric]
        return ((k * 7 + g * 13) % 400) / 400 * base

    def _power_sum(self, k: int, g: int) -> float:
        """Sum of the power gauge's values (W) over minutes 0..k of GPU g (multiples of 1.75 W: exact)."""
        sums = self._power_sums.setdefault(g, [])
        while len(sums) <= k:
            sums.append((sums[-1] if sums else 0.0) + self.value("DCGM_FI_DEV_POWER_USAGE", len(sums), g))
        return sums[k]

    def openmetrics(self) -> str:
        t0, t1 = int(self.start.timestamp()), int(self.end.timestamp())
        lines: list[str] = []
        current = None
        for metric, labels in self.series():
            if metric != current:
                kind = "counter" if metric == COUNTER else "gauge"
                lines += [f"# HELP {metric} {metric} as emitted by dcgm-exporter.", f"# TYPE {metric} {kind}"]
                current = metric
            g = [*GPUS, NO_UUID].index(labels)
            label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
            store = self.values.setdefault((metric, labels.get("UUID", "")), {})
            for k, ts in enumerate(range(t0, t1, 60)):
                v = self.value(metric, k, g)
                if ts == self.nan_at and g == 0 and metric == "DCGM_FI_DEV_GPU_UTIL":
                    v = math.nan
                store[ts] = v
                lines.append(f"{metric}{{{label_text}}} {'NaN' if math.isnan(v) else repr(v)} {ts}")
        lines.append("# EOF")
        return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def start_prometheus(history: PromHistory, workdir: Path) -> Iterator[str]:
    """Backfill `history` into workdir/tsdb, run Prometheus on it, yield its base URL, stop it."""
    om = workdir / "history.om"
    om.write_text(history.openmetrics())
    with serve_openmetrics(om, workdir) as url:
        yield url


@contextlib.contextmanager
def serve_openmetrics(om: Path | Sequence[Path], workdir: Path, lookback: str = "5m") -> Iterator[str]:
    """Backfill OpenMetrics file(s) into workdir/tsdb, run Prometheus on it, yield its base URL, stop it.

    One file per day (promtool reads a file once per block). A backfilled database has no staleness markers, so
    a series that ends is repeated for `lookback`; under the sample interval gives what a scraping Prometheus
    would (ingestion/simulator/k8s_prometheus.py)."""
    found = binaries()
    assert found, "prometheus/promtool not on PATH"
    prometheus, promtool = found
    tsdb = workdir / "tsdb"
    backfill([om] if isinstance(om, Path) else om, tsdb, promtool)
    port = free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(server_args(tsdb, workdir, f"127.0.0.1:{port}", lookback, prometheus),
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(url + "/-/ready", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready:\n"
                                   + (workdir / "prometheus.log").read_text()[-3000:])
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


Handler = Callable[[http.server.BaseHTTPRequestHandler], tuple[int, bytes, float]]


@contextlib.contextmanager
def stub_server(respond: Handler) -> Iterator[tuple[str, list[str]]]:
    """A local HTTP server whose GET answers `respond(request) -> (status, body, delay_s)`.

    Yields (base URL, list of request paths seen).
    """
    seen: list[str] = []

    class _Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server API)
            seen.append(self.path)
            status, body, delay = respond(self)
            time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:
                pass  # the client gave up (timeout test)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def matrix(result: list[dict], warnings: list[str] | None = None) -> bytes:
    payload: dict = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    if warnings:
        payload["warnings"] = warnings
    return json.dumps(payload).encode()
