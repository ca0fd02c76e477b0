"""A long-running collector: poll a live source on a fixed schedule, buffer, land each flush as its own part.

`run_collector(poll, ...)` calls `poll()` every `interval_s` seconds (drift-free: each deadline is the
previous one plus the interval; ticks missed by a slow poll are skipped, not caught up) and lands what it
buffered every `flush_every_s` seconds and once more when it stops, so no polled sample is lost.

`poll()` returns `(gpu_samples table, quarantine records, health rows)`. Health rows are dicts with the
SCRAPE_HEALTH columns (`ts`, `target`, `ok`, `http_status`, `duration_s`, `samples`, `error`); the
collector fills in `pool` and `source`. A poll that raises is logged and recorded as one health row with
`ok=False` (target `error_target`); the collector keeps running.

Each run has its own id (`run_id`: its start time, UTC, and a random suffix, e.g. `20261205T080000Z-3fa2c1`;
logged when it starts), the landing identity of everything it writes (DESIGN.md, "Landing identity").
Each flush lands, per dataset and UTC day (rows spanning midnight are split), one part through
`landing.write_part`: `landing/<dataset>/date=YYYY-MM-DD/<source>-<pool>@<run>-<first>-<last>.parquet`, where
`<first>`/`<last>` are the first and last row time of that day as `HHMMSSffffff` (UTC, microseconds: two
flushes within one second still get distinct names). Earlier parts are never rewritten, and re-flushing
the same rows gives the same name, so it replaces rather than duplicates; two collectors of one pool
never write the same file. Quarantine records of a poll go to the gpu_samples part of the poll's day
(`quarantine/gpu_samples/date=.../<same stem>.jsonl`), with the poll's time as `poll_ts`.
A flush that fails (e.g. disk full) keeps the rows it could not land in the buffer for the next flush.

Secrets: every text a target or a user wrote (error pages, exception messages, quarantined lines) goes through
`redact` (the values passed as `secrets`, URL credentials, auth headers, Bearer/Basic tokens, secret-like pairs)
before it is logged or recorded; URLs with credentials are refused before a collector starts.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion import landing
from ingestion.contracts import GPU_SAMPLES, SCRAPE_HEALTH

log = logging.getLogger(__name__)

PollResult = tuple[pa.Table, list[dict], list[dict]]

_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
# What a server may echo back of a request or a config: the value of an auth header (to the end of its line or
# string), an auth scheme's credentials, and a secret-like key's value in `key=value`, `key: value` or JSON.
_HEADER_VALUE = re.compile(r"(?i)\b((?:proxy-)?authorization|cookie|set-cookie|x-api-key)([\"']?\s*[:=]\s*[\"']?)"
                           r"[^\r\n\"'<>]+")
_SCHEME_CREDENTIALS = re.compile(r"(?i)\b(bearer|basic)(\s+)(?!realm=)[A-Za-z0-9\-._~+/]+=*")
_SECRET_PAIR = re.compile(r"(?i)\b([\w-]*(?:password|passwd|secret|token|api[_-]?key|access[_-]?key)[\w-]*)"
                          r"([\"']?\s*[:=]\s*[\"']?)[^\s&,;\"'<>]+")


def redact(text: str, secrets: Sequence[str] = ()) -> str:
    """`text` without the `secrets` values, URL user:password@ parts, auth header values (`Authorization: ...`),
    Bearer/Basic credentials and the values of secret-like keys (`password=...`, `"access_token": "..."`).

    For anything a server or a user wrote that may reach a log, an exception, scrape_health or quarantine.
    """
    for value in secrets:
        if value:
            text = text.replace(value, "***")
    text = _URL_USERINFO.sub("***@", text)
    text = _HEADER_VALUE.sub(r"\1\2***", text)
    text = _SCHEME_CREDENTIALS.sub(r"\1\2***", text)
    return _SECRET_PAIR.sub(r"\1\2***", text)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def run_id(started: dt.datetime) -> str:
    """A collector run's id: `YYYYMMDDTHHMMSSZ-xxxxxx` (its start, UTC, and 6 random hex digits)."""
    return f"{started.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def part_name(first: dt.datetime, last: dt.datetime) -> str:
    """`HHMMSSffffff-HHMMSSffffff` (UTC) of a part's first and last row time."""
    return f"{first.astimezone(dt.UTC):%H%M%S%f}-{last.astimezone(dt.UTC):%H%M%S%f}"


