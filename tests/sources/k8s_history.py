"""Test helper: one hand-written day of a Kubernetes GPU cluster's Prometheus history, as OpenMetrics text.

Serving engines (vLLM names): a token counter with a process restart and a 10-minute scrape gap, a success
counter split by finished_reason (one reason first seen mid-day), a TTFT histogram of two data-parallel engines
labelled by legacy relabelling (`kubernetes_pod_name`), gauges (one scraped through a router, so its pod is in
`exported_pod`; one with no pod label at all), a context-only family and a `_created` series.
kube-state-metrics pods: one pending, then running, then succeeded; one deleted while running (MIG); one deleted
while pending; a HAMi vGPU pod scraped without honor_labels (exported_*); a KSM v1 pod without uid; a CPU pod;
a GPU pod deleted two minutes before the day; one deleted at the day's end (its last sample at 23:59); one
created at the next day's first minute. Samples every minute at whole minutes; `serve_openmetrics`
(prometheus_server.py) backfills the text into a real Prometheus.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

UTC = dt.UTC
DAY = dt.date(2026, 10, 10)
DAY_START = int(dt.datetime(2026, 10, 10, tzinfo=UTC).timestamp())
START = DAY_START - 3600  # the history: the day, an hour either side
END = DAY_START + 86_400 + 3600


def at(hour: int, minute: int = 0, day_offset: int = 0) -> int:
    """Unix seconds of DAY (+ day_offset) at hour:minute UTC."""
    return DAY_START + day_offset * 86_400 + hour * 3600 + minute * 60


Value = Callable[[int], float | None]  # unix second -> value, None: no sample then

# --- serving -----------------------------------------------------------------------------------------------
LLM0 = {"namespace": "serving", "pod": "llm-0", "model_name": "m1", "engine": "0"}
RESTART, GAP = at(6), (at(12), at(12, 10))  # llm-0 restarts at 06:00; no scrape from 12:00 to 12:09


def generation_tokens(t: int) -> float | None:
    """llm-0's generation token counter: 10 a minute, back to 7 at the restart, not scraped during the gap."""
    if GAP[0] <= t < GAP[1]:
        return None
    if t < RESTART:
        return 1000.0 + 10 * (t - START) // 60
    return 7.0 + 10 * (t - RESTART) // 60


ABORT_FROM = at(8)  # the first request that finished by abort
SUCCESS_PER_MINUTE = {"stop": 2, "length": 1, "abort": 1}


