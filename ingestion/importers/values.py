"""Robust reading of input files and of the values in them, shared by every importer.

Nothing in a file stops an import: a line or value that cannot be represented raises `Bad` (a ValueError
that names its field), which the reading loops turn into one quarantine record (file, line, field, reason)
while the rest of the file lands.

- Files are read as bytes, line by line: a UTF-8 BOM before the first line is dropped, LF and CRLF line
  ends both work, and a line that is not valid UTF-8 is quarantined alone (field `line`).
- JSON lines: bad JSON, nesting too deep for the parser and integers too long to convert are quarantined
  per line; `Infinity`/`NaN` and `1e400` parse, and are then refused as numbers (not finite).
- CSV: fields of any length are read (`csv.field_size_limit` raised), a line the csv module refuses is
  quarantined alone, and so is a row with more cells than the header.
- Plausibility: timestamps between 2000-01-01 and now + 1 day (`parse_ts`, which every importer's
  timestamps go through); and `check_row`, against the contract of the dataset a row is for: finite
  floats, integers within their column's type (int32, int64), strings of valid Unicode up to `MAX_TEXT`
  characters, and no end before its start (`ORDER`). Label sets that become gpu_samples columns go
  through `check_gpu_labels`.
- Quarantine records (`reject`): `record` (the 1-based line), `field`, `reason` (`field '<name>': ...`),
  `row` (the line, cut at `RAW_CHARS`) and `origin` (the file).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import json
import math
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa

from ingestion.contracts import DATASETS, GPU_SAMPLES
from ingestion.sources.dcgm_labels import INT_COLUMNS, LABELS, first_label

LINE = "line"  # the field a quarantine record names when the whole line is unreadable
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
PLAUSIBLE = f"{EARLIEST:%Y-%m-%d} .. now + 1 day"  # the plausible range of timestamps, as reasons say it
_EARLIEST_S = EARLIEST.timestamp()
MAX_TEXT = 65_536  # characters in one string value of a contract column
CSV_FIELD_LIMIT = 1 << 30  # csv's own limit (128 KiB by default) would stop the file at one long field
RAW_CHARS = 2_000  # characters of an input line kept in its quarantine record

# (earlier, later) columns per dataset: a row whose `later` precedes its `earlier` has a negative duration.
ORDER: dict[str, tuple[tuple[str, str], ...]] = {
    "jobs": (("submit_ts", "end_ts"), ("start_ts", "end_ts")),
    "inference_requests": (("arrival_ts", "scheduled_ts"), ("arrival_ts", "first_token_ts"),
                           ("arrival_ts", "end_ts"), ("first_token_ts", "end_ts")),
    "experiments": (("start_ts", "end_ts"), ("window_start_ts", "window_end_ts")),
}


class Bad(ValueError):
    """A record refused for one field (`LINE` when the line as a whole cannot be read)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(problem if field == LINE else f"field '{field}': {problem}")
        self.field, self.problem = field, problem


def shown(value: Any, limit: int = 60) -> str:
    """`repr(value)`, cut to `limit` characters (a reason never repeats a 1 MB value)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def latest() -> dt.datetime:
    """The latest plausible timestamp: now + 1 day (clocks drift, zones get mixed up; later is an error)."""
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=1)


def plausible_seconds(seconds: float) -> bool:
    """Whether unix `seconds` lie in 2000-01-01 .. now + 1 day (time.time(): cheaper than datetimes, per value)."""
    return _EARLIEST_S <= seconds <= time.time() + 86_400


def _plausible(ts: dt.datetime, text: Any) -> dt.datetime:
    if not plausible_seconds(ts.timestamp()):
        raise ValueError(f"{shown(text)} is outside {PLAUSIBLE}")
    return ts


def _from_seconds(seconds: float, text: Any) -> dt.datetime:
    if not math.isfinite(seconds):
        raise ValueError(f"{shown(text)} is not a finite number of seconds")
    if not plausible_seconds(seconds):
        raise ValueError(f"{shown(text)} is outside {PLAUSIBLE}")
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


def parse_ts(value: object, tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """Parse a timestamp into an aware UTC datetime; None for an empty value.

    Accepted: unix seconds (int, float or numeric string) and ISO 8601. An ISO value without an offset
    is read in `tz`; with `tz` None it is refused, since its instant is ambiguous. Any value that is not
    a timestamp, or one outside 2000-01-01 .. now + 1 day, raises ValueError (never OverflowError).
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        try:
            return _from_seconds(float(value), value)
        except OverflowError:  # an int beyond float
            raise ValueError(f"{shown(value)} is outside {PLAUSIBLE}") from None
    text = str(value).strip()
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        return _from_seconds(seconds, text)
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not a timestamp: {shown(text)}") from None
    if parsed.tzinfo is None:
        if tz is None:
            raise ValueError(f"timestamp {shown(text)} has no UTC offset")
        parsed = parsed.replace(tzinfo=tz)
    try:
        return _plausible(parsed.astimezone(dt.UTC), text)
    except OverflowError:  # 9999-12-31T23:00-05:00 or 0001-01-01T00:00+01:00: no UTC datetime
        raise ValueError(f"{shown(text)} is outside {PLAUSIBLE}") from None


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def timestamp(value: Any, field: str, *, tz: dt.tzinfo | None = None, required: bool = False) -> dt.datetime | None:
    """`parse_ts(value, tz)` for one field: a blank value is None (Bad when `required`), a bad one is Bad."""
    try:
        parsed = None if blank(value) else parse_ts(value, tz)
    except ValueError as exc:
        raise Bad(field, str(exc)) from None
    if parsed is None and required:
        raise Bad(field, "required timestamp is missing")
    return parsed


