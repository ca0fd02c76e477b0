"""The replay cache: a scenario's replay is computed once, read back equal, and never used when stale."""

import datetime as dt
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ingestion.simulator import replay_cache
from ingestion.simulator.run import simulate
from ingestion.simulator.scenario import load_scenario

TINY = load_scenario("tiny").source_path


def test_a_replay_is_stored_once_and_read_back_equal(tmp_path, monkeypatch):
    first = replay_cache.load_or_simulate("tiny", tmp_path)
    stored = replay_cache.cache_file("tiny", tmp_path)
    assert stored.is_file() and not list(stored.parent.glob(".*.tmp"))

    def no_simulation(_):
        raise AssertionError("the cached replay was not used")

    monkeypatch.setattr(replay_cache, "simulate", no_simulation)
    again = replay_cache.load_or_simulate("tiny", tmp_path)
    assert [j.job_id for j in again.jobs] == [j.job_id for j in first.jobs]
    assert [j.status for j in again.jobs] == [j.status for j in first.jobs]
    assert np.array_equal(again.requests.end, first.requests.end, equal_nan=True)
    # the energy counter at every day's start is stored too: a late day needs no power replay
    days = first.scenario.days
    assert all(np.array_equal(again.energy_before(d), first.energy_before(d)) for d in range(days + 1))


def test_the_stored_replay_equals_a_fresh_simulation(tmp_path):
    cached = replay_cache.load_or_simulate("tiny", tmp_path)
    fresh = simulate(load_scenario("tiny"))
    last = fresh.scenario.days - 1
    assert np.array_equal(cached.day_telemetry(fresh.scenario.dates()[last]).energy_mj,
                          fresh.day_telemetry(fresh.scenario.dates()[last]).energy_mj)


def test_a_changed_scenario_file_gets_its_own_replay(tmp_path):
    edited = tmp_path / "tiny.yaml"
    edited.write_text(TINY.read_text())
    before = replay_cache.cache_file(str(edited), tmp_path)
    edited.write_text(TINY.read_text().replace("seed: ", "seed: 1", 1))
    assert replay_cache.cache_file(str(edited), tmp_path) != before


def test_an_unreadable_cache_is_replayed_and_replaced(tmp_path):
    stored = replay_cache.cache_file("tiny", tmp_path)
    stored.parent.mkdir(parents=True)
    stored.write_bytes(b"\x80\x05truncated")
    sim = replay_cache.load_or_simulate("tiny", tmp_path)
    assert sim.jobs and replay_cache.load_or_simulate("tiny", tmp_path).scenario == sim.scenario
    assert stored.stat().st_size > 100


def test_the_pool_tables_and_a_day_after_the_scenario_land_without_the_replay(tmp_path, monkeypatch):
    """A day outside the scenario loads no replay (seconds on a large scenario): it lands empty files."""
    import pyarrow.parquet as pq

    from ingestion import from_config
    from ingestion.config import Config
    from ingestion.simulator import run

    def no_replay(_):
        raise AssertionError("the replay was loaded")

    monkeypatch.setattr(run, "simulation_for", no_replay)
    scenario = load_scenario("tiny")
    after = scenario.dates()[-1] + dt.timedelta(days=1)
    config = Config(path=None, scenario="tiny", logs=())
    tables = from_config.land_pool_tables(config, tmp_path)
    days = from_config.land_days(config, [after], tmp_path, progress=lambda _: None)
    assert {f.dataset: f.rows for f in tables} == {"stage_calendar": 7, "gpu_inventory": scenario.gpu_count}
    simulated = [f for f in days if f.path.name == f"simulator-{scenario.pool}.parquet"]
    assert sorted(f.dataset for f in simulated) == sorted(run.DAY_DATASETS)
    assert all(f.day == after and f.rows == 0 and pq.read_metadata(f.path).num_rows == 0 for f in simulated)


