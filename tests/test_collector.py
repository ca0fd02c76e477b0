"""The long-running collector: parts per flush, no duplicates, the tail flushed on stop, failures recorded."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import types
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion import collector, landing
from ingestion.cli import _duration, main
from ingestion.collector import PartBuffer, run_collector
from ingestion.contracts import GPU_SAMPLES
from ingestion.sources.dcgm_scrape import ScrapeConfig, Scraper
from tests.sources.test_dcgm_scrape import TOKEN, Server, closed_port, serving

REPO = Path(__file__).resolve().parents[1]
PART = re.compile(r"^dcgm-exporter-p@\d{8}T\d{6}Z-[0-9a-f]{6}-\d{12}-\d{12}\.parquet$")  # one run's parts
KEY = ("ts", "gpu_uuid", "gpu_instance_id", "metric", "pod")


@pytest.fixture
def server(shared: Path) -> Iterator[Server]:
    with serving(shared) as srv:
        yield srv


def _read(base: Path, dataset: str) -> pa.Table:
    files = sorted((base / "landing" / dataset).glob("*/*.parquet"))  # what the dbt sources read
    return pa.concat_tables([pq.read_table(f) for f in files]) if files else pa.table({})


def _wait_for(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.02)


def test_flushes_land_parts_without_duplicates_and_stop_flushes_the_tail(server: Server, tmp_path: Path) -> None:
    urls = [f"{server.base}/{n}/metrics" for n in ("h100", "a30", "error")]
    polls = Scraper(urls, pool="p", config=ScrapeConfig(timeout_s=1, retries=0)).polls()
    stop = threading.Event()
    out: dict = {}
    lines: list[str] = []
    thread = threading.Thread(target=lambda: out.update(stats=run_collector(
        polls, source="dcgm-exporter", pool="p", interval_s=0.1, flush_every_s=0.4, base=tmp_path,
        stop_event=stop, progress=lines.append)))
    thread.start()
    day_dirs = tmp_path / "landing" / "gpu_samples"
    _wait_for(lambda: len(list(day_dirs.glob("*/*.parquet"))) >= 2)
    polled = server.hits["/h100/metrics"]
    _wait_for(lambda: server.hits["/h100/metrics"] > polled)  # a poll after the last periodic flush
    stop.set()
    thread.join(10)
    assert not thread.is_alive()
    stats = out["stats"]

    parts = sorted(day_dirs.glob("*/*.parquet"))
    assert len(parts) == stats.flushes >= 3  # at least two periodic flushes and the final one
    assert all(PART.match(p.name) for p in parts), [p.name for p in parts]
    samples, health = _read(tmp_path, "gpu_samples"), _read(tmp_path, "scrape_health")
    assert samples.schema.names[: len(GPU_SAMPLES.schema)] == GPU_SAMPLES.schema.names

    # every tick of every target is on disk, once: the tail after the last periodic flush included
    rows = health.to_pylist()
    by_target = Counter(r["target"].split("/")[3] for r in rows)
    assert by_target == {n: stats.ticks for n in ("h100", "a30", "error")}
    answered = Counter(r["target"].split("/")[3] for r in rows if r["http_status"] is not None)
    assert answered == {n: server.hits[f"/{n}/metrics"] for n in ("h100", "a30", "error")}
    keys = Counter(zip(*(samples[c].to_pylist() for c in KEY), strict=True))
    assert max(keys.values()) == 1
    assert samples.num_rows == stats.rows == sum(health["samples"].to_pylist()) == (3 * answered["h100"]
                                                                                    + 4 * answered["a30"])
    assert len(set(samples["ts"].to_pylist())) == answered["h100"] + answered["a30"]  # one time per scrape

    # the target that is down costs only its own samples, and says so in scrape_health
    down = [r for r in rows if "/error/" in r["target"]]
    assert down and all((r["ok"], r["http_status"], r["samples"], r["error"]) == (False, 500, 0,
                                                                                  "HTTP 500: internal error")
                        for r in down if r["http_status"] is not None)
    assert all(r["pool"] == "p" and r["source"] == "dcgm-exporter" for r in rows)
    assert all(r["ok"] for r in rows if r not in down and r["http_status"] is not None)
    assert len(lines) == stats.flushes and "scrapes" in lines[-1] and "failed" in lines[-1]


def _samples(ts: dt.datetime, n: int = 2) -> pa.Table:
    rows = [{"ts": ts, "pool": "p", "hostname": "h", "gpu_index": i, "gpu_uuid": f"GPU-{i}", "model_name": "H100",
             "mig_profile": None, "gpu_instance_id": None, "namespace": None, "pod": None, "container": None,
             "metric": "DCGM_FI_DEV_GPU_UTIL", "value": 50.0, "source": "dcgm-exporter"} for i in range(n)]
    return pa.Table.from_pylist(rows, schema=GPU_SAMPLES.schema)


def _health(ts: dt.datetime, ok: bool = True, target: str = "http://x/metrics") -> dict:
    return {"ts": ts, "target": target, "ok": ok, "http_status": 200 if ok else 503,
            "duration_s": 0.01, "samples": 2 if ok else 0, "error": None if ok else "HTTP 503"}


def test_every_tick_of_every_target_leaves_one_health_row(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """A target whose poll hangs misses its ticks, one whose poll raises loses that poll: the others keep theirs."""
    calls: Counter[str] = Counter()
    release = threading.Event()

    def poll(name: str):
        def answer():
            calls[name] += 1
            if name == "stuck" and calls[name] == 2:
                release.wait(10)
            if name == "raising" and calls[name] == 3:
                raise ConnectionError("GET http://dcgm:s3cret@node-1:9400/metrics failed, token abc123")
            now = dt.datetime.now(dt.UTC)
            return _samples(now), [], [_health(now, target=f"http://{name}/metrics")]
        return answer

    started = time.monotonic()
    try:
        stats = run_collector({f"http://{n}/metrics": poll(n) for n in ("fine", "stuck", "raising")},
                              source="dcgm-exporter", pool="p", interval_s=0.1, flush_every_s=100.0, base=tmp_path,
                              max_polls=8, secrets=("abc123",))
    finally:
        release.set()
    assert 0.7 <= time.monotonic() - started < 3
    assert (stats.ticks, stats.polls, stats.missed_ticks, stats.poll_errors) == (8, 8 + 2 + 8, 6, 1)
    rows = sorted(_read(tmp_path, "scrape_health").to_pylist(), key=lambda r: r["ts"])
    errors = {n: [r["error"] for r in rows if r["target"] == f"http://{n}/metrics"] for n in calls}
    assert errors["fine"] == [None] * 8
    assert errors["stuck"] == [None, "deadline exceeded: no answer within 0.09s"] + [collector.MISSED_TICK] * 6
    assert errors["raising"] == [None, None, "ConnectionError: GET http://***@node-1:9400/metrics failed, token ***",
                                 None, None, None, None, None]
    assert "s3cret" not in caplog.text and "abc123" not in caplog.text and "ConnectionError" in caplog.text
    assert _read(tmp_path, "gpu_samples").num_rows == 2 * (8 + 1 + 7)


def test_healthy_targets_keep_their_schedule_beside_hanging_down_and_garbage_ones(server: Server,
                                                                                    tmp_path: Path) -> None:
    """Issue 17: one target that hangs (answers after 60 s), one that is down (a closed port), one that serves
    garbage among good lines: the healthy target is scraped at (nearly) every tick, every tick of every target
    has a scrape_health row, and the garbage costs only its own lines."""
    names = {"healthy": f"{server.base}/counting/metrics", "hanging": f"{server.base}/hang/metrics",
             "down": f"http://127.0.0.1:{closed_port()}/metrics", "garbage": f"{server.base}/mixed/metrics"}
    interval = 0.5
    deadline = collector.scrape_deadline(interval, 2.0)
    config = ScrapeConfig(timeout_s=1, retries=1, backoff_s=0.05, budget_s=0.9 * deadline)
    polls = Scraper(list(names.values()), pool="p", config=config).polls()
    stop = threading.Event()
    timer = threading.Timer(6.0, stop.set)
    timer.start()
    # one flush, at the stop: ticks that come while the collector flushes are missed for every target alike
    # (recorded as such), which is not what this test measures
    stats = run_collector(polls, source="dcgm-exporter", pool="p", interval_s=interval, flush_every_s=60.0,
                          base=tmp_path, stop_event=stop, deadline_s=2.0)
    timer.join()
    rows = _read(tmp_path, "scrape_health").to_pylist()
    by_name = {n: [r for r in rows if r["target"] == url] for n, url in names.items()}
    assert stats.ticks >= 10 and {n: len(r) for n, r in by_name.items()} == dict.fromkeys(names, stats.ticks)
    coverage = sum(r["ok"] for r in by_name["healthy"]) / stats.ticks
    print(f"healthy coverage {coverage:.1%} over {stats.ticks} ticks")
    assert coverage >= 0.9
    assert not any(r["ok"] for r in by_name["hanging"] + by_name["down"])
    assert all("ConnectionError" in r["error"] for r in by_name["down"])
    garbage_ok = [r for r in by_name["garbage"] if r["ok"]]
    assert len(garbage_ok) >= 0.9 * stats.ticks
    assert all((r["samples"], r["error"]) == (2, "3 lines quarantined") for r in garbage_ok)
    samples = _read(tmp_path, "gpu_samples")
    uuids = Counter(samples["gpu_uuid"].to_pylist())
    assert uuids["GPU-m0"] == uuids["GPU-m3"] == len(garbage_ok) and not uuids["GPU-m1"] and not uuids["GPU-m2"]
    quarantined = [json.loads(line) for f in (tmp_path / "quarantine").rglob("*.jsonl") for line in f.open()]
    assert len(quarantined) == 3 * len(garbage_ok)
    assert {q["origin"] for q in quarantined} == {names["garbage"]}


def test_a_flush_per_day_part_across_midnight_and_reflushing_replaces(tmp_path: Path) -> None:
    before = dt.datetime(2026, 10, 5, 23, 59, 59, 500000, tzinfo=dt.UTC)
    after = dt.datetime(2026, 10, 6, 0, 0, 0, 250000, tzinfo=dt.UTC)
    bad = {"record": 3, "reason": "unparseable line", "row": "garbage", "origin": "http://x/metrics"}

    def fill(buffer: PartBuffer) -> None:
        buffer.add(before, _samples(before), [bad], [_health(before)])
        buffer.add(after, pa.concat_tables([_samples(after), _samples(after + dt.timedelta(seconds=1))]), [],
                   [_health(after), _health(after + dt.timedelta(seconds=1), ok=False)])

    buffer = PartBuffer(source="dcgm-exporter", pool="p", run="r1", base=tmp_path)
    fill(buffer)
    report = buffer.flush()
    assert (report.rows, report.quarantined, report.health_rows) == (6, 1, 3)
    assert (report.scrapes_ok, report.scrapes_failed) == (2, 1)
    names = sorted(str(f.path.relative_to(tmp_path)) for f in report.files)
    assert names == [
        "landing/gpu_samples/date=2026-10-05/dcgm-exporter-p@r1-235959500000-235959500000.parquet",
        "landing/gpu_samples/date=2026-10-06/dcgm-exporter-p@r1-000000250000-000001250000.parquet",
        "landing/scrape_health/date=2026-10-05/dcgm-exporter-p@r1-235959500000-235959500000.parquet",
        "landing/scrape_health/date=2026-10-06/dcgm-exporter-p@r1-000000250000-000001250000.parquet",
    ]
    quarantine = tmp_path / "quarantine/gpu_samples/date=2026-10-05/dcgm-exporter-p@r1-235959500000-235959500000.jsonl"
    [record] = [json.loads(line) for line in quarantine.open()]
    assert (record["record"], record["origin"]) == (3, "http://x/metrics")
    assert record["poll_ts"] == "2026-10-05T23:59:59.500000+00:00"
    assert len(buffer) == 0 and buffer.flush().files == []

    fill(buffer)  # the same rows again (e.g. a restarted flush): same names, replaced, not duplicated
    buffer.flush()
    assert _read(tmp_path, "gpu_samples").num_rows == 6
    assert _read(tmp_path, "scrape_health").num_rows == 3


def test_a_failed_write_keeps_the_rows_for_the_next_flush_without_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    t0 = dt.datetime(2026, 10, 5, 8, tzinfo=dt.UTC)
    buffer = PartBuffer(source="dcgm-exporter", pool="p", run="r1", base=tmp_path)
    buffer.add(t0, _samples(t0), [{"record": 1, "reason": "bad line", "row": "x"}], [_health(t0)])
    real = landing.pq.ParquetWriter.write_table
    calls = []

    def disk_full_once(writer, table, *args, **kwargs):  # the first parquet write (gpu_samples) fails
        calls.append(writer)
        if len(calls) == 1:
            raise OSError("disk full")
        return real(writer, table, *args, **kwargs)

    monkeypatch.setattr(landing.pq.ParquetWriter, "write_table", disk_full_once)
    first = buffer.flush()
    assert first.failed and first.health_rows == 1 and first.rows == 0
    assert not list((tmp_path / "quarantine").rglob("*.jsonl"))  # the failed part left no orphan
    t1 = t0 + dt.timedelta(seconds=15)
    buffer.add(t1, _samples(t1), [], [_health(t1)])
    second = buffer.flush()
    assert not second.failed and (second.rows, second.quarantined) == (4, 1)
    assert _read(tmp_path, "gpu_samples").num_rows == 4
    assert _read(tmp_path, "scrape_health").num_rows == 2
    [quarantine] = (tmp_path / "quarantine").rglob("*.jsonl")
    assert len(quarantine.read_text().splitlines()) == 1


def test_a_flush_lands_every_part_it_can_and_keeps_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17: a row past year 9999 (which no Python datetime holds) killed the first flush and lost every
    target's rows; now it is quarantined, and a day whose part cannot be written waits for the next flush."""
    t0, t1 = dt.datetime(2026, 10, 5, 8, tzinfo=dt.UTC), dt.datetime(2026, 10, 6, 8, tzinfo=dt.UTC)
    poison = _samples(t0)
    ts = pa.array([253402300800000000, int(t0.timestamp() * 1e6)], pa.int64()).cast(poison.schema.field("ts").type)
    poison = poison.set_column(poison.schema.get_field_index("ts"), "ts", ts)
    buffer = PartBuffer(source="dcgm-exporter", pool="p", run="r1", base=tmp_path)
    buffer.add(t0, poison, [], [_health(t0)])
    buffer.add(t1, _samples(t1), [], [_health(t1)])
    real, disk_full = landing.write_part, [True]

    def write_part(dataset: str, day: dt.date, *args, **kwargs):
        if dataset == GPU_SAMPLES.name and day == t0.date() and disk_full[0]:
            raise OSError("disk full")
        return real(dataset, day, *args, **kwargs)

    monkeypatch.setattr(landing, "write_part", write_part)
    first = buffer.flush()
    assert first.failed and (first.rows, first.health_rows) == (2, 2)  # day t1's samples and both days' health
    assert len(buffer) == 2  # day t0: its good row and the quarantined one
    disk_full[0] = False
    second = buffer.flush()
    assert not second.failed and (second.rows, second.quarantined) == (1, 1) and len(buffer) == 0
    assert sorted(_read(tmp_path, "gpu_samples")["ts"].to_pylist()) == [t0, t1, t1]
    [record] = [json.loads(line) for f in (tmp_path / "quarantine").rglob("*.jsonl") for line in f.open()]
    assert record["reason"] == "field 'ts': outside years 1 to 9999" and record["row"]["ts"].startswith("10000-")


