"""A long-running collector: poll live targets on a fixed schedule, buffer, land each flush as its own part.

`run_collector(polls, ...)` ticks every `interval_s` seconds (drift-free: each tick is the previous one plus
the interval) and, at each tick, starts every target's poll on its own daemon thread, so a slow or hanging
target costs only itself: a poll has a deadline (`scrape_deadline`: its timeout × attempts, capped below the
interval), and a target whose previous poll still runs when its tick comes misses that tick. Every tick of
every target leaves one scrape_health row: the poll's own, or `ok=False` with why there is none (deadline
exceeded, missed tick, the poll raised, the collector stopped). What was buffered lands every `flush_every_s`
seconds and once more when it stops (within `STOP_GRACE_S` plus the flush: polls still running are abandoned).

A poll returns `(gpu_samples table, quarantine records, health rows)`. Health rows are dicts with the
SCRAPE_HEALTH columns (`ts`, `target`, `ok`, `http_status`, `duration_s`, `samples`, `error`); the
collector fills in `pool` and `source`. A result that does not fit the contract costs that poll only; a
row without a usable time (none, or outside years 1-9999) is quarantined.

Each run has its own id (`run_id`: its start time, UTC, and a random suffix, e.g. `20261205T080000Z-3fa2c1`;
logged when it starts), the landing identity of everything it writes (DESIGN.md, "Landing identity").
Each flush lands, per dataset and UTC day (rows spanning midnight are split), one part through
`landing.write_part`: `landing/<dataset>/date=YYYY-MM-DD/<source>-<pool>@<run>-<first>-<last>.parquet`, where
`<first>`/`<last>` are the first and last row time of that day as `HHMMSSffffff` (UTC, microseconds: two
flushes within one second still get distinct names). Earlier parts are never rewritten, and re-flushing
the same rows gives the same name, so it replaces rather than duplicates; two collectors of one pool
never write the same file. Quarantine records of a poll go to the gpu_samples part of the poll's day
(`quarantine/gpu_samples/date=.../<same stem>.jsonl`), with the poll's time as `poll_ts`.
A flush that fails for a day's part (e.g. disk full) keeps that part's rows for the next flush; the others land.
Temporary files that a killed flush left (`landing.remove_stale_temporaries`) are removed when a collector starts
and after each flush.

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
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion import landing
from ingestion.contracts import GPU_SAMPLES, SCRAPE_HEALTH

log = logging.getLogger(__name__)

PollResult = tuple[pa.Table, list[dict], list[dict]]
Poll = Callable[[], PollResult]

DEADLINE_SHARE = 0.9  # of the interval: the longest a poll may take, so that it is over before its next tick
STOP_GRACE_S = 0.5  # on stop, how long polls in flight may still answer before they are abandoned
ANSWER_CHECK_S = 0.05  # while polls are in flight, how often the collector looks for their answers
MISSED_TICK = "missed tick: previous scrape still running"
_TS_TYPE = GPU_SAMPLES.schema.field("ts").type
_TS_MIN = pa.scalar(dt.datetime(1, 1, 1, tzinfo=dt.UTC), _TS_TYPE)  # the times a Python datetime can hold
_TS_MAX = pa.scalar(dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC), _TS_TYPE)

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
    ticks: int = 0
    polls: int = 0  # polls started (a target's tick whose previous poll still ran starts none)
    poll_errors: int = 0
    missed_ticks: int = 0  # (target, tick) pairs without a poll
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
        """Buffer one poll's rows; rows without a usable time (none, or outside years 1-9999) are quarantined with
        the poll's day. Raises (buffering nothing) when the table does not fit the gpu_samples contract."""
        if table is not None and table.num_rows:
            table = landing.conform(GPU_SAMPLES, table).select(GPU_SAMPLES.schema.names)
            untimed = pc.fill_null(pc.or_kleene(pc.less(table["ts"], _TS_MIN), pc.greater(table["ts"], _TS_MAX)),
                                   True)
            if pc.any(untimed).as_py():
                bad = table.filter(untimed)
                bad = bad.set_column(bad.schema.get_field_index("ts"), "ts", pc.cast(bad["ts"], pa.string()))
                for row in bad.to_pylist():
                    reason = "field 'ts': required value is missing" if row["ts"] is None else \
                        "field 'ts': outside years 1 to 9999"
                    self._quarantine.append((poll_ts, {"reason": reason, "row": row}))
                table = table.filter(pc.invert(untimed))
            self._samples.append(table)
        for record in quarantine:
            self._quarantine.append((poll_ts, record))
        for row in health:
            self._health.append({**row, "pool": self.pool, "source": self.source})

    def flush(self) -> FlushReport:
        """Land one part per dataset and day; a part that fails keeps its rows for the next flush, the rest land."""
        report = FlushReport()
        samples, quarantine, health = self._samples, self._quarantine, self._health
        self._samples, self._quarantine, self._health = [], [], []
        report.scrapes_ok = sum(1 for h in health if h.get("ok"))
        report.scrapes_failed = len(health) - report.scrapes_ok
        self._land_samples(samples, quarantine, report)
        self._land_health(health, report)
        return report

    def _land_samples(self, tables: list[pa.Table], quarantine: list[tuple[dt.datetime, dict]],
                      report: FlushReport) -> None:
        """gpu_samples rows and quarantine records, one part per day."""
        samples = pa.concat_tables(tables) if tables else GPU_SAMPLES.schema.empty_table()
        q_days = [_day(ts) for ts, _ in quarantine]
        dates = pc.cast(samples["ts"], pa.date32())
        for day in sorted(set(pc.unique(dates).to_pylist()) | set(q_days)):
            rows = samples.filter(pc.equal(dates, pa.scalar(day, pa.date32())))
            queued = [q for q, d in zip(quarantine, q_days, strict=True) if d == day]
            try:
                landed = self._land_samples_day(day, rows, queued)
            except Exception as exc:  # keep the rows for the next flush (whose part name will differ)
                log.error("landing gpu_samples for %s failed: %s", day, exc)
                report.failed = True
                self._samples.append(rows)
                self._quarantine.extend(queued)
                continue
            report.files.append(landed)
            report.rows += landed.rows
            report.quarantined += landed.quarantined

    def _land_samples_day(self, day: dt.date, rows: pa.Table, queued: list[tuple[dt.datetime, dict]]
                          ) -> landing.LandedFile:
        records = [{"poll_ts": ts.isoformat(), **record} for ts, record in queued]
        times = [t for t in rows["ts"].to_pylist() if t is not None] + [ts for ts, _ in queued]
        part = part_name(min(times), max(times))
        try:
            return landing.write_part(GPU_SAMPLES.name, day, rows, source=self.source, pool=self.pool,
                                      run=self.run, part=part, rejected=records, base=self.base)
        except Exception:
            with contextlib.suppress(Exception):  # its quarantine file may have been written already
                landing.write_quarantine(GPU_SAMPLES.name, [], source=self.source, pool=self.pool,
                                         origin=self.source, day=day, base=self.base, input=self.run, part=part)
            raise

    def _land_health(self, health: list[dict], report: FlushReport) -> None:
        """scrape_health rows, one part per day."""
        by_day: dict[dt.date, list[dict]] = {}
        for row in health:
            by_day.setdefault(_day(row["ts"]), []).append(row)
        for day, rows in sorted(by_day.items()):
            try:
                table = pa.Table.from_pylist([{f.name: r.get(f.name) for f in SCRAPE_HEALTH.schema} for r in rows],
                                             schema=SCRAPE_HEALTH.schema)
                times = [r["ts"] for r in rows]
                landed = landing.write_part(SCRAPE_HEALTH.name, day, table, source=self.source, pool=self.pool,
                                            run=self.run, part=part_name(min(times), max(times)), base=self.base)
            except Exception as exc:
                log.error("landing scrape_health for %s failed: %s", day, exc)
                report.failed = True
                self._health.extend(rows)
                continue
            report.files.append(landed)
            report.health_rows += landed.rows


