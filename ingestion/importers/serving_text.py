"""A `/metrics` page saved from an LLM serving engine (vLLM, SGLang, TGI, Triton, Dynamo), a trainer's token
counter or kube-state-metrics, as `serving_metrics` and `pod_allocations` rows (source 'serving-text').

The page is Prometheus text format 0.0.4 or OpenMetrics (a page with a `# EOF` line: sample timestamps in
seconds, exemplars after ` # `), read as bytes line by line (`values.read_lines`).

- Serving families: a series whose family the seed `serving_metric_names` lists with a canonical metric lands
  (`ingestion.serving_names`), named as received (`..._bucket` with `le` as a float, `+Inf` as inf, `_sum`,
  `_count`, `..._total`). `minute_ts` is the scrape's minute (or that of the sample's own timestamp);
  `value_kind` is `total` for counters and histogram series (their value since the process started) and
  `mean` for gauges (one reading). Labels: model from `model_name`, else `name` (SGLang 0.3), else `model`
  (Triton, Dynamo); pod and namespace from `pod`/`namespace`, else `kubernetes_pod_name`/
  `kubernetes_namespace`, else `--pod`/`--namespace`; `engine_index` from vLLM's data-parallel `engine` label.
  Series that differ only in other labels (finished_reason, version, tp_rank, ...) are summed into one row.
- A histogram's buckets land only whole: a series group (one label set, `le` aside) without its `+Inf` bucket,
  its `_sum` or its `_count`, with buckets that decrease as `le` grows, a `_count` other than the `+Inf`
  bucket, or a line of it quarantined, is incomplete (a page cut short, an excerpt): none of its buckets lands,
  nor those of the groups summed with it into one row (a quantile from part of the buckets would be a guess).
  Its `_sum` and `_count` are exact counters on their own: each lands when every group summed into its row
  has one (vLLM's data-parallel sample keeps both engines' `_sum`). Each incomplete group gets a quarantine
  record (its first line) and is named in the import's report with what of it landed.
- kube-state-metrics pod families (`kube_state.KSM_POD_FAMILIES`) become `pod_allocations` rows through
  `kube_state.pod_allocations` (one scrape: observed_ts is the scrape time).
- Every other family (the engine's context gauges, request parameters, `process_*`, ...) is skipped and
  counted per family in the report, never quarantined; `_created` series are ignored and counted.

Quarantined, each with the file, line and field: a line that is not UTF-8 or is over 65,536 characters, a
malformed name, label set or value, a timestamp outside 2000-01-01 .. now + 1 day, the same series twice, and,
in the families that land, a value that is not finite (`NaN`, `+Inf`), a negative counter or bucket, a `le`
that is not a number, or a label too long for its column.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ingestion.importers import ImportResult, to_table
from ingestion.importers.values import (
    LINE,
    MAX_TEXT,
    PLAUSIBLE,
    Bad,
    check_text,
    parse_ts,
    plausible_seconds,
    read_lines,
    reject,
    shown,
)
from ingestion.serving_names import HISTOGRAM_PARTS, SeriesName, ServingFamily, is_created, lookup
from ingestion.sources import kube_state
from ingestion.sources.dcgm_exposition import parse_labels

SOURCE = "serving-text"
_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
# A label set: `{`, then plain characters or quoted strings (which may hold braces), then `}`.
_LABEL_SET_RE = re.compile(r'\{((?:[^"}]|"(?:[^"\\\n]|\\.)*")*)\}')
_BLANKS = re.compile(r"[ \t]+")
_VALUE_RE = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                       r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN]")
_FAMILY_SUFFIXES = ("_total", "_created", "_info", "_gcount", "_gsum", *HISTOGRAM_PARTS)
_MODEL_LABELS = ("model_name", "name", "model")
_MINUTE_US = 60_000_000
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

Identity = tuple[str | None, str | None, str | None, str | None]  # model, namespace, pod, engine_index


@dataclass
class PageReport:
    """What a page held besides the rows that landed and the lines quarantined."""

    skipped: Counter[str] = field(default_factory=Counter)  # family -> samples of families the product skips
    incomplete: list[str] = field(default_factory=list)  # histogram groups cut short, as `family{labels}`
    created: int = 0  # `_created` samples, ignored
    without_pod: int = 0  # serving rows with no pod label and no --pod

    def notes(self) -> list[str]:
        notes = []
        if self.skipped:
            names = ", ".join(f"{name} ({n})" for name, n in sorted(self.skipped.items()))
            notes.append(f"skipped {sum(self.skipped.values())} samples of {len(self.skipped)} families the "
                         f"product does not use: {names}")
        if self.incomplete:
            notes.append(f"{len(self.incomplete)} incomplete histogram series group(s), their buckets not landed: "
                         f"{'; '.join(self.incomplete)}")
        if self.created:
            notes.append(f"ignored {self.created} _created samples")
        if self.without_pod:
            notes.append(f"{self.without_pod} serving rows have no pod (no pod label on the page; pass --pod)")
        return notes


@dataclass
class ServingTextResult(ImportResult):
    report: PageReport = field(default_factory=PageReport)

    def notes(self) -> list[str]:
        return self.report.notes()


@dataclass
class _Sample:
    line: int
    name: str
    labels: dict[str, str]
    value: float
    minute_us: int
    ts_s: float


@dataclass
class _Histogram:
    """One series group of a histogram family on the page (one label set, `le` aside)."""

    family: ServingFamily
    identity: Identity
    minute_us: int
    first_line: int
    shown: str  # `family{labels}`, as the report names it
    buckets: dict[float, float] = field(default_factory=dict)
    sum: float | None = None
    count: float | None = None
    quarantined: list[int] = field(default_factory=list)  # lines of the group that were quarantined

    def problems(self) -> list[str]:
        """Why the group is not whole (empty when it is)."""
        problems = []
        if math.inf not in self.buckets:
            problems.append("no +Inf bucket")
        if self.sum is None:
            problems.append("no _sum")
        if self.count is None:
            problems.append("no _count")
        counts = [self.buckets[le] for le in sorted(self.buckets)]
        if any(later < earlier for earlier, later in zip(counts, counts[1:], strict=False)):
            problems.append("buckets not cumulative")
        if math.inf in self.buckets and self.count is not None and self.count != self.buckets[math.inf]:
            problems.append(f"_count {self.count:g} differs from the +Inf bucket {self.buckets[math.inf]:g}")
        if self.quarantined:
            problems.append(f"line(s) {', '.join(map(str, self.quarantined))} quarantined")
        return problems


def _number(text: str, what: str) -> float:
    """A value as Prometheus's text parser reads it (an ASCII float, NaN and Inf included); Bad otherwise."""
    if _VALUE_RE.fullmatch(text) is None:
        raise Bad(what, f"not a number: {shown(text)}")
    value = float(text)
    if math.isinf(value) and text[-1] not in "fFyY":
        raise Bad(what, f"{shown(text)} is out of the float64 range")
    return value


