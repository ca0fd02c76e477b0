"""The simulated cluster as a Kubernetes cluster's Prometheus would have scraped it: one OpenMetrics file.

For every minute of the scenario (or of the days asked for), what these exporters would have served, written
for `promtool tsdb create-blocks-from openmetrics` (families grouped, `# EOF`, timestamps in seconds, one sample
per series per minute at the minute boundary; a counter at time t counts the events strictly before t):

* **dcgm-exporter 4.x with pod labels**: exactly the readings `telemetry.day_samples` lands (same names and
  values), labelled `gpu`, `UUID`, `device`, `modelName`, (`GPU_I_PROFILE`, `GPU_I_ID` under MIG), `Hostname`
  and `container`/`namespace`/`pod` of the pod holding the GPU or MIG instance (absent when none). A pod on a
  vGPU fraction gets its own copy of the GPU's series with a `vgpu` label, as dcgm-exporter does with
  `--kubernetes-virtual-gpus` (internal/pkg/transformation/kubernetes.go, `toDeviceToSharingPods`: one deep
  copy of each device metric per pod sharing the device, `vgpu` = the device plugin's replica suffix of the
  device ID, `<UUID>::<n>`). An unoccupied GPU keeps its plain series (the flag would drop it; the warehouse
  needs idle GPUs for pool-wide utilisation).
* **vLLM V1 `/metrics` of each inference replica** (V1 names, vLLM 0.34.0's bucket edges), labelled
  `model_name`, `engine="0"` and `namespace`/`pod` as Prometheus's Kubernetes service discovery relabels them.
  Observations happen when vLLM makes them: TTFT at the first token, one inter-token latency per generated
  token after the first, the per-request histograms and the token/success counters when the request finishes,
  prompt tokens at the first token and prefix-cache queries/hits when it is scheduled. A replica's series
  start from zero at its start and end once its last request has finished (a pod drains on SIGTERM).
* **`gpu_eff_training_tokens_total{namespace,pod}`** of each training pod (the product's convention for a
  trainer): the job's landed `tokens_processed` spread uniformly over its run, as int_job_stage_overlap.sql
  attributes a job's tokens to stage windows (pro rata to running time).
* **kube-state-metrics v2** for every GPU pod (every job, pending ones included; namespace = tenant, pod =
  job_id): `kube_pod_info`, `kube_pod_created`, `kube_pod_start_time`, `kube_pod_completion_time`,
  `kube_pod_status_phase` (one-hot), `kube_pod_container_resource_requests`/`_limits` (`nvidia_com_gpu`,
  `nvidia_com_mig_<profile>`, HAMi `nvidia_com_gpucores`/`nvidia_com_gpumem`) and `kube_pod_labels` (Kueue's
  queue label and the workload type). A succeeded or failed pod stays visible 5 minutes after it completes; a
  preempted or cancelled pod is deleted at its end.

Series end without staleness markers (the text format cannot carry them): query the backfilled data with a
lookback shorter than the 1-minute scrape interval, or a series that ended is repeated for the lookback.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.simulator import telemetry
from ingestion.simulator.run import Simulation
from ingestion.simulator.workload import Job

SCRAPE_S = 60
VISIBLE_AFTER_COMPLETION_MIN = 5  # kube-state-metrics lists a completed pod until it is garbage-collected
_KUBE_RESOURCE_UNIT = "integer"  # what kube-state-metrics writes for extended resources

# vLLM 0.34.0 (the latest release, read from its wheel's vllm/v1/metrics/buckets.py, which
# vllm/v1/metrics/loggers.py at tag v0.34.0 uses for every histogram below).
REQUEST_LATENCY_BUCKETS = (0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
                           120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0)
TIME_TO_FIRST_TOKEN_BUCKETS = (0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                               7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0)
INTER_TOKEN_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
                               10.0, 20.0, 40.0, 80.0)

# (help, type) as dcgm-exporter's default counters describe them; any other reading is a gauge.
DCGM_FAMILIES = {
    "DCGM_FI_DEV_SM_CLOCK": ("SM clock frequency (in MHz).", "gauge"),
    "DCGM_FI_DEV_GPU_TEMP": ("GPU temperature (in C).", "gauge"),
    "DCGM_FI_DEV_POWER_USAGE": ("Power draw (in W).", "gauge"),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("Total energy consumption since boot (in mJ).", "counter"),
    "DCGM_FI_DEV_GPU_UTIL": ("GPU utilization (in %).", "gauge"),
    "DCGM_FI_DEV_FB_FREE": ("Framebuffer memory free (in MiB).", "gauge"),
    "DCGM_FI_DEV_FB_USED": ("Framebuffer memory used (in MiB).", "gauge"),
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE": ("Ratio of time the graphics engine is active.", "gauge"),
    "DCGM_FI_PROF_SM_ACTIVE": ("The ratio of cycles an SM has at least 1 warp assigned.", "gauge"),
    "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": ("Ratio of cycles the tensor (HMMA) pipe is active.", "gauge"),
    "DCGM_FI_PROF_DRAM_ACTIVE": ("Ratio of cycles the device memory interface is active sending or receiving "
                                 "data.", "gauge"),
}
OWNER_KIND = {"training": "Job", "evaluation": "Job", "inference": "ReplicaSet", "development": "StatefulSet"}
PHASES = ("Failed", "Pending", "Running", "Succeeded", "Unknown")
TRAINING_TOKENS = "gpu_eff_training_tokens"


# -- the text ---------------------------------------------------------------------------------------
def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(pairs: Iterable[tuple[str, str]]) -> str:
    return ",".join(f'{k}="{_escape(str(v))}"' for k, v in pairs)


_SPECIAL = {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}


def _number_texts(values: np.ndarray) -> list[str]:
    """Values as the shortest text that reads back as the same float (integers without `.0`)."""
    values = np.asarray(values, dtype=np.float64)
    if np.isfinite(values).all() and (values == np.round(values)).all() and (np.abs(values) < 2**53).all():
        return list(map(str, values.astype(np.int64).tolist()))
    return [_SPECIAL.get(text, text) for text in map(repr, values.tolist())]


class _Writer:
    """Writes families and series; counts series and samples."""

    def __init__(self, stream: TextIO, ts_text: np.ndarray):
        self.stream = stream
        self.ts_text = ts_text  # unix-seconds text of every scenario minute
        self.series_count = 0
        self.samples = 0

    def family(self, name: str, kind: str, help_text: str) -> None:
        self.stream.write(f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n")

    def series(self, name: str, labels: str, minutes: np.ndarray, values: np.ndarray | float) -> None:
        if not len(minutes):
            return
        values = np.broadcast_to(np.asarray(values, dtype=np.float64), minutes.shape)
        head = f"{name}{{{labels}}} "
        self.stream.write("".join([f"{head}{v} {t}\n" for v, t in
                                   zip(_number_texts(values), self.ts_text[minutes].tolist(), strict=True)]))
        self.series_count += 1
        self.samples += len(minutes)

    def histogram(self, name: str, labels: str, minutes: np.ndarray, edges: Sequence[float],
                  counts: np.ndarray, sums: np.ndarray) -> None:
        """`counts` (samples x buckets, cumulative, the last one +Inf) and `sums` at each sample."""
        for k, edge in enumerate([*map(repr, map(float, edges)), "+Inf"]):
            self.series(f"{name}_bucket", f'{labels},le="{edge}"', minutes, counts[:, k])
        self.series(f"{name}_sum", labels, minutes, sums)
        self.series(f"{name}_count", labels, minutes, counts[:, -1])


@dataclass
class _Window:
    """The scenario minutes written (whole days) and their sample times."""

    selected: np.ndarray  # bool per scenario minute
    ts_text: np.ndarray  # unix-seconds text per scenario minute

    def minutes(self, first: int, last: int) -> np.ndarray:
        """The written minutes in [first, last] (inclusive)."""
        first, last = max(first, 0), min(last, self.selected.size - 1)
        if first > last:
            return np.empty(0, np.int64)
        span = np.arange(first, last + 1)
        return span[self.selected[span]]


def _window(sim: Simulation, days: Sequence[dt.date]) -> _Window:
    sc = sim.scenario
    selected = np.zeros(sc.minutes, bool)
    for day in days:
        d = (day - sc.start_date).days
        if not 0 <= d < sc.days:
            raise ValueError(f"{day} is outside scenario {sc.name!r} ({sc.start_date} + {sc.days} days)")
        selected[d * 1440:(d + 1) * 1440] = True
    base = int(sc.start.timestamp())
    return _Window(selected, (base + SCRAPE_S * np.arange(sc.minutes)).astype(str))


def write_openmetrics(sim: Simulation, path: Path, days: Sequence[dt.date] | None = None) -> dict:
    """Write the exporters' view of `days` (default: the whole scenario) to `path` (replaced atomically);
    returns {"series", "samples", "bytes"}."""
    days = sorted(days) if days is not None else sim.scenario.dates()
    window = _window(sim, days)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8", buffering=1 << 22) as stream:
            writer = _Writer(stream, window.ts_text)
            _write_dcgm(sim, days, window, writer)
            _write_vllm(sim, window, writer)
            _write_training_tokens(sim, window, writer)
            _write_kube_state(sim, window, writer)
            stream.write("# EOF\n")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return {"series": writer.series_count, "samples": writer.samples, "bytes": path.stat().st_size}


# -- dcgm-exporter ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _PodSpan:
    """A pod holding a GPU (instance key 0) or MIG instance (GPU_I_ID) over minutes [start, end)."""

    job: Job
    start: int
    end: int
    vgpu: str | None  # the device plugin's replica index on a shared GPU


def _run_end(sim: Simulation, job: Job) -> int:
    return job.end if job.end is not None else sim.scenario.minutes


def _device_pods(sim: Simulation) -> dict[tuple[int, int], list[_PodSpan]]:
    """Pods per device (gpu, GPU_I_ID or 0); vGPU fractions get the lowest replica index free at their start."""
    spans: dict[tuple[int, int], list[_PodSpan]] = defaultdict(list)
    shared: dict[int, list[tuple[int, int, Job]]] = defaultdict(list)
    for job in sim.jobs:
        if job.start is None or _run_end(sim, job) <= job.start:
            continue
        for p in job.placements:
            if p.instance < 0 and p.share < 1.0 - 1e-9:
                shared[p.gpu].append((job.start, _run_end(sim, job), job))
            else:
                spans[(p.gpu, p.instance + 1 if p.instance >= 0 else 0)].append(
                    _PodSpan(job, job.start, _run_end(sim, job), None))
    for gpu, held in shared.items():
        free_at: list[int] = []  # per replica index: the minute it is free again
        for start, end, job in sorted(held, key=lambda h: (h[0], h[2].job_id)):
            slot = next((i for i, t in enumerate(free_at) if t <= start), len(free_at))
            free_at[slot:slot + 1] = [end]
            spans[(gpu, 0)].append(_PodSpan(job, start, end, str(slot)))
    return spans


def _codes(column: pa.ChunkedArray, lookup: dict[str, int]) -> np.ndarray:
    """Per row, `lookup[value]` of a string column (dictionary-encoded or not), without a loop per row."""
    encoded = pc.dictionary_encode(column.combine_chunks()) if not pa.types.is_dictionary(column.type) \
        else column.combine_chunks()
    remap = np.array([lookup[v] for v in encoded.dictionary.to_pylist()], dtype=np.int64)
    return remap[encoded.indices.to_numpy(zero_copy_only=False)]


def _dcgm_readings(sim: Simulation, days: Sequence[dt.date]) -> dict[str, dict[tuple[int, int], list]]:
    """metric -> device (gpu, GPU_I_ID or 0) -> [(minutes, values)], from the rows day_samples lands."""
    sc = sim.scenario
    uuid_index = {sim.gpu_uuid(g): g for g in range(sc.gpu_count)}
    start_us = int(sc.start.timestamp() * 1_000_000)
    readings: dict[str, dict[tuple[int, int], list]] = defaultdict(lambda: defaultdict(list))
    for day in days:
        table = telemetry.day_samples(sc, sim.jobs, sim.gpu_modes, sim.day_telemetry(day), day)
        metric_names = sorted(set(table.column("metric").combine_chunks().dictionary.to_pylist())
                              if pa.types.is_dictionary(table.column("metric").type)
                              else set(table.column("metric").to_pylist()))
        metric = _codes(table.column("metric"), {m: i for i, m in enumerate(metric_names)})
        gpu = _codes(table.column("gpu_uuid"), uuid_index)
        instance = table.column("gpu_instance_id").fill_null(0).to_numpy().astype(np.int64)
        ts_us = table.column("ts").cast(pa.int64()).to_numpy()
        minute = (ts_us - start_us) // (SCRAPE_S * 1_000_000)
        value = table.column("value").to_numpy()
        order = np.lexsort((minute, instance, gpu, metric))
        metric, gpu, instance, minute, value = (a[order] for a in (metric, gpu, instance, minute, value))
        key = (metric * sc.gpu_count + gpu) * 64 + instance
        bounds = np.flatnonzero(np.diff(key)) + 1
        for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, key.size], strict=True):
            device = (int(gpu[lo]), int(instance[lo]))
            readings[metric_names[metric[lo]]][device].append((minute[lo:hi], value[lo:hi]))
    return readings


def _write_dcgm(sim: Simulation, days: Sequence[dt.date], window: _Window, writer: _Writer) -> None:
    sc = sim.scenario
    pods = _device_pods(sim)
    per_node = sc.gpus_per_node
    for metric, devices in sorted(_dcgm_readings(sim, days).items()):
        help_text, kind = DCGM_FAMILIES.get(metric, (f"{metric} as dcgm-exporter names it.", "gauge"))
        writer.family(metric, kind, help_text)
        for (gpu, instance), parts in sorted(devices.items()):
            minutes = np.concatenate([m for m, _ in parts])
            values = np.concatenate([v for _, v in parts])
            device = [("gpu", str(gpu % per_node)), ("UUID", sim.gpu_uuid(gpu)), ("device", f"nvidia{gpu % per_node}"),
                      ("modelName", sc.gpu_model)]
            if instance:
                device += [("GPU_I_PROFILE", sc.mig_layout[instance - 1]), ("GPU_I_ID", str(instance))]
            device.append(("Hostname", sim.hostnames[gpu // per_node]))
            held = np.zeros(minutes.size, bool)
            for span in pods.get((gpu, instance), ()):
                lo, hi = np.searchsorted(minutes, [span.start, span.end])
                pod = [("container", telemetry.CONTAINER[span.job.kind]), ("namespace", span.job.tenant),
                       ("pod", span.job.job_id)] + ([("vgpu", span.vgpu)] if span.vgpu is not None else [])
                writer.series(metric, _labels(device + pod), minutes[lo:hi], values[lo:hi])
                held[lo:hi] = True
            writer.series(metric, _labels(device), minutes[~held], values[~held])


# -- vLLM -------------------------------------------------------------------------------------------
@dataclass
class _Observations:
    """Weighted events (time in seconds since the scenario start, value, weight) of one histogram or counter."""

    times: list[np.ndarray] = field(default_factory=list)
    values: list[np.ndarray] = field(default_factory=list)
    weights: list[np.ndarray] = field(default_factory=list)

    def add(self, times: np.ndarray, values: np.ndarray, weights: np.ndarray | float = 1.0) -> None:
        self.times.append(np.asarray(times, np.float64))
        self.values.append(np.asarray(values, np.float64))
        self.weights.append(np.broadcast_to(np.asarray(weights, np.float64), np.shape(times)))

    def cumulative(self, sample_s: np.ndarray, edges: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """(cumulative bucket counts, samples x (edges + +Inf), and sums) of the events strictly before each
        sample time."""
        times, values, weights = (np.concatenate(a) if a else np.empty(0) for a in
                                  (self.times, self.values, self.weights))
        row = np.searchsorted(sample_s, times, side="right")  # first sample that counts the event
        bucket = np.searchsorted(np.asarray(edges, np.float64), values, side="left")  # value <= le
        width = len(edges) + 1
        grid = np.bincount(row * width + bucket, weights, minlength=(sample_s.size + 1) * width)
        counts = np.cumsum(np.cumsum(grid.reshape(-1, width), axis=0), axis=1)[:sample_s.size]
        return counts, _sum_before(times, weights * values, sample_s)

    def totals(self, sample_s: np.ndarray) -> np.ndarray:
        """A counter: the weights of the events strictly before each sample time."""
        times, weights = (np.concatenate(a) if a else np.empty(0) for a in (self.times, self.weights))
        return _sum_before(times, weights, sample_s)


def _sum_before(times: np.ndarray, amounts: np.ndarray, sample_s: np.ndarray) -> np.ndarray:
    """The sum of `amounts` of the events strictly before each sample time, added in time order from the first
    event: the same float at a sample whatever window is written (one day's file and the next agree on the
    midnight sample, where partial sums in another order would differ in the last bit and read as a reset)."""
    order = np.argsort(times, kind="stable")
    prefix = np.concatenate([[0.0], np.cumsum(amounts[order])])
    return prefix[np.searchsorted(times[order], sample_s, side="left")]


VLLM_HISTOGRAMS = (  # family, help (vLLM's), bucket edges
    ("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.",
     TIME_TO_FIRST_TOKEN_BUCKETS),
    ("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.",
     INTER_TOKEN_LATENCY_BUCKETS),
    ("vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.",
     INTER_TOKEN_LATENCY_BUCKETS),
    ("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", REQUEST_LATENCY_BUCKETS),
    ("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.",
     REQUEST_LATENCY_BUCKETS),
    ("vllm:request_prefill_time_seconds", "Histogram of time spent in PREFILL phase for request.",
     REQUEST_LATENCY_BUCKETS),
    ("vllm:request_decode_time_seconds", "Histogram of time spent in DECODE phase for request.",
     REQUEST_LATENCY_BUCKETS),
)
VLLM_COUNTERS = (  # family (samples are `<family>_total`), help, extra labels
    ("vllm:prompt_tokens", "Number of prefill tokens processed.", ""),
    ("vllm:generation_tokens", "Number of generation tokens processed.", ""),
    ("vllm:request_success", "Count of successfully processed requests.", ',finished_reason="stop"'),
    ("vllm:prefix_cache_queries", "Prefix cache queries, in terms of number of queried tokens.", ""),
    ("vllm:prefix_cache_hits", "Prefix cache hits, in terms of number of cached tokens.", ""),
)
VLLM_GAUGES = (
    ("vllm:num_requests_running", "Number of requests in model execution batches."),
    ("vllm:num_requests_waiting", "Number of requests waiting to be processed."),
    ("vllm:kv_cache_usage_perc", "KV-cache usage. 1 means 100 percent usage."),
)
KV_POOL_SHARE = 0.9  # vLLM's default gpu_memory_utilization: weights and KV pool share 90% of the slot


@dataclass
class _ReplicaView:
    labels: str
    minutes: np.ndarray
    histograms: dict[str, tuple[np.ndarray, np.ndarray]]
    counters: dict[str, np.ndarray]
    gauges: dict[str, np.ndarray]


def _inter_token_observations(first: np.ndarray, end: np.ndarray, out: np.ndarray
                              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The out - 1 inter-token latencies of each request (>= 2 output tokens), grouped by the scrape that first
    sees them: token k (k >= 1) comes at first + k x interval. Returns (time inside the minute before that
    scrape, interval, how many)."""
    interval = (end - first) / (out - 1)
    first_scrape = np.floor(first / SCRAPE_S).astype(np.int64) + 1
    scrapes = np.floor(end / SCRAPE_S).astype(np.int64) + 2 - first_scrape  # up to the first one after `end`
    request = np.repeat(np.arange(first.size), scrapes)
    offsets = np.arange(scrapes.sum()) - np.repeat(np.cumsum(scrapes) - scrapes, scrapes)
    t = (first_scrape[request] + offsets) * float(SCRAPE_S)
    n = out[request] - 1
    seen = np.where(t > end[request], n,
                    np.clip(np.ceil((t - first[request]) / interval[request]) - 1, 0, n))
    before = np.r_[0.0, seen[:-1]]
    before[offsets == 0] = 0.0
    new = seen - before
    keep = new > 0
    return t[keep] - SCRAPE_S / 2, interval[request][keep], new[keep]