def _day(ts: dt.datetime) -> dt.date:
    return ts.astimezone(dt.UTC).date()


def scrape_deadline(interval_s: float, wanted_s: float | None = None) -> float:
    """How long one poll of a target may take: `wanted_s` (its timeout × attempts), capped below the interval so
    that it is over before the target's next tick."""
    cap = DEADLINE_SHARE * interval_s
    return cap if wanted_s is None else min(wanted_s, cap)


def run_collector(
    poll: Poll | Mapping[str, Poll],
    *,
    source: str,
    pool: str,
    interval_s: float,
    flush_every_s: float,
    base: Path | None = None,
    stop_event: threading.Event | None = None,
    deadline_s: float | None = None,
    now: Callable[[], dt.datetime] = _utcnow,
    max_polls: int | None = None,
    error_target: str | None = None,
    secrets: Sequence[str] = (),
    progress: Callable[[str], Any] | None = None,
    max_workers: int = 64,
) -> CollectorStats:
    """Poll every target each tick until `stop_event` is set (or `max_polls` ticks have been answered), flushing
    every `flush_every_s` and at the end.

    `poll` is one poll (recorded as `error_target` when it fails) or `{target: poll}`. Each target's poll runs
    on its own daemon thread (at most `max_workers` at once) with `scrape_deadline(interval_s, deadline_s)` to
    answer; every tick of every target
    leaves a scrape_health row (its result, or why there is none). `now()` gives the UTC time of a tick and of
    the run's start (its id, `run_id`). `progress` receives one line per flush (default: the log, at INFO).
    On stop, polls in flight get `STOP_GRACE_S` to answer and are then abandoned (recorded as such).
    """
    if interval_s <= 0 or flush_every_s <= 0:
        raise ValueError("interval_s and flush_every_s must be > 0")
    stop = stop_event or threading.Event()
    say = progress or log.info
    polls = dict(poll) if isinstance(poll, Mapping) else {error_target or f"{source}://{pool}": poll}
    stats = CollectorStats(run=run_id(now()))
    buffer = PartBuffer(source=source, pool=pool, run=stats.run, base=base)
    ticks = _Ticks(polls, buffer, stats, deadline_s=scrape_deadline(interval_s, deadline_s), now=now,
                   secrets=secrets, max_workers=max_workers)
    log.info("collector run %s: landing as %s-%s@%s-*", stats.run, source, pool, stats.run)
    _remove_leftovers(source, pool, base)

    def flush() -> FlushReport:
        report = buffer.flush()
        stats.flushes += 1
        stats.files.extend(report.files)
        stats.rows += report.rows
        stats.quarantined += report.quarantined
        stats.scrapes_ok += report.scrapes_ok
        stats.scrapes_failed += report.scrapes_failed
        say(report.line())
        _remove_leftovers(source, pool, base)
        return report

    next_tick = time.monotonic()
    next_flush = next_tick + flush_every_s
    try:
        while not stop.is_set():
            current = time.monotonic()
            if current >= next_tick and (max_polls is None or stats.ticks < max_polls):
                ticks.tick()
                next_tick = _next_time(next_tick, interval_s, current, on_missed=ticks.missed_by_collector)
            ticks.harvest()
            if max_polls is not None and stats.ticks >= max_polls and ticks.answered():
                break
            if time.monotonic() >= next_flush:
                flush()
                next_flush = _next_time(next_flush, flush_every_s, time.monotonic())
            stop.wait(ticks.wait_s(min(next_tick, next_flush)))
    finally:
        ticks.finish()
        if len(buffer):
            report = flush()
            if report.failed:
                raise OSError(f"final flush could not land {len(buffer)} buffered rows (see the log)")
    return stats


