"""Parse dcgm-exporter's Prometheus text exposition (`/metrics`) into `gpu_samples` rows.

A small hand-written parser rather than prometheus_client's: it keeps metric names exactly as received
(prometheus_client renames counter samples to `_total`), turns a bad line into a quarantine record instead
of failing the whole scrape, and is much faster on dcgm-exporter output, where the same label set repeats
in every metric family and the same series in every scrape: `ExpositionParser` keeps, per target, what a
line's `name{labels}` part decides, and builds the columns with `take` at the end (bench/README.md, "Parsing").

Labels map to columns as `ingestion.sources.dcgm_labels` says. Other labels (`DCGM_FI_DRIVER_VERSION`,
`pci_bus_id`, `xid`, ...) are dropped unless asked for with `extra_labels` (one string column each).
Series without a GPU identity (no `UUID`/`uuid` label: the exporter's own `go_*`/`process_*` families, `up`)
are not GPU data: they are skipped and counted (`ParseResult.skipped`), not quarantined.

Values and timestamps are read as Prometheus's text parser reads them (model/textparse): a value is an ASCII
float as Go's `strconv.ParseFloat` accepts it without `p`, `P` or `_` (so no digit separators, no hex, no
non-ASCII digits; `NaN`, `Inf`, `+Inf`, `-Inf`, `Infinity` in any case are valid, a finite literal that
overflows float64 is not), a timestamp an int64 of milliseconds (`strconv.ParseInt`, base 10); only ASCII
blanks and tabs separate the name, the value and the timestamp. A line that breaks any of this is
quarantined with its line number and the reason, and costs only itself.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from array import array
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
# One `name="value"` pair, with optional blanks around it (PromQL output puts a blank after commas). The value
# is written as an unrolled loop, runs of plain characters between escapes, rather than an alternation per
# character: the same strings, matched twice as fast (bench/README.md, "Parsing").
_PAIR_RE = re.compile(r'[ \t]*([a-zA-Z_][a-zA-Z0-9_]*)[ \t]*=[ \t]*"([^"\\\n]*(?:\\.[^"\\\n]*)*)"[ \t]*(?:,|\Z)')
_ESCAPE_RE = re.compile(r"\\(.)")
_ESCAPES = {"n": "\n", "\\": "\\", '"': '"'}
# A value as Go's strconv.ParseFloat reads it once textparse has refused 'p', 'P' and '_': decimal only (a hex
# float needs a 'p' exponent); the sign goes with a number or an infinity, never with NaN.
_VALUE_RE = re.compile(r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                       r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?)|[nN][aA][nN]")
_TS_RE = re.compile(r"[+-]?[0-9]+")  # strconv.ParseInt(s, 10, 64)
# Timestamps (ms) that a datetime can hold, microseconds in an int64 timestamp column.
_TS_MIN_MS = (dt.datetime(1, 1, 1, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(milliseconds=1)
_TS_MAX_MS = (dt.datetime(9999, 12, 31, 23, 59, 59, 999000, tzinfo=dt.UTC) - _EPOCH) // dt.timedelta(milliseconds=1)
_BLANKS = re.compile(r"[ \t]+")  # the only separators: a no-break or other Unicode space is not one

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
    skipped: int = 0  # samples of series without a GPU identity (no UUID/uuid label), not GPU data


def _value(text: str) -> float:
    """A sample value as textparse reads it; ValueError with the reason otherwise."""
    try:
        value = float(text)
    except ValueError:
        pass
    else:  # the common case, as in `_read_lines`'s shortcut: a finite number in printable ASCII without '_'
        if "_" not in text and value - value == 0 and text.isascii() and text.isprintable():
            return value
    if _VALUE_RE.fullmatch(text) is None:
        raise ValueError(f"value {text[:40]!r} is not a number")
    value = float(text)
    if math.isinf(value) and text[-1] not in "fFyY":  # not Inf/Infinity: a finite literal past float64
        raise ValueError(f"value {text[:40]!r} is out of the float64 range")
    return value


def _timestamp_us(text: str) -> int:
    """A sample timestamp (ms since the epoch, as textparse reads it) in microseconds; ValueError otherwise."""
    if _TS_RE.fullmatch(text) is None:
        raise ValueError(f"timestamp {text[:40]!r} is not an integer (ms since epoch)")
    ms = int(text)
    if not _TS_MIN_MS <= ms <= _TS_MAX_MS:
        raise ValueError(f"timestamp {text[:40]!r} is out of range (years 1 to 9999)")
    return ms * 1000


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
    """The identity columns of a label set (one with a GPU UUID), in _IDENTITY order."""
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


def _int_buffer(values: array) -> pa.Array:
    return pa.array(np.frombuffer(values, dtype=np.int32), pa.int32())


def _ts_column(n: int, scrape_us: int, stamped: list[tuple[int, int]]) -> pa.Array:
    """The scrape time on every row, but a sample's own timestamp where it has one."""
    if not stamped:
        return pa.repeat(pa.scalar(scrape_us, TS), n)
    ts = np.full(n, scrape_us, dtype=np.int64)
    for row, us in stamped:
        ts[row] = us
    return pa.array(ts, TS)