def _live(starts: np.ndarray, ends: np.ndarray, at: np.ndarray) -> np.ndarray:
    """How many intervals [start, end) contain each time."""
    return (np.searchsorted(np.sort(starts), at, side="right")
            - np.searchsorted(np.sort(ends), at, side="right")).astype(np.float64)


def _replica_view(sim: Simulation, job: Job, served: np.ndarray, ok: np.ndarray, window: _Window
                  ) -> _ReplicaView | None:
    """vLLM's /metrics of one replica pod at each written minute of its life. `served`: the requests routed
    to it; `ok`: those it completed."""
    sc, rq = sim.scenario, sim.requests
    last = sc.minutes - 1
    if job.end is not None:
        drained = int(np.floor(rq.end[served].max() / SCRAPE_S)) + 1 if served.any() else job.end
        last = max(job.end, drained)
    minutes = window.minutes(job.start, last)
    if not minutes.size:
        return None
    at = minutes * float(SCRAPE_S)
    arrival, scheduled, first, end = (a[ok] for a in (rq.arrival, rq.scheduled, rq.first_token, rq.end))
    out, prompt, cached = (a[ok].astype(np.float64) for a in (rq.output_tokens, rq.prompt_tokens,
                                                                rq.cached_prompt_tokens))
    observed = {name: _Observations() for name, _, _ in VLLM_HISTOGRAMS}
    observed["vllm:time_to_first_token_seconds"].add(first, first - arrival)
    observed["vllm:e2e_request_latency_seconds"].add(end, end - arrival)
    observed["vllm:request_queue_time_seconds"].add(end, scheduled - arrival)
    observed["vllm:request_prefill_time_seconds"].add(end, first - scheduled)
    observed["vllm:request_decode_time_seconds"].add(end, end - first)
    several = out >= 2
    observed["vllm:request_time_per_output_token_seconds"].add(
        end[several], (end - first)[several] / (out[several] - 1))
    observed["vllm:inter_token_latency_seconds"].add(
        *_inter_token_observations(first[several], end[several], out[several]))
    counted = {name: _Observations() for name, _, _ in VLLM_COUNTERS}
    counted["vllm:prompt_tokens"].add(first, 0.0, prompt)
    counted["vllm:generation_tokens"].add(end, 0.0, out)
    counted["vllm:request_success"].add(end, 0.0)
    counted["vllm:prefix_cache_queries"].add(scheduled, 0.0, prompt)
    counted["vllm:prefix_cache_hits"].add(scheduled, 0.0, cached)
    service = next(s for s in sc.services if s.name == job.service)
    running = _live(scheduled, end, at)
    waiting_until = np.where(np.isnan(rq.scheduled[served]), rq.end[served], rq.scheduled[served])
    kv_capacity_gb = max(KV_POOL_SHARE * job.placements[0].reserved_gb - service.weights_gb, service.kv_gb_per_seq)
    return _ReplicaView(
        labels=_labels([("model_name", job.service), ("engine", "0"), ("namespace", job.tenant),
                        ("pod", job.job_id)]),
        minutes=minutes,
        histograms={name: observed[name].cumulative(at, edges) for name, _, edges in VLLM_HISTOGRAMS},
        counters={name: counted[name].totals(at) for name, _, _ in VLLM_COUNTERS},
        gauges={"vllm:num_requests_running": running,
                "vllm:num_requests_waiting": _live(rq.arrival[served], waiting_until, at),
                "vllm:kv_cache_usage_perc": np.clip(running * service.kv_gb_per_seq / kv_capacity_gb, 0.0, 1.0)},
    )