def _timestamp_s(text: str, openmetrics: bool) -> float:
    """A sample's own timestamp in unix seconds: OpenMetrics writes seconds, the 0.0.4 format milliseconds."""
    if openmetrics:
        seconds = _number(text, "timestamp")
    elif re.fullmatch(r"[+-]?[0-9]{1,19}", text):
        seconds = int(text) / 1000
    else:
        raise Bad("timestamp", f"not an integer of milliseconds: {shown(text)}")
    if not (math.isfinite(seconds) and plausible_seconds(seconds)):
        raise Bad("timestamp", f"{shown(text)} is outside {PLAUSIBLE}")
    return seconds


def _sample(number: int, text: str, scrape_s: float, openmetrics: bool) -> _Sample:
    """One sample line; Bad naming the field otherwise."""
    if len(text) > MAX_TEXT:
        raise Bad(LINE, f"a line of {len(text)} characters, more than {MAX_TEXT}")
    brace = text.find("{")
    if brace >= 0:
        name = text[:brace].strip(" \t")
        label_set = _LABEL_SET_RE.match(text, brace)
        if label_set is None:
            raise Bad("labels", f"label set is not closed: {shown(text[brace:])}")
        try:
            labels = parse_labels(label_set.group(1))
        except ValueError as exc:
            raise Bad("labels", str(exc)) from None
        rest = text[label_set.end():]
    else:
        name, _, rest = text.strip(" \t").partition(" ")
        labels = {}
    if not _NAME_RE.match(name):
        raise Bad("metric", f"invalid metric name {shown(name)}")
    if openmetrics:
        rest = rest.split(" # ", 1)[0]  # an exemplar
    tokens = _BLANKS.split(rest.strip(" \t")) if rest.strip(" \t") else []
    if not 1 <= len(tokens) <= 2:
        raise Bad("value", "expected a value and an optional timestamp after the name and labels")
    value = _number(tokens[0], "value")
    ts_s = _timestamp_s(tokens[1], openmetrics) if len(tokens) == 2 else scrape_s
    minute_us = int(ts_s * 1_000_000) // _MINUTE_US * _MINUTE_US
    return _Sample(number, name, labels, value, minute_us, ts_s)


def _identity(labels: dict[str, str], namespace: str | None, pod: str | None) -> Identity:
    """(model, namespace, pod, engine_index) of a serving series; Bad when a label does not fit its column."""
    model = next((labels[k] for k in _MODEL_LABELS if labels.get(k)), None)
    identity = (model,
                labels.get("namespace") or labels.get("kubernetes_namespace") or namespace,
                labels.get("pod") or labels.get("kubernetes_pod_name") or pod,
                labels.get("engine") or None)
    for column, value in zip(("model", "namespace", "pod", "engine_index"), identity, strict=True):
        if value is not None:
            check_text(column, value)
    return identity