def test_a_day_landed_again_unchanged_is_not_generated_again(tmp_path, monkeypatch):
    from ingestion.simulator import run, telemetry

    sim = replay_cache.load_or_simulate("tiny", tmp_path)
    day = sim.scenario.dates()[1]
    first = run.land_day(sim, day, tmp_path)
    times = {f.path: f.path.stat().st_mtime_ns for f in first}

    def no_generation(*_args, **_kwargs):
        raise AssertionError("the day was generated again")

    with monkeypatch.context() as patched:
        patched.setattr(telemetry, "day_samples", no_generation)
        again = run.land_day(sim, day, tmp_path)
    assert again == first and {f.path: f.path.stat().st_mtime_ns for f in again} == times

    altered = next(f.path for f in first if f.dataset == "jobs")
    altered.write_bytes(b"not parquet")  # something else touched the day: it is landed again, as it was
    restored = run.land_day(sim, day, tmp_path)
    assert [(f.dataset, f.rows) for f in restored] == [(f.dataset, f.rows) for f in first]
    assert altered.read_bytes()[:4] == b"PAR1"


def test_a_scheduled_run_with_nothing_new_loads_no_replay(tmp_path, monkeypatch):
    """A day this scenario and code already landed, untouched since, is landed from its record: the replay (5-6 s
    on the large scenario) is not loaded, and its files stay as they are."""
    from ingestion import from_config
    from ingestion.config import Config
    from ingestion.simulator import run

    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))  # the replay cache's folder
    config = Config(path=None, scenario="tiny", logs=())
    day = load_scenario("tiny").dates()[2]
    def simulated(files):
        return [f for f in files if f.path.name.startswith("simulator-")]

    first = simulated(from_config.land_days(config, [day], tmp_path, progress=lambda _: None))
    assert sorted(f.dataset for f in first) == sorted(run.DAY_DATASETS)
    times = {f.path: f.path.stat().st_mtime_ns for f in first}

    def no_replay(_):
        raise AssertionError("the replay was loaded")

    monkeypatch.setattr(run, "simulation_for", no_replay)
    again = simulated(from_config.land_days(config, [day], tmp_path, progress=lambda _: None))
    assert again == first and {f.path: f.path.stat().st_mtime_ns for f in again} == times


def test_a_replay_asked_for_while_another_runs_waits_for_it(tmp_path, monkeypatch):
    """`orchestration.launch` replays ahead while the run starts; the landing step, asking meanwhile, waits and reads
    that replay instead of replaying the scenario a second time."""
    replays = []

    def slow_simulate(scenario):
        replays.append(scenario)
        time.sleep(0.5)  # long enough for the second caller to arrive while the first replays
        return simulate(scenario)

    monkeypatch.setattr(replay_cache, "simulate", slow_simulate)
    with ThreadPoolExecutor(2) as pool:
        first, second = pool.map(lambda _: replay_cache.load_or_simulate("tiny", tmp_path), range(2))
    assert len(replays) == 1
    assert [j.job_id for j in first.jobs] == [j.job_id for j in second.jobs]


def test_days_landed_two_at_a_time_are_the_files_landed_one_at_a_time(tmp_path, monkeypatch):
    from ingestion import from_config
    from ingestion.config import Config

    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))  # one replay cache for both landings
    config = Config(path=None, scenario="tiny", logs=())
    days = load_scenario("tiny").dates()[:3]

    def land(base):
        reported = []
        files = from_config.land_days(config, days, base, progress=reported.append)
        return {f.path.relative_to(base): f.path.read_bytes() for f in files}, [line.split()[1] for line in reported]

    together, reported_together = land(tmp_path / "two-at-a-time")
    monkeypatch.setattr(from_config, "DAYS_AT_ONCE", 1)
    alone, reported_alone = land(tmp_path / "one-at-a-time")
    assert together == alone and len(together) >= 4 * len(days)
    assert reported_together == reported_alone == [day.isoformat() for day in days]
