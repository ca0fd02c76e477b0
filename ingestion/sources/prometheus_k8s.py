"""A Kubernetes cluster's Prometheus as a source of `serving_metrics` and `pod_allocations` (DESIGN.md).

Both read one UTC day through `GET /api/v1/query_range` with the `PrometheusClient` of `prometheus.py` (chunks
under 11,000 points per series, retries, redaction), and return (table, quarantine records, report) for
`ingestion.landing.write_day` (the records as `rejected`).

**fetch_serving_day** (serving engines' own /metrics: vLLM, SGLang, TGI, Triton, Dynamo, the trainer's
token counter). Which families the server has comes from `/api/v1/label/__name__/values`; the seed
`serving_metric_names` (`ingestion.serving_names`) says which of them the product uses. Families in the seed
without a canonical metric, and the buckets of histograms whose percentiles no model computes (vLLM's e2e, queue,
prefill and decode times: only their `_sum` and `_count` are read), are skipped and counted
(`ServingReport.skipped`); `_created` series are never read. One query per series name, evaluated at every step
of the day and at the next midnight:

- counters, and a histogram's `_bucket`, `_sum` and `_count`: the raw series (`vllm:generation_tokens_total`),
  and the increase is computed here, per series, between consecutive steps: the row of minute m is
  value(m + 1 min) - value(m), the increase over [m, m + 1 min). A decrease is a counter reset: the increase
  is then the new value, as PromQL's increase() counts it. There is no extrapolation. A series that first
  appears after the day's first step is a new process (or a label value seen for the first time) and starts
  from 0. A step missing in the middle (a scrape gap longer than the lookback) gives no row, and the next
  step's increase covers the gap. In Grafana, `increase(vllm:generation_tokens_total[1m])` at m + 1 min shows
  the same increase, except that PromQL extrapolates to the window's edges (so it reads slightly higher when
  the scrape interval is not a divisor of the minute) and loses a new series' first value.
- gauges: `avg_over_time(vllm:num_requests_running[60s] offset 1ms)` at m + 1 min, the mean of the samples
  in [m, m + 1 min) (the 1 ms offset keeps the sample taken at m + 1 min for the next minute: Prometheus 2
  closes a range at both ends); in Grafana, `avg_over_time(vllm:num_requests_running[1m])`.

Rows (contract `serving_metrics`): `metric` is the series name as received, `le` the bucket bound
(+inf for "+Inf"), model from `model_name`, else `name` (SGLang 0.3), else `model` (Triton, Dynamo); pod and
namespace from `exported_pod`/`exported_namespace` (the engine's own labels when a Prometheus target label
took their name), else `pod`/`namespace`, else `kubernetes_pod_name`/`kubernetes_namespace`; engine_index
from vLLM's data-parallel `engine` label. Series that differ only in other labels (finished_reason, method,
tp_rank, ...) are summed. A series without any pod label cannot be put on a replica: it is quarantined
(reason, labels), like `fetch_day`'s series without a GPU UUID.

**fetch_pods_day** (kube-state-metrics): the GPU pods are those with a GPU series in the request/limit
families (`resource=~"nvidia_com_.+"`, or the v1 `..._nvidia_gpu_devices` families); the other pod families
are asked only for them (`and on(namespace, pod, ...)` the GPU series), so the points stay bounded by the
GPU pods, not the cluster's pods. Phases are read with `timestamp()`, the time of the sample behind each
step, so that a pod's last observation is the step that saw its last sample, not the 5 minutes that the
lookback repeats it for when no staleness marker ends it (a backfilled or remote-read TSDB). A pod whose
last sample precedes the day (only that lookback reaches into it) is not a pod of that day.
`kube_state.pod_allocations` makes the rows.

A family absent on the server gives no rows and no error; so does a label the server does not have.
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ingestion import serving_names
from ingestion.contracts import SERVING_METRICS
from ingestion.sources import kube_state
from ingestion.sources.prometheus import SOURCE, FetchReport, PrometheusClient, Series, gc_paused, range_series

# contract column -> label names to try, first non-empty wins
SERVING_LABELS: dict[str, tuple[str, ...]] = {
    "model": ("model_name", "name", "model"),
    "namespace": ("exported_namespace", "namespace", "kubernetes_namespace"),
    "pod": ("exported_pod", "pod", "kubernetes_pod_name"),
    "engine_index": ("engine",),
}
GAUGE_OFFSET = "1ms"
# labels that name a pod on every KSM series of it, whichever way Prometheus relabelled them
POD_JOIN = "on(namespace, pod, exported_namespace, exported_pod)"
DEFAULT_POD_LABELS = kube_state.PodLabelNames()
GPU_RESOURCE_MATCHER = 'resource=~"nvidia_com_.+|nvidia[.]com/.+"'


@dataclass
class ServingReport(FetchReport):
    skipped: list[str] = field(default_factory=list)  # series names present but not read (unused by the product)


def _day_start(day: dt.date) -> float:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()


def _selector(name: str, selector: str, *extra: str) -> str:
    """`name{<selector's matchers>, <extra>}`; `selector` is '' or '{...}' (as in fetch_day)."""
    selector = selector.strip()
    if selector and not (selector.startswith("{") and selector.endswith("}")):
        raise ValueError(f"selector {selector!r} must be label matchers in braces, like '{{job=\"vllm\"}}'")
    matchers = [m for m in (selector[1:-1].strip(), *extra) if m]
    return name + "{" + ", ".join(matchers) + "}"


def _first(labels: dict[str, str], column: str) -> str | None:
    for name in SERVING_LABELS[column]:
        value = labels.get(name)
        if value:
            return value
    return None


ROUNDING = 1e-9  # relative: float noise in a counter's value, far below any real reset


def counter_increases(ts: np.ndarray, values: np.ndarray, first_step: float, step_s: float
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(minute starts, increases) of one counter series evaluated every `step_s` from `first_step`.

    The increase ending at each point (after the first) is labelled with the minute it covers, one step before
    the point; a decrease is a reset (the increase is the new value); a point that follows a gap covers the gap.
    A series whose first point comes after `first_step` started then, from 0. A decrease within float rounding
    of the value (a `_sum` added up in another order) is no change, not a reset of the whole total (PromQL's
    increase() would count it as one).
    """
    present = ~np.isnan(values)
    ts, values = ts[present], values[present]
    if len(ts) == 0:
        return ts, values
    increases = np.empty_like(values)
    increases[0] = values[0]
    diff = np.diff(values)
    reset = diff < -ROUNDING * np.abs(values[:-1])
    increases[1:] = np.where(reset, values[1:], np.maximum(diff, 0.0))
    keep = np.ones(len(ts), dtype=bool)
    keep[0] = ts[0] > first_step
    return ts[keep] - step_s, increases[keep]