def _family_name(name: str, declared: str | None) -> str:
    """The family a sample the seed does not know belongs to: the last `# TYPE` family if the name is one of its
    series, else the name without a histogram suffix (a page cut before its TYPE line)."""
    if declared and (name == declared or any(name == declared + s for s in _FAMILY_SUFFIXES)):
        return declared
    return next((name.removesuffix(s) for s in HISTOGRAM_PARTS if name.endswith(s)), name)


def _lines(path: Path) -> tuple[list[tuple[int, str, Bad | None]], bool]:
    """The page's lines, and whether it is OpenMetrics (it has a `# EOF` line)."""
    lines = list(read_lines(path))
    return lines, any(text.strip() == "# EOF" for _, text, bad in lines if bad is None)


class _Page:
    """What the lines of one page add up to."""

    def __init__(self, path: Path, namespace: str | None, pod: str | None) -> None:
        self.path, self.namespace, self.pod = path, namespace, pod
        self.report = PageReport()
        self.rejected: list[dict] = []
        self.ksm_rejected: list[dict] = []
        self.ksm: list[kube_state.Series] = []
        self.rows: dict[tuple, float] = {}  # (minute, engine, identity, metric, le, value_kind) -> summed value
        self.histograms: dict[tuple, _Histogram] = {}
        self.seen: dict[tuple, int] = {}  # series -> its line

    def add(self, sample: _Sample, raw: str, declared: str | None) -> None:
        if sample.name in kube_state.KSM_POD_FAMILIES:  # before `_created`: kube_pod_created is a gauge
            self._add_ksm(sample, raw)
            return
        if is_created(sample.name):
            self.report.created += 1
            return
        found = lookup(sample.name)
        if found is None or not found.family.used:
            self.report.skipped[found.family.family if found else _family_name(sample.name, declared)] += 1
            return
        try:
            self._add_serving(sample, found)
        except Bad as exc:
            self.rejected.append(reject(self.path, sample.line, exc, raw))

    def _repeated(self, sample: _Sample) -> None:
        key = (sample.name, tuple(sorted(sample.labels.items())))
        if key in self.seen:
            raise Bad("labels", f"the same series as line {self.seen[key]}")
        self.seen[key] = sample.line

    def _add_ksm(self, sample: _Sample, raw: str) -> None:
        try:
            self._repeated(sample)
            if not math.isfinite(sample.value):
                raise Bad("value", f"not a finite number: {sample.value}")
            if None in kube_state.pod_name(sample.labels):
                raise Bad("labels", "kube-state-metrics series has no pod/namespace label (pod, exported_pod)")
        except Bad as exc:
            self.ksm_rejected.append(reject(self.path, sample.line, exc, raw))
            return
        self.ksm.append(({**sample.labels, "__name__": sample.name}, np.array([sample.ts_s]),
                         np.array([sample.value])))

    def _add_serving(self, sample: _Sample, found: SeriesName) -> None:
        family = found.family
        identity = _identity(sample.labels, self.namespace, self.pod)
        histogram = None
        if family.type == "histogram":
            group = (family.family, tuple(sorted((k, v) for k, v in sample.labels.items() if k != "le")))
            histogram = self.histograms.get(group)
            if histogram is None:
                shown_labels = ",".join(f'{k}="{v}"' for k, v in group[1])
                histogram = self.histograms[group] = _Histogram(family, identity, sample.minute_us, sample.line,
                                                                f"{family.family}{{{shown_labels}}}")
        try:
            self._repeated(sample)
            if not math.isfinite(sample.value):
                raise Bad("value", f"not a finite number: {sample.value}")
            if sample.value < 0 and (family.type == "counter" or found.part in ("bucket", "count")):
                raise Bad("value", f"a {family.type} {found.part} cannot be negative: {sample.value:g}")
            if histogram is None:
                kind = "mean" if family.type == "gauge" else "total"
                key = (sample.minute_us, family.engine, identity, sample.name, None, kind)
                self.rows[key] = self.rows.get(key, 0.0) + sample.value
            elif found.part == "bucket":
                le = _number(sample.labels.get("le", ""), "le")
                if math.isnan(le):
                    raise Bad("le", "not a number: NaN")
                histogram.buckets[le] = histogram.buckets.get(le, 0.0) + sample.value
            else:  # a _sum or _count: one per group (a second one is the same series, refused above)
                setattr(histogram, found.part, sample.value)
        except Bad:
            if histogram is not None:
                histogram.quarantined.append(sample.line)
            raise

    def close_histograms(self) -> None:
        """Land what is exact of each histogram row: its buckets only when every group summed into the row is
        whole; its `_sum` (`_count`) when every such group has one. Report and quarantine the other groups."""
        rows: dict[tuple, list[_Histogram]] = {}
        for h in self.histograms.values():
            rows.setdefault((h.family.family, h.minute_us, h.identity), []).append(h)
        for groups in rows.values():
            parts = {"bucket": not any(h.problems() for h in groups),
                     "sum": all(h.sum is not None for h in groups),
                     "count": all(h.count is not None for h in groups)}
            landed = [f"_{part}" for part, lands in parts.items() if lands]
            broken = next((g for g in groups if g.problems()), None)
            for h in groups:
                self._land_histogram(h, parts)
                if broken is None:
                    continue
                problems = h.problems() or [f"summed into one row with {broken.shown}, which is incomplete"]
                outcome = f"landed only {' and '.join(landed)}" if landed else "none of its rows landed"
                self.report.incomplete.append(f"{h.shown} ({', '.join(problems)}; {outcome})")
                self.rejected.append({
                    "record": h.first_line, "field": "metric", "row": h.shown, "origin": str(self.path),
                    "reason": f"incomplete histogram: {h.shown}: {', '.join(problems)}; {outcome}"})

    def _land_histogram(self, h: _Histogram, parts: dict[str, bool]) -> None:
        family = h.family.family
        series = []
        if parts["bucket"]:
            series += [(family + "_bucket", le, count) for le, count in h.buckets.items()]
        if parts["sum"]:
            series.append((family + "_sum", None, h.sum))
        if parts["count"]:
            series.append((family + "_count", None, h.count))
        for metric, le, value in series:
            key = (h.minute_us, h.family.engine, h.identity, metric, le, "total")
            self.rows[key] = self.rows.get(key, 0.0) + value

    def serving_rows(self, pool: str) -> Iterator[dict]:
        def order(key: tuple) -> tuple:
            minute_us, engine, identity, metric, le, _ = key
            return minute_us, engine, tuple(v or "" for v in identity), metric, -math.inf if le is None else le

        for (minute_us, engine, identity, metric, le, kind) in sorted(self.rows, key=order):
            model, namespace, pod, engine_index = identity
            value = self.rows[(minute_us, engine, identity, metric, le, kind)]
            yield {"minute_ts": _EPOCH + dt.timedelta(microseconds=minute_us), "pool": pool, "engine": engine,
                   "model": model, "namespace": namespace, "pod": pod, "engine_index": engine_index,
                   "metric": metric, "le": le, "value": value, "value_kind": kind, "source": SOURCE}