@dataclass
class FlushReport:
    files: list[landing.LandedFile] = field(default_factory=list)
    rows: int = 0  # gpu_samples rows landed
    quarantined: int = 0  # gpu_samples records quarantined (parse rejects and contract breaks)
    health_rows: int = 0
    scrapes_ok: int = 0
    scrapes_failed: int = 0
    failed: bool = False  # some part could not be written; its rows stay buffered

    def line(self) -> str:
        return (f"flushed {self.rows} gpu_samples rows ({self.quarantined} quarantined), {self.health_rows} "
                f"scrape_health rows in {len(self.files)} file(s); scrapes {self.scrapes_ok} ok, "
                f"{self.scrapes_failed} failed" + ("; WRITE FAILED, rows kept for the next flush" if self.failed
                                                   else ""))


@dataclass
class CollectorStats:
    run: str = ""  # the run's id (its landing identity)
    polls: int = 0
    poll_errors: int = 0
    skipped_ticks: int = 0
    flushes: int = 0
    rows: int = 0
    quarantined: int = 0
    scrapes_ok: int = 0
    scrapes_failed: int = 0
    files: list[landing.LandedFile] = field(default_factory=list)


class PartBuffer:
    """Polled rows waiting to be landed; `flush()` writes one part per dataset and UTC day."""

    def __init__(self, *, source: str, pool: str, run: str, base: Path | None = None) -> None:
        self.source, self.pool, self.run, self.base = source, landing.check_name("pool", pool), run, base
        self._samples: list[pa.Table] = []
        self._quarantine: list[tuple[dt.datetime, dict]] = []  # (the poll's time: picks the day, record)
        self._health: list[dict] = []

    def __len__(self) -> int:
        return sum(t.num_rows for t in self._samples) + len(self._quarantine) + len(self._health)

    def add(self, poll_ts: dt.datetime, table: pa.Table | None, quarantine: Sequence[dict],
            health: Sequence[dict]) -> None:
        if table is not None and table.num_rows:
            table = landing.conform(GPU_SAMPLES, table).select(GPU_SAMPLES.schema.names)
            untimed = pc.is_null(table["ts"])
            if pc.any(untimed).as_py():  # no day to land on: quarantined with the poll's day
                for row in table.filter(untimed).to_pylist():
                    self._quarantine.append((poll_ts, {"reason": "field 'ts': required value is missing",
                                                       "row": row}))
                table = table.filter(pc.invert(untimed))
            self._samples.append(table)
        for record in quarantine:
            self._quarantine.append((poll_ts, record))
        for row in health:
            self._health.append({**row, "pool": self.pool, "source": self.source})

    def flush(self) -> FlushReport:
        report = FlushReport()
        samples = pa.concat_tables(self._samples) if self._samples else GPU_SAMPLES.schema.empty_table()
        quarantine, health = self._quarantine, self._health
        self._samples, self._quarantine, self._health = [], [], []
        report.scrapes_ok = sum(1 for h in health if h.get("ok"))
        report.scrapes_failed = len(health) - report.scrapes_ok

        # gpu_samples: rows and quarantine records, split by day
        q_days = [_day(ts) for ts, _ in quarantine]
        dates = pc.cast(samples["ts"], pa.date32())
        for day in sorted(set(pc.unique(dates).to_pylist()) | set(q_days)):
            rows = samples.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
            queued = [q for q, d in zip(quarantine, q_days, strict=True) if d == day]
            records = [{"poll_ts": ts.isoformat(), **record} for ts, record in queued]
            times = [t for t in rows["ts"].to_pylist() if t is not None] + [ts for ts, _ in queued]
            part = part_name(min(times), max(times))
            try:
                landed = landing.write_part(GPU_SAMPLES.name, day, rows, source=self.source, pool=self.pool,
                                            run=self.run, part=part, rejected=records, base=self.base)
            except Exception as exc:  # keep the rows for the next flush (whose part name will differ)
                log.error("landing gpu_samples for %s failed: %s", day, exc)
                report.failed = True
                with contextlib.suppress(Exception):  # its quarantine file may have been written already
                    landing.write_quarantine(GPU_SAMPLES.name, [], source=self.source, pool=self.pool,
                                             origin=self.source, day=day, base=self.base, input=self.run,
                                             part=part)
                self._samples.append(rows)
                self._quarantine.extend(queued)
                continue
            report.files.append(landed)
            report.rows += landed.rows
            report.quarantined += landed.quarantined

        # scrape_health, split by day
        by_day: dict[dt.date, list[dict]] = {}
        for row in health:
            by_day.setdefault(_day(row["ts"]), []).append(row)
        for day, rows in sorted(by_day.items()):
            table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in SCRAPE_HEALTH.schema} for r in rows],
                                         schema=SCRAPE_HEALTH.schema)
            times = [r["ts"] for r in rows]
            try:
                landed = landing.write_part(SCRAPE_HEALTH.name, day, table, source=self.source, pool=self.pool,
                                            run=self.run, part=part_name(min(times), max(times)), base=self.base)
            except Exception as exc:
                log.error("landing scrape_health for %s failed: %s", day, exc)
                report.failed = True
                self._health.extend(rows)
                continue
            report.files.append(landed)
            report.health_rows += landed.rows
        return report