def _replica_views(sim: Simulation, window: _Window) -> list[_ReplicaView]:
    rq = sim.requests
    encoded = pc.dictionary_encode(rq.replica)
    code = {name: i for i, name in enumerate(encoded.dictionary.to_pylist())}
    replica = encoded.indices.to_numpy(zero_copy_only=False)
    completed = pc.equal(rq.status, "ok").to_numpy(zero_copy_only=False)
    views = []
    for job in sim.jobs:
        if job.kind != "inference" or job.service is None or job.start is None:
            continue
        served = replica == code.get(job.job_id, -1)
        view = _replica_view(sim, job, served, served & completed, window)
        if view is not None:
            views.append(view)
    return views


def _write_vllm(sim: Simulation, window: _Window, writer: _Writer) -> None:
    views = _replica_views(sim, window)
    for name, help_text, edges in VLLM_HISTOGRAMS:
        writer.family(name, "histogram", help_text)
        for view in views:
            writer.histogram(name, view.labels, view.minutes, edges, *view.histograms[name])
    for name, help_text, extra in VLLM_COUNTERS:
        writer.family(name, "counter", help_text)
        for view in views:
            writer.series(f"{name}_total", view.labels + extra, view.minutes, view.counters[name])
    for name, help_text in VLLM_GAUGES:
        writer.family(name, "gauge", help_text)
        for view in views:
            writer.series(name, view.labels, view.minutes, view.gauges[name])


