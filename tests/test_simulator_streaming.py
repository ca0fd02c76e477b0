"""The large scenario, and day-by-day generation: a day built alone reads exactly as in a run over all days."""

from __future__ import annotations

import datetime as dt

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from ingestion.simulator import telemetry
from ingestion.simulator.run import Simulation, land_day, simulate, stage_calendar_table
from ingestion.simulator.scenario import ScenarioError, load_scenario


@pytest.fixture(scope="module")
def tiny():
    return simulate(load_scenario("tiny"))


def test_large_scenario_is_1024_gpus_for_30_days():
    sc = load_scenario("large")
    assert (sc.pool, sc.nodes, sc.gpus_per_node, sc.gpu_count, sc.days) == ("large", 128, 8, 1024, 30)
    assert sc.stage_lengths == (1, 1, 1, 1, 1, 1, 24)  # every stage has data from day 7 on
    calendar = stage_calendar_table(sc).to_pylist()
    assert calendar[0]["start_ts"].date() == sc.start_date
    assert all(a["end_ts"] == b["start_ts"] for a, b in zip(calendar, calendar[1:], strict=False))
    assert calendar[-1]["end_ts"].date() == sc.start_date + dt.timedelta(days=30)
    assert sc.stage_at(6 * 1440 - 1).key == "resilience" and sc.stage_at(6 * 1440).key == "load_mgmt"
    tenant_nodes = sorted(n for t in sc.tenants for n in t.nodes)
    assert tenant_nodes == list(range(128))


def test_a_whole_gpu_reports_at_least_ten_dcgm_fields(tiny):
    day = tiny.scenario.dates()[0]
    samples = telemetry.day_samples(tiny.scenario, tiny.jobs, tiny.gpu_modes, tiny.day_telemetry(day), day)
    whole = samples.filter(pc.is_null(samples["mig_profile"]))
    assert len(pc.unique(whole["metric"])) >= 10


def test_stage_days_must_be_one_length_or_seven(tmp_path):
    text = (load_scenario("tiny").source_path.read_text().replace("stage_days: 1", "stage_days: [1, 2]"))
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match="stage_days"):
        load_scenario(path)


def test_uneven_stage_calendar_runs(tmp_path):
    text = load_scenario("tiny").source_path.read_text().replace("stage_days: 1", "stage_days: [1, 1, 1, 1, 1, 1, 2]")
    path = tmp_path / "uneven.yaml"
    path.write_text(text)
    sc = load_scenario(path)
    assert sc.days == 8 and sc.stage_start_days[-1] == 6
    sim = simulate(sc)
    assert len(sim.gpu_modes) == 7
    assert all(j.submit < sc.minutes for j in sim.jobs)


def test_day_n_alone_equals_day_n_of_a_run_over_days_1_to_n(tiny, tmp_path):
    sc = tiny.scenario
    days = sc.dates()
    in_order = Simulation(sc, tiny.jobs, tiny.gpu_modes, tiny.requests)
    for day in days[:5]:
        sequential = land_day(in_order, day, tmp_path / "in_order")
    alone = Simulation(sc, tiny.jobs, tiny.gpu_modes, tiny.requests)  # knows nothing of earlier days
    single = land_day(alone, days[4], tmp_path / "alone")
    fresh = land_day(simulate(load_scenario("tiny")), days[4], tmp_path / "fresh")
    for a, b, c in zip(sequential, single, fresh, strict=True):
        assert pq.read_table(a.path).equals(pq.read_table(b.path)), a.dataset
        assert pq.read_table(a.path).equals(pq.read_table(c.path)), a.dataset


def test_day_telemetry_matches_the_whole_scenario_arrays(tiny):
    sc = tiny.scenario
    day = sc.dates()[3]
    whole, one = tiny.telemetry, Simulation(sc, tiny.jobs, tiny.gpu_modes, tiny.requests).day_telemetry(day)
    cols = slice(3 * 1440, 4 * 1440)
    assert (whole.energy_mj[:, cols] == one.energy_mj).all()
    assert (whole.power_w[:, cols] == one.power_w).all()
    assert (whole.top_job[:, cols] == one.top_job).all()