def _distinct_sets(sets: list[tuple], extra: int) -> pa.Table:
    """The distinct label sets as a table (identity columns, then `extra` label columns), columns named by position.

    Built from one flat string array and one flat int32 array, sliced per column: Arrow's per-call cost
    dominates at this size, so two conversions instead of one per column.
    """
    types = [typ for _, typ in _IDENTITY] + [pa.string()] * extra
    per_set = list(zip(*sets, strict=True)) if sets else [()] * len(types)
    flat: dict[pa.DataType, list] = {pa.string(): [], pa.int32(): []}
    for values, typ in zip(per_set, types, strict=True):
        flat[typ].extend(values)
    arrays = {typ: pa.array(values, typ) for typ, values in flat.items()}
    offsets = dict.fromkeys(flat, 0)
    columns = []
    for typ in types:
        columns.append(arrays[typ].slice(offsets[typ], len(sets)))
        offsets[typ] += len(sets)
    return pa.Table.from_arrays(columns, names=[str(i) for i in range(len(types))])


@dataclass
class _Scrape:
    """One body's rows: per row the index of its label set and of its metric, its value and, for the few samples
    that carry one, its own timestamp. Typed buffers: appending is as cheap as to a list, and Arrow then reads
    them without a copy."""

    row_set: array = field(default_factory=lambda: array("i"))
    row_metric: array = field(default_factory=lambda: array("i"))
    values: array = field(default_factory=lambda: array("d"))
    stamped: list[tuple[int, int]] = field(default_factory=list)  # (row, ts in us)
    quarantine: list[dict] = field(default_factory=list)
    skipped: int = 0  # samples without a GPU identity


# What `ExpositionParser._label_set` returns for a label set without a GPU UUID: its samples are skipped.
_NO_GPU = -1