def fetch_serving_day(client: PrometheusClient, day: dt.date, pool: str, *, step_s: int = 60, selector: str = ""
                      ) -> tuple[pa.Table, list[dict[str, Any]], ServingReport]:
    """One UTC day of the serving engines' families as serving_metrics rows: (table, quarantine, report)."""
    start = _day_start(day)
    end = start + 86_400  # the last minute's increase ends at the next midnight
    exposed = client.label_values("__name__", start, end, match=_selector("", selector) if selector else "")
    report = ServingReport(day=day, metrics=())
    used: list[tuple[str, serving_names.SeriesName]] = []
    for name in sorted(exposed):
        found = serving_names.lookup(name)  # None for `_created` series and names of other exporters
        if found is not None and found.used:
            used.append((name, found))
        elif found is not None:
            report.skipped.append(name)
    report.metrics = tuple(name for name, _ in used)
    quarantine: list[dict[str, Any]] = []
    parts: list[SeriesRows] = []
    with gc_paused():
        for name, found in used:
            if found.family.type == "gauge":
                query = f"avg_over_time({_selector(name, selector)}[{step_s}s] offset {GAUGE_OFFSET})"
                series = range_series(client, query, start + step_s, end, step_s, report, name=name)
            else:
                series = range_series(client, _selector(name, selector), start, end, step_s, report, name=name)
            report.series += len(series)
            for labels, ts, values in series:
                if _first(labels, "pod") is None:
                    quarantine.append({"reason": "serving series has no pod label (pod, exported_pod, "
                                                 "kubernetes_pod_name): no replica to put it on",
                                       "metric": name, "labels": labels, "points": len(ts)})
                    continue
                if found.family.type == "gauge":
                    minutes, minute_values, kind = ts - step_s, values, "mean"
                else:
                    minutes, minute_values = counter_increases(ts, values, start, step_s)
                    kind = "increase"
                parts.append(_series_rows(labels, found, minutes, minute_values, kind, pool))
    report.quarantined_series = len(quarantine)
    table = _summed(parts)
    report.rows = table.num_rows
    return table, quarantine, report


