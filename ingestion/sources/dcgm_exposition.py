"""Parse dcgm-exporter's Prometheus text exposition (`/metrics`) into `gpu_samples` rows.

A small hand-written parser rather than prometheus_client's: it keeps metric names exactly as received
(prometheus_client renames counter samples to `_total`), turns a bad line into a quarantine record instead
of failing the whole scrape, and is much faster on dcgm-exporter output, where the same label set repeats
in every metric family: the parsed label set is cached by its raw `{...}` text and the columns are built
with `take` at the end.

Labels map to columns as `ingestion.sources.dcgm_labels` says. Other labels (`DCGM_FI_DRIVER_VERSION`,
`pci_bus_id`, `xid`, ...) are dropped unless asked for with `extra_labels` (one string column each).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.contracts import GPU_SAMPLES, TS
from ingestion.sources.dcgm_labels import INT_COLUMNS, LABELS, first_label

SOURCE = "dcgm-exporter"
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
# One `name="value"` pair, with optional blanks around it (PromQL output puts a blank after commas).
_PAIR_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"((?:[^"\\\n]|\\.)*)"[ \t]*(?:,|\Z)')
_ESCAPE_RE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "\\": "\\", '"': '"'}

# Identity columns derived from a label set (the contract's columns that dcgm_labels maps), in contract order.
_IDENTITY: tuple[tuple[str, pa.DataType], ...] = tuple(
    (f.name, f.type) for f in GPU_SAMPLES.schema if f.name in LABELS
)


@dataclass
class ParseResult:
    """Rows conforming to the gpu_samples contract, and the lines that did not make it.

    `quarantine` records have the shape `ingestion.landing.write_quarantine` writes: `record` (1-based line
    number), `reason`, `row` (the raw line) and `origin` (the file or URL, so that merged lists from
    several targets still say where each line came from).
    """

    table: pa.Table
    quarantine: list[dict] = field(default_factory=list)
    origin: str = ""
    lines: int = 0


def _unescape(value: str) -> str:
    return _ESCAPE_RE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(0)), value)


def parse_labels(raw: str) -> dict[str, str]:
    """Parse the text between `{` and `}`; raises ValueError on malformed text or a repeated label."""
    labels: dict[str, str] = {}
    pos, end = 0, len(raw)
    while pos < end:
        m = _PAIR_RE.match(raw, pos)
        if m is None:
            if not raw[pos:].strip():
                break
            raise ValueError(f"malformed label set at {raw[pos:pos + 40]!r}")
        name, value = m.group(1), m.group(2)
        if name in labels:
            raise ValueError(f"label {name!r} repeated")
        labels[name] = _unescape(value) if "\\" in value else value
        pos = m.end()
    return labels


def _identity(labels: dict[str, str]) -> tuple:
    """The identity columns of a label set, in _IDENTITY order."""
    if first_label(labels, "gpu_uuid") is None:
        raise ValueError("no GPU UUID (neither a UUID nor a uuid label)")
    return tuple(_int_label(labels, column) if column in INT_COLUMNS else first_label(labels, column)
                 for column, _ in _IDENTITY)


def _int_label(labels: dict[str, str], column: str) -> int | None:
    value = first_label(labels, column)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"label {LABELS[column][0]}={value!r} is not an integer") from None


def _to_us(ts: dt.datetime) -> int:
    if ts.tzinfo is None:
        raise ValueError("scrape_ts must be timezone-aware (UTC)")
    return (ts - _EPOCH) // dt.timedelta(microseconds=1)


def parse_exposition(
    text: str, *, scrape_ts: dt.datetime, pool: str, origin: str = "", extra_labels: Sequence[str] = (),
) -> ParseResult:
    """Parse one /metrics body. `ts` is `scrape_ts`, or the sample's own timestamp (ms) when it has one."""
    scrape_us = _to_us(scrape_ts)
    quarantine: list[dict] = []
    set_ids: dict[str, int | str] = {}  # raw label text -> label-set index, or the reason it is rejected
    sets: list[tuple] = []
    metric_ids: dict[str, int] = {}  # name as written (maybe with a trailing blank) -> index in metric_names
    metric_names: list[str] = []
    row_set: list[int] = []
    row_metric: list[int] = []
    values: list[float] = []
    stamped: list[tuple[int, int]] = []  # (row, ts in us) for samples that carry their own timestamp

    def reject(lineno: int, line: str, reason: str) -> None:
        quarantine.append({"origin": origin, "record": lineno, "reason": reason, "row": line})

    lines = text.split("\n")
    for lineno, line in enumerate(lines, 1):
        if not line or line[0] == "#":
            continue  # HELP, TYPE and comments carry nothing a row needs
        if line[-1] == "\r":
            line = line[:-1]
        brace = line.find("{")
        if brace >= 0:
            name = line[:brace]
            close = line.rfind("}")
            if close < brace:
                reject(lineno, line, "label set is not closed")
                continue
            raw = line[brace + 1 : close]
            rest = line[close + 1 :].split()
        else:
            parts = line.split()
            if not parts or parts[0][0] == "#":
                continue  # blank line, or an indented comment
            name, raw, rest = parts[0], "", parts[1:]
        metric = metric_ids.get(name)
        if metric is None:
            stripped = name.strip()
            if not _NAME_RE.match(stripped):
                reject(lineno, line, f"invalid metric name {stripped[:60]!r}")
                continue
            metric = metric_ids[name] = len(metric_names)
            metric_names.append(stripped)
        label_set = set_ids.get(raw)
        if label_set is None:
            try:
                labels = parse_labels(raw)
                sets.append(_identity(labels) + tuple(labels.get(k) for k in extra_labels))
                label_set = len(sets) - 1
            except ValueError as exc:
                label_set = str(exc)
            set_ids[raw] = label_set
        if isinstance(label_set, str):
            reject(lineno, line, label_set)
            continue
        if not rest or len(rest) > 2:
            reject(lineno, line, "expected a value and an optional timestamp after the labels")
            continue
        try:
            value = float(rest[0])
        except ValueError:
            reject(lineno, line, f"value {rest[0][:40]!r} is not a number")
            continue
        if len(rest) == 2:
            try:
                stamped.append((len(values), int(rest[1]) * 1000))
            except ValueError:
                reject(lineno, line, f"timestamp {rest[1][:40]!r} is not an integer (ms since epoch)")
                continue
        row_set.append(label_set)
        row_metric.append(metric)
        values.append(value)

    n = len(values)
    take_set = pa.array(row_set, pa.int32())
    columns: dict[str, pa.Array] = {}
    ts = np.full(n, scrape_us, dtype=np.int64)
    for row, us in stamped:
        ts[row] = us
    columns["ts"] = pa.array(ts).cast(TS)
    columns["pool"] = pa.array([pool], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32)))
    per_set = list(zip(*sets, strict=True)) if sets else [()] * (len(_IDENTITY) + len(extra_labels))
    for i, (col, typ) in enumerate(_IDENTITY):
        columns[col] = pa.array(per_set[i], typ).take(take_set)
    columns["metric"] = pa.array(metric_names, pa.string()).take(pa.array(row_metric, pa.int32()))
    columns["value"] = pa.array(values, pa.float64())
    columns["source"] = pa.array([SOURCE], pa.string()).take(pa.array(np.zeros(n, dtype=np.int32)))
    ordered = [columns[f.name] for f in GPU_SAMPLES.schema]
    table = pa.table(ordered, schema=GPU_SAMPLES.schema)
    for j, label in enumerate(extra_labels):
        table = table.append_column(label, pa.array(per_set[len(_IDENTITY) + j], pa.string()).take(take_set))
    return ParseResult(table, quarantine, origin, len(lines))


def parse_file(
    path: str | Path, *, scrape_ts: dt.datetime, pool: str, extra_labels: Sequence[str] = ()
) -> ParseResult:
    path = Path(path)
    return parse_exposition(path.read_text(encoding="utf-8"), scrape_ts=scrape_ts, pool=pool,
                            origin=str(path), extra_labels=extra_labels)


def days(table: pa.Table) -> list[dt.date]:
    """The UTC dates present in `ts`, for calling `landing.write_day` once per day."""
    return sorted(d for d in pc.unique(pc.cast(table["ts"], pa.date32())).to_pylist() if d is not None)
