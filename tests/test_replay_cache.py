"""The replay cache: a scenario's replay is computed once, read back equal, and never used when stale."""

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