def test_leftover_temporary_files_of_this_collector_are_removed_at_start(tmp_path: Path) -> None:
    landed = tmp_path / "landing/gpu_samples/date=2026-10-05"
    health = tmp_path / "landing/scrape_health/date=2026-10-05"
    quarantined = tmp_path / "quarantine/gpu_samples/date=2026-10-05"
    stem = "dcgm-exporter-p@20261005T080000Z-abcdef-080000000000-080100000000"
    leftovers = [landed / f".{stem}.parquet.k1x2.tmp", health / f".{stem}.parquet.a9b8.tmp",
                 quarantined / f".{stem}.jsonl.q7r6.tmp"]
    kept = [landed / f"{stem}.parquet",  # a landed part
            landed / ".dcgm-exporter-other@20261005T080000Z-abcdef-0-1.parquet.z1.tmp",  # another pool's
            landed / f".{stem}.parquet.fresh.tmp"]  # young: a flush that may still be writing it
    old = time.time() - 3600
    for f in leftovers + kept:
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_bytes(b"partial")
        if f is not kept[-1]:
            os.utime(f, (old, old))
    run_collector(lambda: (pa.table({}), [], []), source="dcgm-exporter", pool="p", interval_s=1, flush_every_s=60,
                  base=tmp_path, max_polls=1)
    assert [f for f in leftovers if f.exists()] == [] and all(f.exists() for f in kept)


