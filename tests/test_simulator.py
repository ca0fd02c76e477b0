"""The simulated cluster: deterministic, physically consistent, calibrated on the real H200 lab run."""

from __future__ import annotations

import copy
import dataclasses

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pytest

from ingestion.simulator import telemetry
from ingestion.simulator.cluster import Placement
from ingestion.simulator.run import check_invariants, jobs_table, requests_table, simulate
from ingestion.simulator.scenario import load_scenario


@pytest.fixture(scope="module")
def tiny():
    return simulate(load_scenario("tiny"))


def _day_tables(sim, day):
    sc = sim.scenario
    return (jobs_table(sim, day), requests_table(sim, day),
            telemetry.day_samples(sc, sim.jobs, sim.gpu_modes, sim.telemetry, day))


def test_same_seed_gives_identical_output(tiny):
    again = simulate(load_scenario("tiny"))
    for day in tiny.scenario.dates():
        for first, second in zip(_day_tables(tiny, day), _day_tables(again, day), strict=True):
            assert first.equals(second), f"{day}: output differs between two runs with the same seed"


def test_another_seed_gives_other_output(tiny):
    other = simulate(dataclasses.replace(load_scenario("tiny"), seed=8))
    day = tiny.scenario.dates()[0]
    assert not requests_table(tiny, day).equals(requests_table(other, day))


def test_invariants_hold(tiny):
    assert check_invariants(tiny) == []


def test_invariant_check_catches_over_allocation_and_counter_going_back(tiny):
    broken = copy.copy(tiny)
    broken.jobs = list(tiny.jobs)
    job = next(j for j in broken.jobs if j.start is not None and j.placements[0].share == 1.0)
    intruder = copy.copy(job)
    intruder.placements = [Placement(job.placements[0].gpu, -1, 1.0, 80.0)]
    broken.jobs.append(intruder)
    broken.telemetry = copy.copy(tiny.telemetry)
    broken.telemetry.energy_mj = tiny.telemetry.energy_mj.copy()
    broken.telemetry.energy_mj[0, 100] = 0.0
    problems = check_invariants(broken)
    assert any("beyond 100%" in p for p in problems)
    assert any("energy counter" in p for p in problems)


def test_workloads_are_simulated_not_scaled(tiny):
    """Jobs of every kind run, fail, checkpoint, restart and get preempted; requests queue and time out."""
    kinds = {j.kind for j in tiny.jobs}
    assert kinds == {"training", "inference", "development", "evaluation"}
    events = {e for j in tiny.jobs for _, e, _ in j.events}
    assert {"submitted", "started", "checkpoint", "failed", "restarted", "finished"} <= events
    fractional = [j for j in tiny.jobs if j.start is not None and 0 < j.gpu_count < 1]
    assert fractional and all(j.mig_profile or j.mem_request_gb < 80 for j in fractional)
    assert {p.instance >= 0 for j in fractional for p in j.placements} == {True, False}  # MIG and vGPU


def test_mig_gpus_report_per_instance_like_dcgm_exporter(tiny):
    sc = tiny.scenario
    mig_day = sc.dates()[sc.stage_days]  # stage 1 partitions node 0 into MIG instances
    samples = telemetry.day_samples(sc, tiny.jobs, tiny.gpu_modes, tiny.telemetry, mig_day).to_pandas()
    mig = samples[samples.mig_profile.notna()]
    assert set(mig.mig_profile) == set(sc.mig_layout)
    assert "DCGM_FI_DEV_GPU_UTIL" not in set(mig.metric)
    power = mig[mig.metric == "DCGM_FI_DEV_POWER_USAGE"]
    assert (power.groupby(["gpu_uuid", "ts"]).value.nunique() == 1).all(), "device power differs per instance"
    whole = samples[samples.mig_profile.isna()]
    assert {"DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_PROF_GR_ENGINE_ACTIVE"} <= set(whole.metric)
    used = samples[samples.metric == "DCGM_FI_DEV_FB_USED"].value
    free = samples[samples.metric == "DCGM_FI_DEV_FB_FREE"].value
    assert (used >= 0).all() and (free >= 0).all()


def test_energy_counter_is_monotonic_across_days(tiny):
    sc = tiny.scenario
    frames = [telemetry.day_samples(sc, tiny.jobs, tiny.gpu_modes, tiny.telemetry, d) for d in sc.dates()]
    energy = pd.concat([
        f.filter(pc.equal(f["metric"], "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")).to_pandas() for f in frames
    ]).drop_duplicates(["gpu_uuid", "ts"]).sort_values(["gpu_uuid", "ts"])
    assert (energy.groupby("gpu_uuid").value.diff().dropna() >= 0).all()


def test_request_timestamps_are_ordered(tiny):
    rq = tiny.requests
    ok = np.asarray(rq.status) == "ok"
    assert ok.sum() > 1000
    assert (rq.arrival[ok] <= rq.scheduled[ok]).all()
    assert (rq.scheduled[ok] < rq.first_token[ok]).all()
    assert (rq.first_token[ok] <= rq.end[ok]).all()
    assert np.isnan(rq.first_token[~ok]).all(), "a request that was not served has no first token"
    assert (rq.output_tokens[~ok] == 0).all(), "nor output tokens"


def test_power_model_matches_the_h200_lab_measurements(shared):
    """The scenario's power model reproduces the real H200's phase means (idle, decode, training, stalls)."""
    samples = pd.read_csv(shared / "fixtures/h200_lab/nvml_samples.csv")
    power = load_scenario("demo").power
    phases = samples.groupby("phase").agg(
        power=("power_w", "mean"), sm=("gpm_sm_util_pct", "mean"), util=("gpu_util_pct", "mean"))
    for phase in ("idle", "decode_batch_128", "train_bf16", "stall_staged", "stall_slow_loader"):
        row = phases.loc[phase]
        predicted = power["idle_w"] + power["active_w"] * (row.util > 0.5) + power["sm_w"] * row.sm / 100
        assert predicted == pytest.approx(row.power, rel=0.12), phase


def test_interactive_work_arrives_in_local_working_hours(tiny):
    tz = tiny.scenario.timezone_offset_hours
    local_hours = np.array([((j.submit / 60) + tz) % 24 for j in tiny.jobs if j.kind == "development"])
    assert np.mean((local_hours >= 9) & (local_hours < 19)) > 0.7


def test_request_load_peaks_in_the_local_afternoon(tiny):
    tz = tiny.scenario.timezone_offset_hours
    local_hour = ((tiny.requests.arrival / 3600) + tz) % 24
    afternoon, night = np.sum((local_hour >= 13) & (local_hour < 17)), np.sum((local_hour >= 1) & (local_hour < 5))
    assert afternoon > 3 * night