def _next_time(scheduled: float, every_s: float, current: float,
               on_missed: Callable[[int], Any] | None = None) -> float:
    """The next time on a drift-free schedule after `scheduled`; times already past are skipped (`on_missed`
    gets how many)."""
    missed = max(0, math.floor((current - scheduled) / every_s))
    if missed and on_missed is not None:
        on_missed(missed)
    return scheduled + (missed + 1) * every_s


def _remove_leftovers(source: str, pool: str, base: Path | None) -> None:
    """Temporary files of this source and pool's earlier flushes that were killed mid-write."""
    removed = landing.remove_stale_temporaries(
        [(GPU_SAMPLES.name, "landing"), (SCRAPE_HEALTH.name, "landing"), (GPU_SAMPLES.name, "quarantine")],
        prefix=f"{source}-{pool}@", base=base)
    if removed:
        log.warning("removed %d temporary file(s) left by an interrupted flush", len(removed))


class _Scrape:
    """One poll of one target, on its own daemon thread: a hung one is abandoned, never waited for at exit."""

    def __init__(self, poll: Poll, tick_ts: dt.datetime, slots: threading.Semaphore) -> None:
        self.tick_ts, self.started = tick_ts, time.monotonic()
        self.done = threading.Event()
        self.outcome: PollResult | Exception | None = None
        self.reported = False  # a health row for its tick is buffered: a later answer is dropped
        threading.Thread(target=self._run, args=(poll, slots), daemon=True, name="collector-poll").start()

    def _run(self, poll: Poll, slots: threading.Semaphore) -> None:
        try:
            with slots:  # waiting for a slot counts against the deadline
                self.outcome = poll()
        except Exception as exc:
            self.outcome = exc
        finally:
            self.done.set()

    def elapsed(self) -> float:
        return round(time.monotonic() - self.started, 6)