# A series' rows: the contract's columns that are the same on every row (the series' key), its minutes and values.
SeriesRows = tuple[tuple[Any, ...], np.ndarray, np.ndarray]
KEY_COLUMNS = tuple(f.name for f in SERVING_METRICS.schema if f.name not in ("minute_ts", "value"))
ROW_ORDER = ("namespace", "pod", "engine_index", "metric", "le")  # then minute_ts


def _series_rows(labels: dict[str, str], found: serving_names.SeriesName, minutes: np.ndarray, values: np.ndarray,
                 kind: str, pool: str) -> SeriesRows:
    le = float(labels["le"]) if found.part == "bucket" and "le" in labels else None
    key = {"pool": pool, "engine": found.family.engine, "model": _first(labels, "model"),
           "namespace": _first(labels, "namespace"), "pod": _first(labels, "pod"),
           "engine_index": _first(labels, "engine_index"), "metric": labels["__name__"], "le": le,
           "value_kind": kind, "source": SOURCE}
    return tuple(key[c] for c in KEY_COLUMNS), minutes, values


def _summed(parts: list[SeriesRows]) -> pa.Table:
    """The rows of every series, those of series with the same key (they differ only in labels outside the
    contract) summed minute by minute, in the order of ROW_ORDER then minute.

    Series by series, not a group-by of the rows: most keys have one series, whose rows are taken as they are;
    a day of a few replicas' histograms is ~500,000 rows, which Arrow's group-by and sort took ~0.6 s to order."""
    by_key: dict[tuple[Any, ...], list[tuple[np.ndarray, np.ndarray]]] = {}
    for key, minutes, values in parts:
        by_key.setdefault(key, []).append((minutes, values))
    keys, minute_arrays, value_arrays = [], [], []
    for key in sorted(by_key, key=_row_order):
        series = by_key[key]
        minutes, values = series[0] if len(series) == 1 else _sum_by_minute(series)
        keys.append((key, len(minutes)))
        minute_arrays.append(minutes)
        value_arrays.append(values)
    if not keys:
        return SERVING_METRICS.schema.empty_table()
    minutes = np.concatenate(minute_arrays)
    columns: dict[str, pa.Array] = {
        "minute_ts": pa.array(np.round(minutes * 1e6).astype("int64"), pa.int64()).cast(
            SERVING_METRICS.schema.field("minute_ts").type),
        "value": pa.array(np.concatenate(value_arrays), pa.float64()),
    }
    lengths = np.array([n for _, n in keys])
    for i, column in enumerate(KEY_COLUMNS):
        distinct = pa.array([key[i] for key, _ in keys], SERVING_METRICS.schema.field(column).type)
        columns[column] = distinct.take(pa.array(np.repeat(np.arange(len(keys)), lengths)))
    return pa.table({f.name: columns[f.name] for f in SERVING_METRICS.schema}, schema=SERVING_METRICS.schema)