def test_a_landed_file_and_its_directory_are_fsynced_around_the_rename(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    events: list[tuple[str, str]] = []
    fsync, replace = os.fsync, os.replace

    def record_fsync(fd: int) -> None:
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        fsync(fd)

    def record_replace(src: str, dst: str) -> None:
        events.append(("replace", str(dst)))
        replace(src, dst)

    monkeypatch.setattr(landing.os, "fsync", record_fsync)
    monkeypatch.setattr(landing.os, "replace", record_replace)
    t0 = dt.datetime(2026, 10, 5, 8, tzinfo=dt.UTC)
    part = landing.write_part(GPU_SAMPLES.name, t0.date(), _samples(t0), source="dcgm-exporter", pool="p", run="r1",
                              part="x", base=tmp_path).path
    [(_, tmp), replaced, synced_dir] = events
    assert Path(tmp).parent == part.parent and Path(tmp).name.startswith(f".{part.name}.") and tmp.endswith(".tmp")
    assert replaced == ("replace", str(part)) and synced_dir == ("fsync", str(part.parent))


def test_sigterm_stops_the_cli_collector_within_2s_beside_a_hanging_target_and_lands_the_buffer(
    server: Server, tmp_path: Path
) -> None:
    """Issue 17: Docker kills 10 s after SIGTERM; the collector lands what it buffered and exits within 2 s, even
    while a target hangs (its scrape is abandoned, and recorded as such)."""
    env = {**os.environ, "DCGM_TOKEN": TOKEN, "PYTHONUNBUFFERED": "1"}
    targets = {n: f"{server.base}/{n}/metrics" for n in ("bearer", "missing", "hang")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ingestion.cli", "collect", "dcgm",
         *(arg for url in targets.values() for arg in ("--target", url)),
         "--pool", "p", "--interval", "0.2s", "--timeout", "5s", "--flush-every", "10m",
         "--bearer-token-env", "DCGM_TOKEN", "--data-dir", str(tmp_path)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: server.hits["/bearer/metrics"] >= 5 or proc.poll() is not None, timeout=20)
        assert proc.poll() is None
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        stdout, stderr = proc.communicate(timeout=20)
        took = time.monotonic() - signalled
    finally:
        if proc.poll() is None:
            proc.kill()
    print(f"SIGTERM to exit: {took:.2f}s")
    assert proc.returncode == 0, stderr
    assert took < 2.0
    [ticks] = [int(n) for n in re.findall(r"stopped after (\d+) tick", stdout)]
    samples, health = _read(tmp_path, "gpu_samples"), _read(tmp_path, "scrape_health")
    rows = {n: [r for r in health.to_pylist() if r["target"] == url] for n, url in targets.items()}
    assert {n: len(r) for n, r in rows.items()} == dict.fromkeys(targets, ticks)  # every tick, the last included
    ok = [r for r in rows["bearer"] if r["ok"]]
    assert samples.num_rows == len(ok) >= server.hits["/bearer/metrics"] - 1  # one sample per page, none doubled
    assert samples["metric"].unique().to_pylist() == ["DCGM_FI_DEV_XID_ERRORS_ACTIVE"]
    assert not any(r["ok"] for r in rows["hang"] + rows["missing"])
    assert "flushed" in stdout and "stopped after" in stdout
    assert TOKEN not in stdout + stderr


def test_collect_dcgm_takes_its_targets_from_the_config(server: Server, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    config = tmp_path / "gpu-eff.yaml"
    config.write_text(f"""
sources:
  simulator: {{scenario: tiny}}
  dcgm_exporter:
    targets: ["{server.base}/basic/metrics"]
    interval_s: 0.1
    retries: 0
    basic_auth_user: dcgm
    basic_auth_password_env: DCGM_PASSWORD
""")
    monkeypatch.setenv("GPU_EFF_CONFIG", str(config))
    monkeypatch.setenv("DCGM_PASSWORD", "s3cret-password")
    assert main(["collect", "dcgm", "--pool", "p", "--once", "--data-dir", str(tmp_path / "d")]) == 0
    assert _read(tmp_path / "d", "gpu_samples").num_rows == 1
    out = capsys.readouterr()
    assert "s3cret-password" not in out.out + out.err
    monkeypatch.delenv("GPU_EFF_CONFIG")
    assert main(["collect", "dcgm", "--pool", "p", "--once", "--data-dir", str(tmp_path / "d")]) == 2
    assert "--target" in capsys.readouterr().err


def test_collect_dcgm_once_fails_when_nothing_answered(server: Server, tmp_path: Path) -> None:
    assert main(["collect", "dcgm", "--target", f"{server.base}/missing/metrics", "--pool", "p", "--once",
                 "--data-dir", str(tmp_path)]) == 1
    [row] = _read(tmp_path, "scrape_health").to_pylist()
    assert (row["ok"], row["http_status"]) == (False, 404)


def test_collect_nvml_with_a_stand_in_sampler(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    made: list[str] = []

    class Sampler:
        def __init__(self, pool: str) -> None:
            made.append(pool)

        def poll(self) -> pa.Table:
            return _samples(dt.datetime.now(dt.UTC)).drop_columns(["source"]).append_column(
                "source", pa.array(["nvml"] * 2))

    monkeypatch.setitem(sys.modules, "ingestion.sources.nvml", types.SimpleNamespace(NvmlSampler=Sampler))
    assert main(["collect", "nvml", "--pool", "lab", "--once", "--data-dir", str(tmp_path)]) == 0
    assert made == ["lab"]
    [part] = (tmp_path / "landing/gpu_samples").glob("*/nvml-lab@*.parquet")
    assert pq.read_table(part).num_rows == 2
    [row] = _read(tmp_path, "scrape_health").to_pylist()
    assert row["target"].startswith("nvml://") and (row["ok"], row["samples"], row["source"]) == (True, 2, "nvml")

    class Unavailable:
        def __init__(self, pool: str) -> None:
            raise RuntimeError("NVML is not available: libnvidia-ml.so.1 not found")

    monkeypatch.setitem(sys.modules, "ingestion.sources.nvml", types.SimpleNamespace(NvmlSampler=Unavailable))
    capsys.readouterr()
    assert main(["collect", "nvml", "--pool", "lab", "--once", "--data-dir", str(tmp_path)]) == 2
    assert "libnvidia-ml.so.1 not found" in capsys.readouterr().err


def test_durations() -> None:
    assert [_duration(t) for t in ("15s", "5m", "1h", "0.1s", "30", "250ms")] == [15, 300, 3600, 0.1, 30, 0.25]
    for bad in ("0s", "-1", "soon", "5d"):
        with pytest.raises(Exception, match="duration"):
            _duration(bad)


def test_redact() -> None:
    assert collector.redact("https://u:p@h/m x=tok", ["tok"]) == "https://***@h/m x=***"


def test_a_target_echoing_the_token_leaves_it_nowhere(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     capsys, caplog: pytest.LogCaptureFixture) -> None:
    """Issue 17: a target (an auth proxy's debug page) reflects the Authorization header, once with 200 (its lines
    go to quarantine) and once in a 401 error page (the health record's error): after a collect, the token is in
    no log line, no output, no quarantine file, no scrape_health row, no landed file."""
    caplog.set_level("DEBUG")
    monkeypatch.setenv("DCGM_TOKEN", TOKEN)
    data = tmp_path / "data"
    assert main(["collect", "dcgm", "--target", f"{server.base}/reflect/metrics", "--target",
                 f"{server.base}/reflect401/metrics", "--target", f"{server.base}/bearer/metrics", "--retries", "0",
                 "--bearer-token-env", "DCGM_TOKEN", "--pool", "p", "--once", "--data-dir", str(data)]) == 0
    assert server.hits["/reflect/metrics"] == server.hits["/reflect401/metrics"] == 1
    health = {row["target"].split("/")[3]: row for row in _read(data, "scrape_health").to_pylist()}
    assert "Authorization: ***" in health["reflect401"]["error"]
    [quarantine] = (data / "quarantine" / "gpu_samples").glob("*/*.jsonl")
    assert "Authorization: ***" in quarantine.read_text()
    files = [f for f in data.rglob("*") if f.is_file()]
    assert {f.suffix for f in files} >= {".parquet", ".jsonl"}
    for f in files:
        assert TOKEN.encode() not in f.read_bytes(), f
        if f.suffix == ".parquet":
            assert TOKEN not in repr(pq.read_table(f).to_pylist()), f
    out = capsys.readouterr()
    assert TOKEN not in out.out + out.err + caplog.text


@pytest.mark.parametrize("flags", [["--target", "http://dcgm:hunter2@127.0.0.1:9/metrics"],
                                   ["--target", "http://127.0.0.1:9/metrics?password=hunter2"],
                                   ["--target", "http://127.0.0.1:9/metrics", "--bearer-token-env", "hunter2-abc"]])
def test_collect_dcgm_refuses_credentials_on_the_command_line(flags: list[str], tmp_path: Path, capsys) -> None:
    assert main(["collect", "dcgm", *flags, "--pool", "p", "--once", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("gpu-eff collect dcgm: ") and err.count("\n") == 1 and "hunter2" not in err
    assert not (tmp_path / "landing").exists()


def test_collect_dcgm_refuses_credentials_in_the_configured_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    capsys) -> None:
    config = tmp_path / "gpu-eff.yaml"
    config.write_text("sources:\n  simulator: {scenario: tiny}\n  dcgm_exporter:\n"
                      "    targets: [\"http://dcgm:hunter2@127.0.0.1:9/metrics\"]\n")
    monkeypatch.setenv("GPU_EFF_CONFIG", str(config))
    assert main(["collect", "dcgm", "--pool", "p", "--once", "--data-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'sources.dcgm_exporter.targets[0]' has credentials" in err and "hunter2" not in err


def test_redact_takes_out_echoed_credentials_and_keeps_the_rest() -> None:
    cases = {
        "HTTP 403: Authorization: Bearer sekret-XY\nHost: h": "HTTP 403: Authorization: ***\nHost: h",
        '{"authorization": "Basic dTpw", "status": 1}': '{"authorization": "***", "status": 1}',
        "denied for Bearer sekret-XY at /metrics": "denied for Bearer *** at /metrics",
        "GET /login?user=u&password=hunter2&next=/": "GET /login?user=u&password=***&next=/",
        '"access_token": "sekret-XY", "db_secret": x1': '"access_token": "***", "db_secret": ***',
        'WWW-Authenticate: Basic realm="dcgm"': 'WWW-Authenticate: Basic realm="dcgm"',
        "token expired; HTTP 500": "token expired; HTTP 500",
    }
    for text, want in cases.items():
        assert collector.redact(text) == want, text
    assert collector.redact("echo: sekret-XY", ["sekret-XY"]) == "echo: ***"