class _Ticks:
    """The targets' polls in flight, and the scrape_health row each tick of each target leaves."""

    def __init__(self, polls: dict[str, Poll], buffer: PartBuffer, stats: CollectorStats, *, deadline_s: float,
                 now: Callable[[], dt.datetime], secrets: Sequence[str], max_workers: int) -> None:
        self.polls, self.buffer, self.stats = polls, buffer, stats
        self.deadline_s, self.now, self.secrets = deadline_s, now, secrets
        self.slots = threading.Semaphore(max(1, max_workers))  # polls running at once (one thread per target)
        self.running: dict[str, _Scrape] = {}

    def tick(self) -> None:
        """Start each target's poll, or record its tick as missed when its previous poll is still running."""
        ts = self.now()
        self.stats.ticks += 1
        for target, poll in self.polls.items():
            if target in self.running:
                self.stats.missed_ticks += 1
                self._failed(target, ts, MISSED_TICK, self.running[target].elapsed())
            else:
                self.running[target] = _Scrape(poll, ts, self.slots)
                self.stats.polls += 1

    def missed_by_collector(self, ticks: int) -> None:
        """Ticks the collector itself could not take (a flush outlasted the interval): missed for every target."""
        log.warning("the collector was busy for %d tick(s)", ticks)
        ts = self.now()
        for _ in range(ticks):
            self.stats.ticks += 1
            for target in self.polls:
                self.stats.missed_ticks += 1
                self._failed(target, ts, "missed tick: the collector was busy (flushing)", 0.0)

    def harvest(self, *, abandon: bool = False) -> None:
        """Buffer the answers that came; record the polls past their deadline (or all, with `abandon`)."""
        for target, scrape in list(self.running.items()):
            if scrape.done.is_set():
                del self.running[target]
                if not scrape.reported:
                    self._answered(target, scrape)
            elif not scrape.reported and (abandon or scrape.elapsed() > self.deadline_s):
                scrape.reported = True
                reason = ("abandoned: the collector stopped" if abandon
                          else f"deadline exceeded: no answer within {self.deadline_s:g}s")
                self._failed(target, scrape.tick_ts, reason, scrape.elapsed())

    def answered(self) -> bool:
        """Whether every poll started has an answer (or a row saying why not)."""
        return all(scrape.reported for scrape in self.running.values())

    def wait_s(self, until: float) -> float:
        """How long to wait: until `until`, or a short while when a poll may answer before then."""
        wait = until - time.monotonic()
        if not self.answered():
            wait = min(wait, ANSWER_CHECK_S)
        return max(0.0, wait)

    def finish(self) -> None:
        """Give the polls in flight `STOP_GRACE_S` to answer, then abandon the rest."""
        give_up = time.monotonic() + STOP_GRACE_S
        while not self.answered() and time.monotonic() < give_up:
            self.harvest()
            time.sleep(ANSWER_CHECK_S)
        self.harvest(abandon=True)

    def _answered(self, target: str, scrape: _Scrape) -> None:
        outcome = scrape.outcome
        if isinstance(outcome, Exception):
            self.stats.poll_errors += 1
            self._failed(target, scrape.tick_ts, f"{type(outcome).__name__}: {outcome}", scrape.elapsed())
            return
        table, quarantine, health = outcome
        try:
            self.buffer.add(scrape.tick_ts, table, quarantine, [_clean_health(h, self.secrets) for h in health])
        except Exception as exc:  # a result the contract cannot hold costs that poll only
            self.stats.poll_errors += 1
            self._failed(target, scrape.tick_ts, f"unusable result: {type(exc).__name__}: {exc}", scrape.elapsed())

    def _failed(self, target: str, ts: dt.datetime, error: str, duration_s: float) -> None:
        row = _clean_health({"ts": ts, "target": target, "ok": False, "http_status": None,
                             "duration_s": duration_s, "samples": 0, "error": error}, self.secrets)
        log.warning("poll of %s: %s", row["target"], row["error"])
        self.buffer.add(ts, None, [], [row])


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
        log.info("%s received: landing what is buffered and stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