def successes(reason: str) -> Value:
    first = ABORT_FROM if reason == "abort" else START

    def value(t: int) -> float | None:
        return None if t < first else float(SUCCESS_PER_MINUTE[reason] * ((t - first) // 60 + 1))
    return value


LLM1 = {"kubernetes_namespace": "serving", "kubernetes_pod_name": "llm-1", "model_name": "m1"}
TTFT_BOUNDS = ("0.1", "1.0", "+Inf")
# engine -> per-minute increase of each bucket (cumulative), of _count and of _sum
TTFT_PER_MINUTE = {"0": {"0.1": 1, "1.0": 3, "+Inf": 4, "count": 4, "sum": 2.0},
                   "1": {"0.1": 0, "1.0": 1, "+Inf": 2, "count": 2, "sum": 3.5}}


def running(t: int) -> float:
    """llm-0's running requests at minute t."""
    return float((t // 60) % 7)


ROUTED = {"exported_namespace": "serving", "exported_pod": "llm-2", "namespace": "gateway", "pod": "router-0",
          "model_name": "m2"}
NO_POD = {"model_name": "m1", "job": "vllm-static"}


def serving_series() -> list[tuple[str, dict[str, str], Value]]:
    series: list[tuple[str, dict[str, str], Value]] = [
        ("vllm:generation_tokens_total", LLM0, generation_tokens),
        ("vllm:generation_tokens_created", LLM0, lambda t: float(START - 600)),
        ("vllm:num_requests_running", LLM0, running),
        ("vllm:num_requests_running", ROUTED, lambda t: 2.5),
        ("vllm:num_requests_running", NO_POD, lambda t: 1.0),
        ("vllm:num_requests_swapped", LLM0, lambda t: 0.0),
    ]
    for reason in SUCCESS_PER_MINUTE:
        series.append(("vllm:request_success_total", {**LLM0, "finished_reason": reason}, successes(reason)))
    for engine, per_minute in TTFT_PER_MINUTE.items():
        labels = {**LLM1, "engine": engine}
        for le in TTFT_BOUNDS:
            series.append(("vllm:time_to_first_token_seconds_bucket", {**labels, "le": le},
                           _linear(per_minute[le])))
        series.append(("vllm:time_to_first_token_seconds_count", labels, _linear(per_minute["count"])))
        series.append(("vllm:time_to_first_token_seconds_sum", labels, _linear(per_minute["sum"])))
    # a histogram read through its _sum and _count only (no percentile of it is computed): buckets not read
    for le in TTFT_BOUNDS:
        series.append(("vllm:request_queue_time_seconds_bucket", {**LLM0, "le": le}, _linear(1.0)))
    series.append(("vllm:request_queue_time_seconds_count", LLM0, _linear(1.0)))
    series.append(("vllm:request_queue_time_seconds_sum", LLM0, _linear(0.25)))
    return series


def _linear(per_minute: float) -> Value:
    return lambda t: per_minute * ((t - START) // 60)


# --- kube-state-metrics -------------------------------------------------------------------------------------
PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")


def _between(first: int, last: int, value: float) -> Value:
    """`value` at every minute of [first, last], no sample otherwise."""
    return lambda t: value if first <= t <= last else None


def _phases(first: int, last: int, changes: list[tuple[int, str]]) -> Callable[[str], Value]:
    """The one-hot kube_pod_status_phase series of a pod seen over [first, last]: `changes` (time, phase)."""
    def phase_at(t: int) -> str:
        return [p for since, p in changes if since <= t][-1]

    def series(phase: str) -> Value:
        return lambda t: (1.0 if phase_at(t) == phase else 0.0) if first <= t <= last else None
    return series


def pod(identity: dict[str, str], first: int, last: int, changes: list[tuple[int, str]], *,
        gpus: dict[str, float], created: int, started: int | None = None, completed: int | None = None,
        node: str = "", created_by_kind: str = "", pod_labels: dict[str, str] | None = None,
        init_gpus: float = 0.0, v1: bool = False) -> list[tuple[str, dict[str, str], Value]]:
    """The KSM series of one pod seen over [first, last]. `gpus`: KSM resource -> the one container's request
    (= its limit); v1 writes the nvidia_gpu_devices families instead of the resource label."""
    out: list[tuple[str, dict[str, str], Value]] = []
    seen = _phases(first, last, changes)
    for phase in PHASES:
        out.append(("kube_pod_status_phase", {**identity, "phase": phase}, seen(phase)))
    for resource, amount in gpus.items():
        if v1:
            out.append(("kube_pod_container_resource_requests_nvidia_gpu_devices",
                        {**identity, "container": "main", "node": node}, _between(first, last, amount)))
            continue
        unit = "integer" if resource.startswith("nvidia") else "core"
        for kind in ("requests", "limits"):
            out.append((f"kube_pod_container_resource_{kind}",
                        {**identity, "container": "main", "node": node, "resource": resource, "unit": unit},
                        _between(first, last, amount)))
            if init_gpus and resource == "nvidia_com_gpu":
                out.append((f"kube_pod_init_container_resource_{kind}",
                            {**identity, "container": "init", "node": node, "resource": resource, "unit": unit},
                            _between(first, last, init_gpus)))
    out.append(("kube_pod_created", identity, _between(first, last, float(created))))
    if started is not None:
        out.append(("kube_pod_start_time", identity, _between(max(first, started), last, float(started))))
    if completed is not None:
        out.append(("kube_pod_completion_time", identity, _between(completed, last, float(completed))))
    out.append(("kube_pod_info", {**identity, "node": node, "created_by_kind": created_by_kind, "host_ip": "10.0.0.1"},
                _between(first, last, 1.0)))
    if pod_labels is not None:
        out.append(("kube_pod_labels", {**identity, **pod_labels}, _between(first, last, 1.0)))
    return out


TRAIN = {"namespace": "team-a", "pod": "train-a", "uid": "u-a"}
MIG = {"namespace": "serving", "pod": "infer-b", "uid": "u-b"}
QUEUED = {"namespace": "team-a", "pod": "queued-f", "uid": "u-f"}
# scraped without honor_labels: KSM's own pod and namespace took the `pod`/`namespace` labels
HAMI = {"exported_namespace": "dev", "exported_pod": "notebook-c", "uid": "u-c", "namespace": "monitoring",
        "pod": "kube-state-metrics-0"}
LEGACY = {"namespace": "old", "pod": "legacy-g"}  # KSM v1: no uid
CPU = {"namespace": "team-a", "pod": "cpu-d", "uid": "u-d"}
GONE = {"namespace": "team-a", "pod": "old-e", "uid": "u-e"}
MIDNIGHT = {"namespace": "team-a", "pod": "cut-m", "uid": "u-m"}  # deleted at the day's end
NEWBORN = {"namespace": "team-a", "pod": "next-n", "uid": "u-n"}  # created at the next day's first minute


def ksm_series() -> list[tuple[str, dict[str, str], Value]]:
    return [
        *pod(TRAIN, at(1), at(3, 30), [(at(1), "Pending"), (at(1, 10), "Running"), (at(3), "Succeeded")],
             gpus={"nvidia_com_gpu": 1, "cpu": 4}, init_gpus=1, created=at(1), started=at(1, 10),
             completed=at(3), node="node-1", created_by_kind="Job",
             pod_labels={"label_kueue_x_k8s_io_queue_name": "team-a-queue",
                         "label_gpu_efficiency_workload_type": "training", "label_app": "llama"}),
        *pod(MIG, START, at(10), [(START, "Running")], gpus={"nvidia_com_mig_3g_40gb": 1},
             created=at(22, 0, -1), started=at(22, 5, -1), node="node-2", created_by_kind="ReplicaSet",
             pod_labels={"label_gpu_efficiency_workload_type": "batch"}),
        *pod(QUEUED, at(5), at(5, 30), [(at(5), "Pending")], gpus={"nvidia_com_gpu": 8}, created=at(5),
             pod_labels={"label_kueue_x_k8s_io_queue_name": "team-a-queue"}),
        *pod(HAMI, START, END - 60, [(START, "Running")],
             gpus={"nvidia_com_gpu": 1, "nvidia_com_gpucores": 30, "nvidia_com_gpumem": 10240},
             created=at(22, 30, -1), started=at(22, 31, -1), node="node-3", created_by_kind="StatefulSet",
             pod_labels={"label_gpu_efficiency_workload_type": "development"}),
        *pod(LEGACY, START, END - 60, [(START, "Running")], gpus={"nvidia_gpu_devices": 4}, v1=True,
             created=at(20, 0, -1), node="node-9"),
        *pod(CPU, START, END - 60, [(START, "Running")], gpus={"cpu": 2}, created=at(20, 0, -1), node="node-1"),
        *pod(GONE, START, at(23, 58, -1), [(START, "Running")], gpus={"nvidia_com_gpu": 1},
             created=at(20, 0, -1), started=at(20, 1, -1), node="node-1"),
        *pod(MIDNIGHT, START, at(23, 59), [(START, "Running")], gpus={"nvidia_com_gpu": 1},
             created=at(20, 0, -1), started=at(20, 1, -1), node="node-1"),
        *pod(NEWBORN, at(0, 0, 1), END - 60, [(at(0, 0, 1), "Running")], gpus={"nvidia_com_gpu": 1},
             created=at(0, 0, 1), started=at(0, 0, 1), node="node-1"),
    ]


def openmetrics(series: list[tuple[str, dict[str, str], Value]]) -> str:
    """Every series at every whole minute of [START, END) where it has a value; types left `unknown` (the TSDB
    keeps none, and OpenMetrics' per-type naming rules would not take vLLM's names as they are)."""
    by_name: dict[str, list[str]] = {}
    for name, labels, value in series:
        label_text = ",".join(f'{k}="{v}"' for k, v in labels.items())
        lines = by_name.setdefault(name, [])
        for t in range(START, END, 60):
            v = value(t)
            if v is not None:
                lines.append(f"{name}{{{label_text}}} {v!r} {t}")
    out: list[str] = []
    for name, lines in by_name.items():
        out += [f"# TYPE {name} unknown", *lines]
    return "\n".join([*out, "# EOF"]) + "\n"