class ExpositionParser:
    """Parses the /metrics bodies of one target, scrape after scrape.

    A target serves the same series at every scrape; only the values change. So what a line's `name{labels}`
    part decides is kept from one scrape to the next:
    - each distinct label set, parsed once (by its raw `{...}` text), and each metric name;
    - each sample line's text up to its value, mapped to its label set and metric: a line seen before costs one
      dict lookup and a `float()`;
    - the identity columns of the last scrape, reused when a scrape lists the same series in the same order.
    A target whose series churn cannot grow it without bound: past `max_series` distinct line prefixes and
    label sets (a node of 8 GPUs with 7 MIG instances each and 50 fields serves 2,800 series) the parser starts
    again. `parse_exposition` is one scrape with a new parser.
    """

    def __init__(self, *, pool: str, origin: str = "", extra_labels: Sequence[str] = (),
                 max_series: int = 20_000) -> None:
        self.pool, self.origin, self.extra_labels = pool, origin, tuple(extra_labels)
        self.max_series = max_series
        self._forget()

    def _forget(self) -> None:
        self._set_ids: dict[str, int] = {}  # raw label text -> index in _sets
        self._bad_sets: dict[str, str] = {}  # raw label text -> why it is rejected
        self._sets: list[tuple] = []
        self._metric_ids: dict[str, int] = {}  # name as written -> index in _metric_names
        self._metric_names: list[str] = []
        self._prefixes: dict[str, tuple[int, int]] = {}  # line up to its value -> (label set, metric)
        self._skipped_prefixes: set[str] = set()  # the same for series without a GPU identity
        self._identity_of_last: tuple[bytes, bytes, dict[str, pa.Array]] | None = None

    @property
    def remembered(self) -> int:
        """How many line prefixes and label sets (good or bad) the parser keeps."""
        return len(self._prefixes) + len(self._skipped_prefixes) + len(self._sets) + len(self._bad_sets)

    def parse(self, text: str, *, scrape_ts: dt.datetime) -> ParseResult:
        """The rows of one body. `ts` is `scrape_ts`, or the sample's own timestamp (ms) when it has one."""
        scrape_us = _to_us(scrape_ts)
        if self.remembered > self.max_series:
            self._forget()
        scrape = self._read_lines(text)
        return ParseResult(self._table(scrape, scrape_us), scrape.quarantine, self.origin, text.count("\n") + 1,
                           scrape.skipped)

    def _label_set(self, raw: str) -> int | str:
        """The index of the label set written `raw`, parsed the first time it is seen; `_NO_GPU` for a set without
        a GPU UUID; or why it is rejected."""
        index = self._set_ids.get(raw)
        if index is not None:
            return index
        if raw in self._bad_sets:
            return self._bad_sets[raw]
        try:
            labels = parse_labels(raw)
            if first_label(labels, "gpu_uuid") is None:
                self._set_ids[raw] = _NO_GPU
                return _NO_GPU
            self._sets.append(_identity(labels) + tuple(labels.get(k) for k in self.extra_labels))
        except ValueError as exc:
            self._bad_sets[raw] = str(exc)
            return self._bad_sets[raw]
        index = self._set_ids[raw] = len(self._sets) - 1
        return index

    def _read_lines(self, text: str) -> _Scrape:
        """The rows of a body, line by line; a line that cannot be read goes to quarantine with its number."""
        scrape = _Scrape()
        prefixes, metric_ids, metric_names = self._prefixes, self._metric_ids, self._metric_names
        skipped_prefixes = self._skipped_prefixes
        row_set, row_metric, values, stamped = scrape.row_set, scrape.row_metric, scrape.values, scrape.stamped

        def reject(lineno: int, line: str, reason: str) -> None:
            scrape.quarantine.append({"origin": self.origin, "record": lineno, "reason": reason, "row": line})

        for lineno, line in enumerate(text.split("\n"), 1):
            # A line whose text up to its last blank was read before, followed by a number: the same series.
            # (A number has no blank, brace or '#', so the full reading below would find the same name, label
            # set and single value.) `float()` also takes digit separators, non-ASCII digits, surrounding
            # whitespace and overflow to inf, which the format does not: only a finite value written in printable
            # ASCII without '_' is taken here (what float() reads of such text, ParseFloat reads the same); NaN,
            # Inf and anything else go the full way.
            prefix, _, value_text = line.rpartition(" ")
            known = prefixes.get(prefix)
            if known is not None:
                try:
                    value = float(value_text)
                except ValueError:
                    pass
                else:
                    if "_" not in value_text and value - value == 0 and value_text.isascii() \
                            and value_text.isprintable():
                        row_set.append(known[0])
                        row_metric.append(known[1])
                        values.append(value)
                        continue
            elif prefix in skipped_prefixes:  # a series without a GPU identity, seen before
                try:
                    _value(value_text)
                except ValueError:
                    pass
                else:
                    scrape.skipped += 1
                    continue
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
                rest = line[close + 1 :]
                # printable ASCII has no blank but ' ', so split() splits on exactly what the format allows
                rest = rest.split() if rest.isascii() and rest.isprintable() else _BLANKS.split(rest.strip(" \t"))
            else:
                parts = _BLANKS.split(line.strip(" \t"))
                if not parts[0] or parts[0][0] == "#":
                    continue  # blank line, or an indented comment
                name, raw, rest = parts[0], "", parts[1:]
            metric = metric_ids.get(name)
            if metric is None:
                stripped = name.strip(" \t")
                if not _NAME_RE.match(stripped):
                    reject(lineno, line, f"invalid metric name {stripped[:60]!r}")
                    continue
                metric = metric_ids[name] = len(metric_names)
                metric_names.append(stripped)
            label_set = self._label_set(raw)
            if isinstance(label_set, str):
                reject(lineno, line, label_set)
                continue
            if not rest or not rest[0] or len(rest) > 2:
                reject(lineno, line, "expected a value and an optional timestamp after the labels")
                continue
            try:
                value = _value(rest[0])
                us = _timestamp_us(rest[1]) if len(rest) == 2 else None
            except ValueError as exc:
                reject(lineno, line, str(exc))
                continue
            if us is None:
                prefix, _, value_text = line.rpartition(" ")
                if value_text == rest[0] and label_set == _NO_GPU:
                    skipped_prefixes.add(prefix)
                elif value_text == rest[0]:
                    prefixes[prefix] = (label_set, metric)
            if label_set == _NO_GPU:
                scrape.skipped += 1
                continue
            if us is not None:
                stamped.append((len(values), us))
            row_set.append(label_set)
            row_metric.append(metric)
            values.append(value)
        return scrape

    def _table(self, scrape: _Scrape, scrape_us: int) -> pa.Table:
        """The gpu_samples table (then one string column per extra label) from what a pass over the lines collected.

        The identity columns (every label column, `metric`, `pool`, `source`) come from the last scrape when
        this one lists the same series in the same order, else from the distinct label sets in one `take`;
        `value` reads the row buffer without a copy.
        """
        n = len(scrape.values)
        key = (scrape.row_set.tobytes(), scrape.row_metric.tobytes())
        if self._identity_of_last is not None and self._identity_of_last[:2] == key:
            identity = self._identity_of_last[2]
        else:
            identity = self._identity_columns(scrape, n)
            self._identity_of_last = (*key, identity)
        columns = {**identity, "ts": _ts_column(n, scrape_us, scrape.stamped),
                   "value": pa.array(np.frombuffer(scrape.values, dtype=np.float64), pa.float64())}
        table = pa.table([columns[f.name] for f in GPU_SAMPLES.schema], schema=GPU_SAMPLES.schema)
        for label in self.extra_labels:
            table = table.append_column(label, identity[label])
        return table

    def _identity_columns(self, scrape: _Scrape, n: int) -> dict[str, pa.Array]:
        labels = _distinct_sets(self._sets, len(self.extra_labels)).take(_int_buffer(scrape.row_set))
        names = [col for col, _ in _IDENTITY] + list(self.extra_labels)
        return {
            **{name: labels.column(i) for i, name in enumerate(names)},
            "pool": pa.repeat(pa.scalar(self.pool, pa.string()), n),
            "metric": pa.array(self._metric_names, pa.string()).take(_int_buffer(scrape.row_metric)),
            "source": pa.repeat(pa.scalar(SOURCE, pa.string()), n),
        }


def parse_exposition(
    text: str, *, scrape_ts: dt.datetime, pool: str, origin: str = "", extra_labels: Sequence[str] = (),
) -> ParseResult:
    """Parse one /metrics body. `ts` is `scrape_ts`, or the sample's own timestamp (ms) when it has one."""
    return ExpositionParser(pool=pool, origin=origin, extra_labels=extra_labels).parse(text, scrape_ts=scrape_ts)


def parse_file(
    path: str | Path, *, scrape_ts: dt.datetime, pool: str, extra_labels: Sequence[str] = ()
) -> ParseResult:
    path = Path(path)
    return parse_exposition(path.read_text(encoding="utf-8"), scrape_ts=scrape_ts, pool=pool,
                            origin=str(path), extra_labels=extra_labels)


def days(table: pa.Table) -> list[dt.date]:
    """The UTC dates present in `ts`, for calling `landing.write_day` once per day."""
    return sorted(d for d in pc.unique(pc.cast(table["ts"], pa.date32())).to_pylist() if d is not None)