# -- trainers ---------------------------------------------------------------------------------------
def _write_training_tokens(sim: Simulation, window: _Window, writer: _Writer) -> None:
    """Each training pod's tokens since it started: its landed tokens_processed, uniform over [start, end)."""
    writer.family(TRAINING_TOKENS, "counter", "Tokens processed by the training job (gpu-efficiency convention).")
    for job in sim.jobs:
        if job.kind != "training" or job.start is None or _run_end(sim, job) <= job.start:
            continue
        run_end = _run_end(sim, job)
        minutes = window.minutes(job.start, run_end)
        share = (minutes - job.start) / (run_end - job.start)
        writer.series(f"{TRAINING_TOKENS}_total", _labels([("namespace", job.tenant), ("pod", job.job_id)]),
                      minutes, round(job.tokens) * share)


# -- kube-state-metrics -----------------------------------------------------------------------------
@dataclass
class _Pod:
    """A job as the pod kube-state-metrics lists: from its creation (submit) to `gone` (exclusive)."""

    job: Job
    uid: str
    node: str
    gone: int
    phases: list[tuple[str, int, int]]  # (phase, first minute, end minute exclusive)
    resources: list[tuple[str, float]]  # (kube-state-metrics resource name, amount)

    @property
    def identity(self) -> list[tuple[str, str]]:
        return [("namespace", self.job.tenant), ("pod", self.job.job_id), ("uid", self.uid)]