def number(value: Any, field: str, *, integer: bool = False, required: bool = False,
           minimum: float | None = None) -> Any:
    """A finite number (an int with `integer`) from a JSON number or a string; None when blank."""
    if blank(value):
        if required:
            raise Bad(field, "required value is missing")
        return None
    if isinstance(value, bool):
        raise Bad(field, f"not a number: {value!r}")
    if integer and isinstance(value, int):
        result: Any = value
    else:
        try:
            result = float(value)
        except OverflowError:  # an int beyond float
            raise Bad(field, f"{shown(value)} is out of range") from None
        except (TypeError, ValueError):
            raise Bad(field, f"not a number: {shown(value)}") from None
        if not math.isfinite(result):
            raise Bad(field, f"not a finite number: {shown(value)}")
        if integer:
            if not result.is_integer():
                raise Bad(field, f"must be an integer, got {shown(value)}")
            result = int(result)
    if minimum is not None and result < minimum:
        raise Bad(field, f"must be >= {minimum:g}, got {shown(value)}")
    return result


def check_text(field: str, value: str) -> None:
    """Bad unless `value` is valid Unicode of at most MAX_TEXT characters."""
    if len(value) > MAX_TEXT:
        raise Bad(field, f"{len(value)} characters, more than {MAX_TEXT}")
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, e.g. a JSON "\ud800" escape
            raise Bad(field, f"not valid Unicode: {shown(value)}") from None


def _check_int(typ: pa.DataType) -> Callable[[str, Any], None]:
    low, high = -(1 << (typ.bit_width - 1)), (1 << (typ.bit_width - 1)) - 1

    def check(field: str, value: Any) -> None:
        if not low <= value <= high:
            raise Bad(field, f"{shown(value)} is out of range for {typ} ({low} .. {high})")

    return check


def _check_float(field: str, value: Any) -> None:
    if not math.isfinite(value):
        raise Bad(field, f"not a finite number: {shown(value)}")


def _check_list(check: Callable[[str, Any], None]) -> Callable[[str, Any], None]:
    def check_items(field: str, values: Any) -> None:
        for item in values:
            if item is not None:
                check(field, item)

    return check_items


def _checker(typ: pa.DataType) -> Callable[[str, Any], None] | None:
    """How a value of an Arrow type is checked (None: any value the importer built fits, e.g. a datetime)."""
    if pa.types.is_integer(typ):
        return _check_int(typ)
    if pa.types.is_floating(typ):
        return _check_float
    if pa.types.is_string(typ):
        return check_text
    if pa.types.is_list(typ):
        item = _checker(typ.value_type)
        return None if item is None else _check_list(item)
    return None


@functools.cache
def _checks(dataset: str) -> tuple[tuple[str, Callable[[str, Any], None]], ...]:
    """(column, check) for every column of `dataset` whose values need one: built once per dataset."""
    return tuple((f.name, check) for f in DATASETS[dataset].schema if (check := _checker(f.type)) is not None)


def check_row(dataset: str, row: dict) -> dict:
    """`row` when every value fits its column of `dataset`'s contract and no end precedes its start; else Bad."""
    for name, check in _checks(dataset):
        value = row.get(name)
        if value is not None:
            check(name, value)
    for earlier, later in ORDER.get(dataset, ()):
        if row.get(earlier) is not None and row.get(later) is not None and row[later] < row[earlier]:
            raise Bad(later, f"{row[later].isoformat()} is before {earlier} {row[earlier].isoformat()}")
    return row


