"""kube-state-metrics pod families as `pod_allocations` rows (DESIGN.md, "Landing datasets").

`pod_allocations` turns the series of one window (one saved scrape: one point per series; one day of
Prometheus minutes: up to 1,440) into one row per pod that requests GPUs. Both sources call it: the
Prometheus source (`prometheus_k8s.fetch_pods_day`) and the saved-page importer (`gpu-eff import serving-text`).

How each column is read:
- GPU request and limit: `kube_pod_container_resource_requests|limits` and their `kube_pod_init_container_*`
  twins (v2: `resource="nvidia_com_gpu"`, sanitised by KSM), or the v1 families
  `kube_pod_container_resource_requests|limits_nvidia_gpu_devices`. A pod's figure is what Kubernetes
  schedules: the larger of the sum over its containers and the largest init container (init containers run
  one at a time before the others, and the device plugin hands their devices on). `gpu_resource` is the
  Kubernetes name: `nvidia_com_gpu` -> `nvidia.com/gpu`, `nvidia_com_mig_3g_40gb` -> `nvidia.com/mig-3g.40gb`.
  A pod asking for several device resources keeps `nvidia.com/gpu` if it is one of them, else the first MIG
  profile by name. HAMi's vGPU fractions: `nvidia.com/gpucores` -> gpu_cores_request (percent of a GPU),
  `nvidia.com/gpumem` -> gpu_mem_request_mib, beside the `nvidia.com/gpu` device count.
- phase: the `kube_pod_status_phase` series that is 1 at the pod's last observation.
- created_ts, start_ts, end_ts: `kube_pod_created`, `kube_pod_start_time`, `kube_pod_completion_time` (unix
  seconds, the last value in the window; one outside 2000 .. now + 1 day is left null).
  A pod that vanished before the end of the window while Running or Pending (deleted: preempted, cancelled,
  evicted) has no completion time: its end_ts is its last observation + one step, and it keeps the phase it
  had then. A pod still present at the end of the window has none.
- node and owner_kind: `kube_pod_info` (`node`, `created_by_kind`; `kube_pod_owner`'s `owner_kind` when
  created_by_kind is empty).
- tenant, queue, workload_type: pod labels from `kube_pod_labels`, named by `PodLabelNames` (KSM exports
  only the labels in its `--metric-labels-allowlist`, as `label_<name sanitised>`). tenant defaults to the
  namespace; a workload type outside contracts.WORKLOAD_TYPES is null. `labels`: every `label_*` of the pod
  as a JSON object in KSM form (null when the window has no kube_pod_labels series for the pod).
- observed_ts: the pod's last observation, the last time `kube_pod_status_phase` was 1 for one of its
  phases (any of its series when the window has no phase series for it).

Pods are keyed on `uid`. Series without one (KSM v1 had none on some families) belong to the pod of their
namespace/pod with a uid in the window (to each one, when that name was reused by a recreated pod); a pod
seen without any uid is keyed and landed as `namespace/pod`. The pod and namespace come from
`exported_pod`/`exported_namespace` when Prometheus scraped KSM without honor_labels, else `pod`/`namespace`
(never `kubernetes_pod_name`: under such relabelling that is kube-state-metrics' own pod).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ingestion.contracts import POD_ALLOCATIONS, WORKLOAD_TYPES
from ingestion.importers.values import plausible_seconds

Series = tuple[dict[str, str], np.ndarray, np.ndarray]  # (labels incl. __name__, ts in unix seconds, values)

PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
# family -> (requests|limits, container|init); v2 families name the resource in a `resource` label
RESOURCE_FAMILIES: dict[str, tuple[str, str]] = {
    "kube_pod_container_resource_requests": ("requests", "container"),
    "kube_pod_container_resource_limits": ("limits", "container"),
    "kube_pod_init_container_resource_requests": ("requests", "init"),
    "kube_pod_init_container_resource_limits": ("limits", "init"),
}
V1_GPU_FAMILIES: dict[str, tuple[str, str]] = {
    "kube_pod_container_resource_requests_nvidia_gpu_devices": ("requests", "container"),
    "kube_pod_container_resource_limits_nvidia_gpu_devices": ("limits", "container"),
}
TIME_FAMILIES = {"kube_pod_created": "created_ts", "kube_pod_start_time": "start_ts",
                 "kube_pod_completion_time": "end_ts"}
PHASE_FAMILY = "kube_pod_status_phase"
INFO_FAMILY = "kube_pod_info"
OWNER_FAMILY = "kube_pod_owner"
LABELS_FAMILY = "kube_pod_labels"
KSM_POD_FAMILIES: tuple[str, ...] = (*RESOURCE_FAMILIES, *V1_GPU_FAMILIES, *TIME_FAMILIES, PHASE_FAMILY,
                                     INFO_FAMILY, OWNER_FAMILY, LABELS_FAMILY)
GPU_FAMILIES: tuple[str, ...] = (*RESOURCE_FAMILIES, *V1_GPU_FAMILIES)

GPU = "nvidia.com/gpu"
HAMI_CORES = "nvidia.com/gpucores"
HAMI_MEM = "nvidia.com/gpumem"
_MIG_RE = re.compile(r"nvidia_com_mig_(\d+(?:c\.\d+)?g)_(\d+gb)(?:_(\w+))?\Z")  # KSM form of a MIG profile
_UNSANITISED = re.compile(r"[^a-zA-Z0-9_]")


@dataclass(frozen=True)
class PodLabelNames:
    """Which Kubernetes pod label gives tenant, queue and workload type (None: tenant = the namespace,
    queue/workload_type = null)."""

    tenant: str | None = None
    queue: str | None = "kueue.x-k8s.io/queue-name"
    workload_type: str | None = "gpu-efficiency/workload-type"

    def ksm_label(self, column: str) -> str | None:
        """The label kube-state-metrics writes for `column`'s pod label: `label_` + the name with every
        character outside [a-zA-Z0-9_] as `_` (`kueue.x-k8s.io/queue-name` -> `label_kueue_x_k8s_io_queue_name`)."""
        name = getattr(self, column)
        return None if name is None else "label_" + _UNSANITISED.sub("_", name)


def kubernetes_resource(ksm_resource: str) -> str | None:
    """The Kubernetes name of a GPU resource as KSM writes it (`nvidia_com_gpu`); None if not a GPU resource.

    Names already in Kubernetes form (`nvidia.com/gpu`, as Kueue writes them) are kept.
    """
    if ksm_resource.startswith("nvidia.com/"):
        return ksm_resource
    if ksm_resource in ("nvidia_com_gpu", "nvidia_com_gpucores", "nvidia_com_gpumem"):
        return "nvidia.com/" + ksm_resource.removeprefix("nvidia_com_")
    mig = _MIG_RE.match(ksm_resource)
    if mig:
        profile, memory, extra = mig.groups()
        return f"nvidia.com/mig-{profile}.{memory}" + (f"+{extra}" if extra else "")
    return None


def pod_name(labels: dict[str, str]) -> tuple[str | None, str | None]:
    """(namespace, pod) of a kube-state-metrics series: exported_* when present (scraped without honor_labels)."""
    namespace = labels.get("exported_namespace") or labels.get("namespace") or None
    pod = labels.get("exported_pod") or labels.get("pod") or None
    return namespace, pod


def unidentified(series: Sequence[Series]) -> list[dict[str, Any]]:
    """Quarantine records for the KSM pod series that name no pod or namespace (`pod_allocations` skips them)."""
    return [{"reason": "kube-state-metrics series has no pod/namespace label (pod, exported_pod)",
             "metric": labels.get("__name__"), "labels": labels, "points": len(ts)}
            for labels, ts, _ in series
            if labels.get("__name__") in KSM_POD_FAMILIES and None in pod_name(labels)]


@dataclass
class _Pod:
    """What the window says about one pod: per family, the value or labels of its latest point."""

    namespace: str
    pod: str
    uid: str
    # (requests|limits, container|init, resource) -> container -> value at its last point
    resources: dict[tuple[str, str, str], dict[str, float]] = field(default_factory=dict)
    phase_at: tuple[float, str] | None = None  # (last time a phase series was 1, that phase)
    seen_at: float = -math.inf  # last point of any series
    times: dict[str, float] = field(default_factory=dict)
    times_at: dict[str, float] = field(default_factory=dict)
    info: tuple[float, dict[str, str]] | None = None
    owner: tuple[float, dict[str, str]] | None = None
    labels: tuple[float, dict[str, str]] | None = None

    def observe(self, labels: dict[str, str], ts: np.ndarray, values: np.ndarray) -> None:
        family = labels["__name__"]
        last_t, last_v = float(ts[-1]), float(values[-1])
        self.seen_at = max(self.seen_at, last_t)
        if family in RESOURCE_FAMILIES or family in V1_GPU_FAMILIES:
            kind, container_kind = RESOURCE_FAMILIES.get(family) or V1_GPU_FAMILIES[family]
            resource = GPU if family in V1_GPU_FAMILIES else kubernetes_resource(labels.get("resource", ""))
            if resource is not None:
                per_container = self.resources.setdefault((kind, container_kind, resource), {})
                per_container[labels.get("container", "")] = last_v
        elif family == PHASE_FAMILY:
            on = ts[values == 1]
            phase = labels.get("phase")
            if len(on) and phase in PHASES and (self.phase_at is None or on[-1] >= self.phase_at[0]):
                self.phase_at = (float(on[-1]), phase)
        elif family in TIME_FAMILIES:
            column = TIME_FAMILIES[family]
            if last_t >= self.times_at.get(column, -math.inf):
                self.times[column], self.times_at[column] = last_v, last_t
        elif family == INFO_FAMILY:
            self.info = _later(self.info, last_t, labels)
        elif family == OWNER_FAMILY:
            self.owner = _later(self.owner, last_t, labels)
        elif family == LABELS_FAMILY:
            self.labels = _later(self.labels, last_t, labels)

    def effective(self, kind: str, resource: str) -> float | None:
        """What Kubernetes schedules: max(sum over containers, largest init container); None if never asked."""
        containers = self.resources.get((kind, "container", resource))
        inits = self.resources.get((kind, "init", resource))
        if containers is None and inits is None:
            return None
        return max(sum((containers or {}).values()), max((inits or {}).values(), default=0.0))

    def device_resource(self) -> str | None:
        """The GPU device resource the pod asks for (`nvidia.com/gpu` first, else the first MIG profile)."""
        asked = {resource for (_, _, resource), per_container in self.resources.items()
                 if resource not in (HAMI_CORES, HAMI_MEM) and any(v > 0 for v in per_container.values())}
        return min(asked, key=lambda r: (r != GPU, r), default=None)


def _later(current: tuple[float, dict[str, str]] | None, t: float, labels: dict[str, str]
           ) -> tuple[float, dict[str, str]]:
    return (t, labels) if current is None or t >= current[0] else current


def pod_allocations(series: Sequence[Series], pool: str, names: PodLabelNames = PodLabelNames(),
                    source: str = "prometheus", *, window_end: float | None = None,
                    step_s: float | None = None, observed_until: float | None = None) -> pa.Table:
    """One pod_allocations row per pod that requests GPUs in `series` (KSM pod families over one window).

    `series`: (labels with `__name__`, ts in unix seconds, values), points in time order; other families,
    NaN points and series without a pod (see `unidentified`) are ignored. `window_end` is the window's last
    evaluation and `step_s` its step (default: the latest point given, and the smallest step between two
    points of a series): a pod last seen before `window_end` while Running or Pending vanished (it was
    deleted), and gets end_ts = its last observation + `step_s`. One scrape has no step: nothing vanished.
    `observed_until` caps observed_ts (a window that looks one step past its day to see who was deleted at
    midnight still lands every row on that day).
    """
    kept: list[Series] = []
    for labels, ts, values in series:
        ts, values = np.asarray(ts, dtype=np.float64), np.asarray(values, dtype=np.float64)
        present = ~np.isnan(values)
        if labels.get("__name__") in KSM_POD_FAMILIES and None not in pod_name(labels) and present.any():
            kept.append((labels, ts[present], values[present]))
    uids: dict[tuple[str | None, str | None], set[str]] = {}
    for labels, _, _ in kept:
        if labels.get("uid"):
            uids.setdefault(pod_name(labels), set()).add(labels["uid"])
    pods: dict[str, _Pod] = {}
    for labels, ts, values in kept:
        namespace, pod = pod_name(labels)
        uid = labels.get("uid")
        keys = [uid] if uid else sorted(uids.get((namespace, pod), ())) or [f"{namespace}/{pod}"]
        for key in keys:
            pods.setdefault(key, _Pod(namespace, pod, key)).observe(labels, ts, values)
    if window_end is None and kept:
        window_end = max(float(ts[-1]) for _, ts, _ in kept)
    if step_s is None:
        steps = [float(np.diff(ts).min()) for _, ts, _ in kept if len(ts) > 1]
        step_s = min(steps) if steps else None
    rows = [row for pod in sorted(pods.values(), key=lambda p: (p.namespace, p.pod, p.uid))
            if (row := _row(pod, pool, names, source, window_end, step_s)) is not None]
    if observed_until is not None:
        cap = _timestamp(observed_until)
        for row in rows:
            row["observed_ts"] = min(row["observed_ts"], cap)
    return pa.Table.from_pylist(rows, schema=POD_ALLOCATIONS.schema)


def _row(pod: _Pod, pool: str, names: PodLabelNames, source: str, window_end: float | None,
         step_s: float | None) -> dict[str, Any] | None:
    """The pod's row, or None when it asks for no GPU."""
    resource = pod.device_resource()
    if resource is None:
        return None
    request, limit = pod.effective("requests", resource), pod.effective("limits", resource)
    if request is None:  # Kubernetes defaults an extended resource's request to its limit
        request = limit
    observed, phase = pod.phase_at if pod.phase_at is not None else (pod.seen_at, "Unknown")
    times = {column: _timestamp(value) for column, value in pod.times.items()}
    vanished = (phase in ("Running", "Pending") and step_s is not None and window_end is not None
                and observed < window_end)
    if times.get("end_ts") is None and vanished:
        times["end_ts"] = _timestamp(observed + step_s)
    info = pod.info[1] if pod.info else {}
    owner = pod.owner[1] if pod.owner else {}
    pod_labels = None if pod.labels is None else {k: v for k, v in pod.labels[1].items() if k.startswith("label_")}

    def label(column: str) -> str | None:
        ksm = names.ksm_label(column)
        if ksm is None or pod_labels is None:
            return None
        return pod_labels.get(ksm) or None

    workload_type = label("workload_type")
    return {
        "uid": pod.uid, "pod": pod.pod, "namespace": pod.namespace, "pool": pool,
        "node": info.get("node") or None,
        "gpu_resource": resource,
        "gpu_request": request,
        "gpu_limit": limit,
        "gpu_cores_request": pod.effective("requests", HAMI_CORES),
        "gpu_mem_request_mib": pod.effective("requests", HAMI_MEM),
        "phase": phase,
        "created_ts": times.get("created_ts"), "start_ts": times.get("start_ts"), "end_ts": times.get("end_ts"),
        "tenant": pod.namespace if names.tenant is None else label("tenant"),
        "queue": label("queue"),
        "workload_type": workload_type if workload_type in WORKLOAD_TYPES else None,
        "owner_kind": info.get("created_by_kind") or owner.get("owner_kind") or None,
        "labels": None if pod_labels is None else json.dumps(pod_labels, sort_keys=True, ensure_ascii=False),
        "observed_ts": _timestamp(observed),
        "source": source,
    }


def _timestamp(seconds: float) -> dt.datetime | None:
    """A KSM time gauge (unix seconds) as a UTC datetime; None outside 2000-01-01 .. now + 1 day."""
    if not math.isfinite(seconds) or not plausible_seconds(seconds):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC)