def _mig_resource(profile: str) -> str:
    return "nvidia_com_mig_" + profile.replace(".", "_").replace("-", "_")


def _gpu_resources(sim: Simulation, job: Job) -> list[tuple[str, float]]:
    """What the pod requests (and limits: extended resources have both equal), as kube-state-metrics names it."""
    placements = job.placements
    if not placements:
        return [(_mig_resource(job.mig_request), 1.0)] if job.mig_request else [("nvidia_com_gpu", float(job.gpus))]
    if placements[0].instance >= 0:
        return [(_mig_resource(sim.scenario.mig_layout[placements[0].instance]), float(len(placements)))]
    if placements[0].share < 1.0 - 1e-9:  # a HAMi vGPU fraction: one device, a share of its cores and memory
        return [("nvidia_com_gpu", float(len(placements))),
                ("nvidia_com_gpucores", float(round(placements[0].share * 100))),
                ("nvidia_com_gpumem", float(round(placements[0].reserved_gb * telemetry.MIB_PER_GB)))]
    return [("nvidia_com_gpu", float(len(placements)))]


def _pod(sim: Simulation, job: Job) -> _Pod:
    end = sim.scenario.minutes
    if job.start is None:
        gone = int(job.events[-1][0]) if job.status == "cancelled" else end  # cancelled in the queue: deleted
        phases = [("Pending", job.submit, gone)]
    elif job.end is None:
        gone = end
        phases = [("Pending", job.submit, job.start), ("Running", job.start, gone)]
    elif job.status in ("succeeded", "failed"):
        gone = job.end + VISIBLE_AFTER_COMPLETION_MIN
        phases = [("Pending", job.submit, job.start), ("Running", job.start, job.end),
                  ("Succeeded" if job.status == "succeeded" else "Failed", job.end, gone)]
    else:  # preempted or cancelled while running: the pod is deleted
        gone = job.end
        phases = [("Pending", job.submit, job.start), ("Running", job.start, job.end)]
    node = sim.hostnames[job.placements[0].gpu // sim.scenario.gpus_per_node] if job.placements else ""
    uid = str(uuid.uuid5(uuid.NAMESPACE_URL, f"gpu-eff-sim/{sim.scenario.pool}/pod/{job.job_id}"))
    return _Pod(job, uid, node, gone, phases, _gpu_resources(sim, job))


def _owner_name(job: Job) -> str:
    """A Job or StatefulSet is named after its pod's job; a replica's ReplicaSet after its deployment."""
    return job.job_id.rsplit("-", 1)[0] if OWNER_KIND[job.kind] == "ReplicaSet" else job.job_id


def _write_kube_state(sim: Simulation, window: _Window, writer: _Writer) -> None:
    pods = [_pod(sim, job) for job in sim.jobs]
    base = int(sim.scenario.start.timestamp())

    def lifetime(pod: _Pod, first: int | None = None) -> np.ndarray:
        return window.minutes(pod.job.submit if first is None else first, pod.gone - 1)

    def by_node(pod: _Pod, name: str, labels: list[tuple[str, str]], value: float) -> None:
        """A series whose `node` label is empty until the pod is scheduled."""
        scheduled = pod.job.start if pod.job.start is not None else pod.gone
        writer.series(name, _labels(pod.identity + [("node", "")] + labels),
                      window.minutes(pod.job.submit, min(scheduled, pod.gone) - 1), value)
        writer.series(name, _labels(pod.identity + [("node", pod.node)] + labels),
                      window.minutes(scheduled, pod.gone - 1), value)

    writer.family("kube_pod_info", "gauge", "[STABLE] Information about pod.")
    for pod in pods:
        by_node(pod, "kube_pod_info", [("created_by_kind", OWNER_KIND[pod.job.kind]),
                                       ("created_by_name", _owner_name(pod.job))], 1.0)
    writer.family("kube_pod_created", "gauge", "[STABLE] Unix creation timestamp")
    for pod in pods:
        writer.series("kube_pod_created", _labels(pod.identity), lifetime(pod), base + SCRAPE_S * pod.job.submit)
    writer.family("kube_pod_start_time", "gauge", "[STABLE] Start time in unix timestamp for a pod.")
    for pod in pods:
        if pod.job.start is not None:
            writer.series("kube_pod_start_time", _labels(pod.identity), lifetime(pod, pod.job.start),
                          base + SCRAPE_S * pod.job.start)
    writer.family("kube_pod_completion_time", "gauge", "[STABLE] Completion time in unix timestamp for a pod.")
    for pod in pods:
        if pod.job.end is not None and pod.gone > pod.job.end:
            writer.series("kube_pod_completion_time", _labels(pod.identity), lifetime(pod, pod.job.end),
                          base + SCRAPE_S * pod.job.end)
    writer.family("kube_pod_status_phase", "gauge", "[STABLE] The pods current phase.")
    for pod in pods:
        minutes = lifetime(pod)
        for phase in PHASES:
            ranges = [(a, b) for p, a, b in pod.phases if p == phase]
            current = np.zeros(minutes.size)
            for a, b in ranges:
                current[(minutes >= a) & (minutes < b)] = 1.0
            writer.series("kube_pod_status_phase", _labels(pod.identity + [("phase", phase)]), minutes, current)
    for name, verb in (("kube_pod_container_resource_requests", "request"),
                       ("kube_pod_container_resource_limits", "limit")):
        writer.family(name, "gauge", f"[STABLE] The number of requested {verb} resource by a container.")
        for pod in pods:
            for resource, amount in pod.resources:
                by_node(pod, name, [("container", telemetry.CONTAINER[pod.job.kind]), ("resource", resource),
                                    ("unit", _KUBE_RESOURCE_UNIT)], amount)
    writer.family("kube_pod_labels", "gauge", "[STABLE] Kubernetes labels converted to Prometheus labels.")
    for pod in pods:
        writer.series("kube_pod_labels", _labels(pod.identity + [
            ("label_gpu_efficiency_workload_type", pod.job.kind),
            ("label_kueue_x_k8s_io_queue_name", pod.job.queue)]), lifetime(pod), 1.0)


# -- command line -----------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ingestion.simulator.exporter_view",
        description="Write what the simulated cluster's exporters (dcgm-exporter with pod labels, vLLM, "
                    "trainers, kube-state-metrics) would have served, one OpenMetrics file for "
                    "`promtool tsdb create-blocks-from openmetrics`.")
    parser.add_argument("scenario", help="a bundled scenario name (tiny, demo, large) or a scenario YAML file")
    parser.add_argument("out_file", type=Path, help="the OpenMetrics file to write")
    args = parser.parse_args(argv)
    from ingestion.simulator.run import simulation_for
    from ingestion.simulator.scenario import ScenarioError

    began = time.monotonic()
    try:
        summary = write_openmetrics(simulation_for(args.scenario), args.out_file)
    except ScenarioError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write {args.out_file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{args.out_file}: {summary['series']} series, {summary['samples']} samples, "
          f"{summary['bytes'] / 1e6:.1f} MB in {time.monotonic() - began:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