def _row_order(key: tuple[Any, ...]) -> tuple[Any, ...]:
    """A key's place: by the ROW_ORDER columns, nulls last (as Arrow sorts them), then by the whole key."""
    place = []
    for column in ROW_ORDER:
        value = key[KEY_COLUMNS.index(column)]
        place.append((value is None, value if value is not None else ""))
    return (*place, tuple(str(v) for v in key))


def _sum_by_minute(series: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Values of the same minute summed (in the series' order), minutes ascending."""
    minutes = np.concatenate([m for m, _ in series])
    values = np.concatenate([v for _, v in series])
    distinct, inverse = np.unique(minutes, return_inverse=True)
    return distinct, np.bincount(inverse, weights=values, minlength=len(distinct))


def fetch_pods_day(client: PrometheusClient, day: dt.date, pool: str, *, step_s: int = 60, selector: str = "",
                   names: kube_state.PodLabelNames = DEFAULT_POD_LABELS
                   ) -> tuple[pa.Table, list[dict[str, Any]], FetchReport]:
    """One UTC day of kube-state-metrics' GPU pods as pod_allocations rows: (table, quarantine, report).

    The query looks one step past the day (once that step is history) so that a pod deleted at midnight is
    seen to vanish on the day it was last seen, rather than on no day at all."""
    start = _day_start(day)
    end = start + 86_400 - step_s
    query_end = end + step_s if end + 2 * step_s <= time.time() else end
    report = FetchReport(day=day, metrics=kube_state.KSM_POD_FAMILIES)
    v2 = "|".join(kube_state.RESOURCE_FAMILIES)
    v1 = "|".join(kube_state.V1_GPU_FAMILIES)
    gpu_v2 = _selector("", selector, f'__name__=~"{v2}"', GPU_RESOURCE_MATCHER)
    gpu_v1 = _selector("", selector, f'__name__=~"{v1}"')
    gpu_pods = f"({gpu_v2} or {gpu_v1})"
    phase = _selector(kube_state.PHASE_FAMILY, selector)
    others = "|".join((*kube_state.TIME_FAMILIES, kube_state.INFO_FAMILY, kube_state.OWNER_FAMILY,
                       kube_state.LABELS_FAMILY))
    other_families = _selector("", selector, f'__name__=~"{others}"')
    with gc_paused():
        series = range_series(client, gpu_v2, start, query_end, step_s, report)
        series += range_series(client, gpu_v1, start, query_end, step_s, report)
        phases = range_series(client, f"(timestamp({phase}) * {phase} > 0) and {POD_JOIN} {gpu_pods}",
                              start, query_end, step_s, report, name=kube_state.PHASE_FAMILY)
        series += [_observed_phase(labels, ts, sample_ts, step_s) for labels, ts, sample_ts in phases]
        series += range_series(client, f"{other_families} and {POD_JOIN} {gpu_pods}", start, query_end, step_s,
                               report)
    if phases:  # a pod the day never saw (only the lookback carried it over midnight, or born after it) is not a row
        seen = {kube_state.pod_name(labels) for labels, ts, _ in series
                if labels["__name__"] == kube_state.PHASE_FAMILY and len(ts) and ts[0] <= end}
        series = [s for s in series if kube_state.pod_name(s[0]) in seen]
    quarantine = kube_state.unidentified(series)
    table = kube_state.pod_allocations(series, pool, names, SOURCE, window_end=query_end, step_s=step_s,
                                       observed_until=end)
    report.series = len(series)
    report.quarantined_series = len(quarantine)
    report.rows = table.num_rows
    return table, quarantine, report


def _observed_phase(labels: dict[str, str], ts: np.ndarray, sample_ts: np.ndarray, step_s: int) -> Series:
    """A phase series (1 at every step it held) cut after the step that saw its last sample: later steps only
    repeat that sample through the lookback window (no staleness marker ended it)."""
    seen = ts < sample_ts.max() + step_s
    return labels, ts[seen], np.ones(int(seen.sum()))