def check_gpu_labels(labels: dict[str, str], field: str) -> None:
    """Bad (naming `field`) when a label that becomes a gpu_samples column does not fit it: too long, not valid
    Unicode, or an integer label (`gpu`, `GPU_I_ID`) beyond int32. A non-integer there is left to the decoder."""
    for column in LABELS:
        value = first_label(labels, column)
        if value is None:
            continue
        check_text(field, value)
        if column in INT_COLUMNS and value.lstrip("-").isdigit():
            try:
                _check_int(GPU_SAMPLES.schema.field(column).type)(field, int(value))
            except ValueError:  # Bad, or an integer of more than 4,300 digits
                raise Bad(field, f"label for {column} {shown(value)} is out of range for int32") from None


def reject(origin: str | Path, line: int | None, exc: ValueError, raw: str) -> dict:
    """The quarantine record of a line refused with `exc`: file, line, field, reason and (the start of) the line."""
    return {"record": line, "field": getattr(exc, "field", LINE), "reason": str(exc),
            "row": raw if len(raw) <= RAW_CHARS else f"{raw[:RAW_CHARS]}... ({len(raw)} characters)",
            "origin": str(origin)}


def read_lines(path: str | Path) -> Iterator[tuple[int, str, Bad | None]]:
    """(1-based line number, text, problem) per line, read as bytes; the problem is None for a good line.

    The line end (LF or CRLF) is removed, and a BOM before the first line. A line that is not UTF-8 comes
    with Bad(LINE) and its text with the bad bytes escaped (`\\xff`).
    """
    with open(path, "rb") as fh:
        for number, data in enumerate(fh, start=1):
            if number == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8):]
            data = data.removesuffix(b"\n").removesuffix(b"\r")
            try:
                yield number, data.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                yield number, data.decode("utf-8", "backslashreplace"), Bad(
                    LINE, f"not valid UTF-8: byte 0x{data[exc.start]:02x} at column {exc.start + 1}")


def json_records(path: str | Path) -> Iterator[tuple[int, dict | Bad, str]]:
    """(line number, object or why the line is refused, line text) per non-blank line of a JSONL file."""
    for number, text, bad in read_lines(path):
        if not text.strip():
            continue
        if bad is not None:
            yield number, bad, text
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            record = Bad(LINE, f"bad JSON: {exc.msg} (column {exc.colno})")
        except RecursionError:
            record = Bad(LINE, "bad JSON: nested too deeply")
        except ValueError as exc:  # e.g. an integer of more than 4,300 digits
            record = Bad(LINE, f"bad JSON: {exc}")
        if not isinstance(record, dict | Bad):
            record = Bad(LINE, "bad JSON: a line must be one object")
        yield number, record, text


def csv_records(path: str | Path) -> Iterator[tuple[int, dict | Bad, str]]:
    """(line number of the record's last line, record by header name or why it is refused, raw text) per CSV
    record (the header is line 1). A header that is not UTF-8 refuses the file (ValueError naming it)."""
    csv.field_size_limit(max(csv.field_size_limit(), CSV_FIELD_LIMIT))
    unreadable: list[tuple[int, Bad, str]] = []  # lines that are not UTF-8, met while the csv module reads
    fed = 0  # the number of the last line handed to the csv module

    def lines() -> Iterator[str]:
        nonlocal fed
        for number, text, bad in read_lines(path):
            fed = number
            if bad is not None and number == 1:
                raise ValueError(f"{path}: the header (line 1) is {bad}: no line of the file can be read")
            if bad is not None:
                unreadable.append((number, bad, text))
                yield "\n"  # an empty row, which DictReader skips: the line numbers stay in step
            else:
                yield text + "\n"

    reader = csv.DictReader(lines())
    while True:
        try:
            record: dict | Bad = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            record = Bad(LINE, f"unreadable CSV: {exc}")
        yield from unreadable
        unreadable.clear()
        if isinstance(record, Bad):
            yield fed, record, ""
            continue
        raw = ",".join("" if v is None else v if isinstance(v, str) else ",".join(v) for v in record.values())
        if None in record:
            yield fed, Bad(LINE, "row has more cells than the header"), raw
        else:
            yield fed, record, raw
    yield from unreadable


def convert_records(path: str | Path, records: Iterator[tuple[int, dict | Bad, str]],
                    convert: Callable[[dict, int], dict], dataset: str | None = None
                    ) -> tuple[list[dict], list[dict]]:
    """Each record through `convert(record, line_number)` (then `check_row` against `dataset` when given):
    the rows, and the quarantine records of the lines refused (unreadable, or `convert` raised ValueError)."""
    rows: list[dict] = []
    rejected: list[dict] = []
    for number, record, raw in records:
        try:
            if isinstance(record, Bad):
                raise record
            row = convert(record, number)
            rows.append(row if dataset is None else check_row(dataset, row))
        except ValueError as exc:
            rejected.append(reject(path, number, exc, raw))
    return rows, rejected
