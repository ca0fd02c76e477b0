"""A `/metrics` page saved from dcgm-exporter into gpu_samples; its samples carry the scrape time.

The page is read as bytes, line by line (`values.read_lines`): a BOM and CRLF line ends are read, and a
line that is not UTF-8 is quarantined alone. So is a line over 65,536 characters, a sample whose GPU labels
do not fit their columns (an index beyond int32, a value over 65,536 characters), whose value is not a
finite number (`NaN`, `+Inf`: no GPU measurement) or whose own timestamp (ms) lies outside 2000-01-01 ..
now + 1 day; the
other lines go through `sources.dcgm_exposition`, whose quarantine records get the field they are about
(`metric`, `labels`, `value` or `timestamp`). Every record names the file and line.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from ingestion.importers import ImportResult
from ingestion.importers.values import (
    LINE,
    MAX_TEXT,
    PLAUSIBLE,
    Bad,
    check_gpu_labels,
    parse_ts,
    plausible_seconds,
    read_lines,
    reject,
    shown,
)
from ingestion.sources.dcgm_exposition import parse_exposition, parse_labels


def _implausible(line: str, label_sets: dict[str, Bad | None]) -> Bad | None:
    """Why a sample line cannot land although it parses: too long, GPU labels that do not fit their columns
    (`label_sets` remembers each label set's verdict), a value that is not finite, a timestamp outside the
    plausible range. None otherwise: a malformed line is left to the parser, which quarantines it."""
    if line.lstrip(" \t").startswith("#"):
        return None
    if len(line) > MAX_TEXT:
        return Bad(LINE, f"a line of {len(line)} characters, more than {MAX_TEXT}")
    close = line.rfind("}")
    if 0 <= line.find("{") < close:
        raw = line[line.find("{") + 1:close]
        if raw not in label_sets:
            try:
                check_gpu_labels(parse_labels(raw), "labels")
                label_sets[raw] = None
            except Bad as exc:
                label_sets[raw] = exc
            except ValueError:  # malformed: the parser says why
                label_sets[raw] = None
        if label_sets[raw] is not None:
            return label_sets[raw]
    tokens = line[close + 1:].split() if close >= 0 else line.split()[1:]
    if not 1 <= len(tokens) <= 2:
        return None
    try:
        value = float(tokens[0])
    except ValueError:
        return None
    if not math.isfinite(value):
        return Bad("value", f"not a finite number: {shown(tokens[0])}")
    if len(tokens) == 2:
        try:
            ms = int(tokens[1])
        except ValueError:
            return None
        if not (abs(ms) < 1 << 62 and plausible_seconds(ms / 1000)):
            return Bad("timestamp", f"{shown(tokens[1])} (ms since the epoch) is outside {PLAUSIBLE}")
    return None


def _field(reason: str) -> str:
    """The field a quarantine reason of the exposition parser is about."""
    for prefix, field in (("value", "value"), ("expected a value", "value"), ("timestamp", "timestamp"),
                          ("invalid metric name", "metric")):
        if reason.startswith(prefix):
            return field
    return "labels"


def read_dcgm_text(path: str | Path, pool: str, scrape_ts: str | None = None) -> ImportResult:
    """`scrape_ts` (ISO 8601; without an offset, in this machine's zone) says when the page was scraped; the
    file's modification time otherwise. A scrape time outside 2000-01-01 .. now + 1 day refuses the file."""
    path = Path(path)
    try:
        when = parse_ts(scrape_ts if scrape_ts else path.stat().st_mtime, tz=dt.datetime.now().astimezone().tzinfo)
    except ValueError as exc:
        raise ValueError(f"{path}: scrape time {exc} (pass --scrape-ts)") from None
    rejected: list[dict] = []
    lines: list[str] = []
    label_sets: dict[str, Bad | None] = {}
    for number, text, bad in read_lines(path):
        bad = bad or _implausible(text, label_sets)
        if bad is not None:
            rejected.append(reject(path, number, bad, text))
            text = ""  # the parser skips it; the numbers of the lines after it stay
        lines.append(text)
    parsed = parse_exposition("\n".join(lines), scrape_ts=when, pool=pool, origin=str(path))
    for record in parsed.quarantine:
        record["field"] = _field(record["reason"])
    rejected = sorted(rejected + parsed.quarantine, key=lambda r: r["record"])
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": parsed.table},
                        rejected={"gpu_samples": rejected})