def _day(ts: dt.datetime) -> dt.date:
    return ts.astimezone(dt.UTC).date()


def run_collector(
    poll: Callable[[], PollResult],
    *,
    source: str,
    pool: str,
    interval_s: float,
    flush_every_s: float,
    base: Path | None = None,
    stop_event: threading.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Any] | None = None,
    now: Callable[[], dt.datetime] = _utcnow,
    max_polls: int | None = None,
    error_target: str | None = None,
    secrets: Sequence[str] = (),
    progress: Callable[[str], Any] | None = None,
) -> CollectorStats:
    """Poll until `stop_event` is set (or `max_polls` polls), flushing every `flush_every_s` and at the end.

    `clock` is a monotonic clock for the schedule, `sleep(seconds)` waits (default: waiting on the stop
    event, so a stop wakes it), `now()` gives the UTC time recorded for a failed poll and the run's start
    (its id, `run_id`). `progress` receives one line per flush (default: the log, at INFO).
    """
    if interval_s <= 0 or flush_every_s <= 0:
        raise ValueError("interval_s and flush_every_s must be > 0")
    stop = stop_event or threading.Event()
    wait = sleep or stop.wait
    say = progress or log.info
    target = error_target or f"{source}://{pool}"
    stats = CollectorStats(run=run_id(now()))
    buffer = PartBuffer(source=source, pool=pool, run=stats.run, base=base)
    log.info("collector run %s: landing as %s-%s@%s-*", stats.run, source, pool, stats.run)

    def flush() -> FlushReport:
        report = buffer.flush()
        stats.flushes += 1
        stats.files.extend(report.files)
        stats.rows += report.rows
        stats.quarantined += report.quarantined
        stats.scrapes_ok += report.scrapes_ok
        stats.scrapes_failed += report.scrapes_failed
        say(report.line())
        return report

    next_poll = clock()
    next_flush = next_poll + flush_every_s
    try:
        while not stop.is_set():
            poll_ts, started = now(), clock()
            try:
                table, quarantine, health = poll()
                buffer.add(poll_ts, table, quarantine, [_clean_health(h, secrets) for h in health])
            except Exception as exc:
                error = redact(f"{type(exc).__name__}: {exc}", secrets)
                log.error("poll of %s failed: %s", redact(target, secrets), error)
                stats.poll_errors += 1
                buffer.add(poll_ts, None, [], [_clean_health({
                    "ts": poll_ts, "target": target, "ok": False, "http_status": None,
                    "duration_s": round(clock() - started, 6), "samples": 0, "error": error}, secrets)])
            stats.polls += 1
            if max_polls is not None and stats.polls >= max_polls:
                break
            current = clock()
            if current >= next_flush:
                flush()
                next_flush += flush_every_s * max(1, math.floor((current - next_flush) / flush_every_s) + 1)
            next_poll += interval_s
            current = clock()
            if current > next_poll:  # the poll overran: skip the ticks it missed
                missed = math.floor((current - next_poll) / interval_s) + 1
                next_poll += missed * interval_s
                stats.skipped_ticks += missed
                log.warning("poll took %.3fs, longer than the %.3fs interval: skipped %d tick(s)",
                            current - started, interval_s, missed)
            delay = next_poll - clock()
            if delay > 0 and not stop.is_set():
                wait(delay)
    finally:
        if len(buffer):
            report = flush()
            if report.failed:
                raise OSError(f"final flush could not land {len(buffer)} buffered rows (see the log)")
    return stats


def _clean_health(row: dict, secrets: Sequence[str]) -> dict:
    row = dict(row)
    for key in ("target", "error"):
        if isinstance(row.get(key), str):
            row[key] = redact(row[key], secrets)
    return row


@contextlib.contextmanager
def stop_on_signals(stop: threading.Event, signals: Sequence[int] = (signal.SIGTERM, signal.SIGINT)
                    ) -> Iterator[threading.Event]:
    """While inside, SIGTERM and SIGINT set `stop` (a second one raises KeyboardInterrupt); restored after.

    Only the main thread can install signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        log.info("%s received: stopping after the current poll and flushing", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