def read_serving_text(path: str | Path, pool: str, scrape_ts: str | None = None, namespace: str | None = None,
                      pod: str | None = None) -> ServingTextResult:
    """`scrape_ts` (ISO 8601; without an offset, in this machine's zone) says when the page was scraped; the
    file's modification time otherwise. A scrape time outside 2000-01-01 .. now + 1 day refuses the file.
    `namespace` and `pod` name the replica when the page's series carry no such labels (a page saved from the
    engine itself)."""
    path = Path(path)
    try:
        when = parse_ts(scrape_ts if scrape_ts else path.stat().st_mtime, tz=dt.datetime.now().astimezone().tzinfo)
    except ValueError as exc:
        raise ValueError(f"{path}: scrape time {exc} (pass --scrape-ts)") from None
    for option, value in (("--namespace", namespace), ("--pod", pod)):
        if value is not None:
            try:
                check_text(option, value)
            except Bad as exc:
                raise ValueError(f"{path}: {exc}") from None
    page = _Page(path, namespace, pod)
    lines, openmetrics = _lines(path)
    declared: str | None = None
    for number, text, bad in lines:
        stripped = text.strip(" \t")
        if bad is None and (not stripped or stripped.startswith("#")):
            words = stripped.split()
            if len(words) >= 3 and words[:2] == ["#", "TYPE"]:
                declared = words[2]
            continue
        try:
            if bad is not None:
                raise bad
            sample = _sample(number, text, when.timestamp(), openmetrics)
        except Bad as exc:
            page.rejected.append(reject(path, number, exc, text))
            continue
        page.add(sample, text, declared)
    page.close_histograms()
    result = ServingTextResult(pool=pool, origin=str(path), report=page.report)
    serving = result.tables["serving_metrics"] = to_table("serving_metrics", list(page.serving_rows(pool)))
    page.report.without_pod = serving["pod"].null_count
    result.rejected["serving_metrics"] = sorted(page.rejected, key=lambda r: r["record"])
    if page.ksm or page.ksm_rejected:
        result.tables["pod_allocations"] = kube_state.pod_allocations(page.ksm, pool, kube_state.PodLabelNames(),
                                                                      SOURCE)
        result.rejected["pod_allocations"] = page.ksm_rejected
    return result
