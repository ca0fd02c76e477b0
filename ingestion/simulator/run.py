"""Run a scenario once and land its days: the simulated cluster as a landing source."""

from __future__ import annotations

import datetime as dt
import functools
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion import landing
from ingestion.simulator import telemetry
from ingestion.simulator.scenario import Scenario
from ingestion.simulator.scheduler import schedule
from ingestion.simulator.serving import Requests, serve
from ingestion.simulator.workload import Job

SOURCE = "simulator"


@dataclass
class Simulation:
    """What ran (jobs, events, requests: the whole scenario, small) and the telemetry derived from it,
    built one day at a time so that memory is bounded by one day whatever the scenario's length."""

    scenario: Scenario
    jobs: list[Job]
    gpu_modes: list[list[str]]
    requests: Requests
    _energy_before: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def telemetry(self) -> telemetry.Telemetry:
        """The whole scenario's readings at once (GPUs x minutes arrays: for small scenarios and checks)."""
        return telemetry.build(self.scenario, self.jobs, self.gpu_modes)

    def day_telemetry(self, day: dt.date) -> telemetry.Telemetry:
        """One day's readings. The energy counter needs the energy burnt on every earlier day: it is carried
        from the day before when days are landed in order, else replayed from the last known day with the
        power readings only."""
        d = (day - self.scenario.start_date).days
        tel = telemetry.build(self.scenario, self.jobs, self.gpu_modes, d * 1440, (d + 1) * 1440,
                              self.energy_before(d))
        self._energy_before[d + 1] = tel.energy_after
        return tel

    def energy_before(self, d: int) -> np.ndarray:
        """Each GPU's energy counter at the start of day `d` (from 0), in mJ (GPUs x 1)."""
        sc, before = self.scenario, self._energy_before
        before.setdefault(0, np.zeros((sc.gpu_count, 1)))
        known = max(k for k in before if k <= d)
        for k in range(known, d):
            before[k + 1] = telemetry.power_sums(sc, self.jobs, k * 1440, (k + 1) * 1440, before[k])
        return before[d]

    def ts(self, minutes: float) -> dt.datetime:
        return self.scenario.start + dt.timedelta(minutes=minutes)

    @property
    def hostnames(self) -> list[str]:
        return hostnames(self.scenario)

    def gpu_uuid(self, index: int) -> str:
        return gpu_uuid(self.scenario, index)


def hostnames(sc: Scenario) -> list[str]:
    return [f"{sc.hostname_prefix}-{n:02d}" for n in range(sc.nodes)]


def gpu_uuid(sc: Scenario, index: int) -> str:
    per_node = sc.gpus_per_node
    return telemetry.gpu_uuid(sc.pool, hostnames(sc)[index // per_node], index % per_node)


def simulate(scenario: Scenario) -> Simulation:
    result = schedule(scenario)
    requests = serve(scenario, result.jobs)
    return Simulation(scenario, result.jobs, result.gpu_modes, requests)


_SIMULATION_LOCK = threading.Lock()


def simulation_for(scenario_ref: str) -> Simulation:
    """One simulation per scenario per process, replayed once per scenario file and simulator version and
    then read from the replay cache (under the data directory): every day landed from it is consistent. Threads
    that ask at once (days landing two at a time) share the one the first loads."""
    with _SIMULATION_LOCK:
        return _simulation_for(scenario_ref)


@functools.lru_cache(maxsize=2)
def _simulation_for(scenario_ref: str) -> Simulation:
    from ingestion.simulator import replay_cache

    return replay_cache.load_or_simulate(scenario_ref)


# -- landing tables -------------------------------------------------------------------------------
def _utc(seconds_since_start: np.ndarray, sc: Scenario) -> pa.Array:
    base = np.datetime64(sc.start.replace(tzinfo=None), "us")
    nan = np.isnan(seconds_since_start)
    micros = np.where(nan, 0, np.round(seconds_since_start * 1e6)).astype("int64")
    return pa.array(base + micros.astype("timedelta64[us]"), pa.timestamp("us"), mask=nan).cast(
        pa.timestamp("us", tz="UTC"))


def jobs_table(sim: Simulation, day: dt.date) -> pa.Table:
    sc = sim.scenario
    lo = (day - sc.start_date).days * 1440
    rows = [j for j in sim.jobs if lo <= j.submit < lo + 1440]
    rows.sort(key=lambda j: (j.submit, j.job_id))

    def when(minute: int | None) -> dt.datetime | None:
        return None if minute is None else sim.ts(minute)

    return pa.table({
        "job_id": [j.job_id for j in rows],
        "pool": [sc.pool] * len(rows),
        "tenant": [j.tenant for j in rows],
        "queue": [j.queue for j in rows],
        "workload_type": [j.kind for j in rows],
        "gpu_model": [sc.gpu_model] * len(rows),
        "gpu_count": [round(j.gpu_count, 6) if j.start is not None else float(j.gpus) for j in rows],
        "gpu_mem_request_gb": [j.mem_request_gb if j.start is not None else None for j in rows],
        "mig_profile": [j.mig_profile for j in rows],
        "hostname": [
            ",".join(sorted({sim.hostnames[p.gpu // sc.gpus_per_node] for p in j.placements})) or None
            for j in rows
        ],
        "gpu_uuids": [[sim.gpu_uuid(p.gpu) for p in j.placements] for j in rows],
        "submit_ts": [when(j.submit) for j in rows],
        "start_ts": [when(j.start) for j in rows],
        "end_ts": [when(j.end) for j in rows],
        "status": [j.status for j in rows],
        "failure_reason": [j.failure_reason for j in rows],
        "restarts": [j.restarts for j in rows],
        "tokens_processed": [round(j.tokens) for j in rows],
        "data_wait_s": [round(j.data_wait_s, 1) for j in rows],
    })


def job_events_table(sim: Simulation, day: dt.date) -> pa.Table:
    lo = (day - sim.scenario.start_date).days * 1440
    events = sorted(
        (minute, job.job_id, event, detail)
        for job in sim.jobs
        for minute, event, detail in job.events
        if lo <= minute < lo + 1440
    )
    return pa.table({
        "job_id": [e[1] for e in events],
        "ts": [sim.ts(e[0]) for e in events],
        "event": [e[2] for e in events],
        "detail": [e[3] for e in events],
    })


def requests_table(sim: Simulation, day: dt.date) -> pa.Table:
    sc, rq = sim.scenario, sim.requests
    lo = (day - sc.start_date).days * 86400.0
    idx = np.nonzero((rq.arrival >= lo) & (rq.arrival < lo + 86400.0))[0]
    rows = pa.array(idx)
    replica = rq.replica.take(rows)
    gpu = rq.gpu_uuid_of[idx]
    uuids = pa.array([sim.gpu_uuid(g) for g in range(sc.gpu_count)], pa.string())
    return pa.table({
        "request_id": rq.request_id.take(rows),
        "pool": [sc.pool] * idx.size,
        "service": rq.service.take(rows),
        "replica": pc.if_else(pc.equal(replica, ""), pa.scalar(None, pa.string()), replica),
        "gpu_uuid": uuids.take(pa.array(np.maximum(gpu, 0), mask=gpu < 0)),
        "arrival_ts": _utc(rq.arrival[idx], sc),
        "scheduled_ts": _utc(rq.scheduled[idx], sc),
        "first_token_ts": _utc(rq.first_token[idx], sc),
        "end_ts": _utc(rq.end[idx], sc),
        "prompt_tokens": rq.prompt_tokens[idx].astype(np.int32),
        "cached_prompt_tokens": rq.cached_prompt_tokens[idx].astype(np.int32),
        "output_tokens": rq.output_tokens[idx].astype(np.int32),
        "status": rq.status.take(rows),
    })


def stage_calendar_table(sc: Scenario) -> pa.Table:
    starts = [sc.start + dt.timedelta(days=day) for day in sc.stage_start_days]
    return pa.table({
        "stage_id": [s.stage_id for s in sc.stages],
        "stage_key": [s.key for s in sc.stages],
        "pool": [sc.pool] * len(sc.stages),
        "start_ts": starts,
        "end_ts": [t + dt.timedelta(days=n) for t, n in zip(starts, sc.stage_lengths, strict=True)],
        "note": [s.note for s in sc.stages],
    })


def inventory_table(sc: Scenario) -> pa.Table:
    n, hosts = sc.gpu_count, hostnames(sc)
    return pa.table({
        "pool": [sc.pool] * n,
        "hostname": [hosts[g // sc.gpus_per_node] for g in range(n)],
        "gpu_index": [g % sc.gpus_per_node for g in range(n)],
        "gpu_uuid": [gpu_uuid(sc, g) for g in range(n)],
        "model_name": [sc.gpu_model] * n,
        "memory_gb": [sc.gpu_memory_gb] * n,
    })


# -- landing ---------------------------------------------------------------------------------------
def land_config(sc: Scenario, base: Path | None = None) -> list[landing.LandedFile]:
    """The stage calendar and the GPU inventory: the scenario's, no replay needed."""
    return [
        landing.write_table("stage_calendar", stage_calendar_table(sc), source=SOURCE, pool=sc.pool, base=base),
        landing.write_table("gpu_inventory", inventory_table(sc), source=SOURCE, pool=sc.pool, base=base),
    ]


DAY_DATASETS = ("gpu_samples", "jobs", "job_events", "inference_requests")


def in_scenario(sc: Scenario, day: dt.date) -> bool:
    return sc.start_date <= day < sc.start_date + dt.timedelta(days=sc.days)


def land_empty_day(sc: Scenario, day: dt.date, base: Path | None = None) -> list[landing.LandedFile]:
    """A day outside the scenario: every dataset lands an empty file (the partition arrived, with no rows),
    without the replay."""
    return [landing.write_day(name, day, landing.empty_table(name), source=SOURCE, pool=sc.pool, base=base)
            for name in DAY_DATASETS]


def land_day(sim: Simulation, day: dt.date, base: Path | None = None) -> list[landing.LandedFile]:
    """Land every dataset for one day of the scenario (`land_scenario_day`)."""
    return land_scenario_day(sim.scenario, day, lambda: sim, base)


def land_scenario_day(sc: Scenario, day: dt.date, simulation: Callable[[], Simulation],
                      base: Path | None = None) -> list[landing.LandedFile]:
    """Land every dataset for one day of the scenario (a day outside it lands empty files). A day whose files
    this scenario and this code already landed, untouched since, is not generated again (`landed_days`). The
    simulation (the replay: seconds to load on a large scenario) is asked for only when the day is generated."""
    if not in_scenario(sc, day):
        return land_empty_day(sc, day, base)
    from ingestion.simulator import landed_days

    kept = landed_days.unchanged(sc, day, base)
    if kept is not None:
        return kept
    sim = simulation()
    tables = {
        "gpu_samples": telemetry.day_samples(sc, sim.jobs, sim.gpu_modes, sim.day_telemetry(day), day),
        "jobs": jobs_table(sim, day),
        "job_events": job_events_table(sim, day),
        "inference_requests": requests_table(sim, day),
    }
    landed = [landing.write_day(name, day, table, source=SOURCE, pool=sc.pool, base=base)
              for name, table in tables.items()]
    landed_days.remember(sc, day, landed, base)
    return landed


def _peak_allocation(sim: Simulation) -> float:
    """The largest share of one GPU allocated at one minute (a sweep over allocation starts and ends)."""
    changes: dict[int, list[tuple[int, float]]] = defaultdict(list)
    for job in sim.jobs:
        end = job.end if job.end is not None else sim.scenario.minutes
        if job.start is None or end <= job.start:
            continue
        for p in job.placements:
            changes[p.gpu] += [(job.start, p.share), (end, -p.share)]
    peak = 0.0
    for events in changes.values():
        level = 0.0
        for _, delta in sorted(events):  # at one minute, releases before allocations
            level += delta
            peak = max(peak, level)
    return peak


def check_invariants(sim: Simulation, telemetry_checks: bool = True) -> list[str]:
    """Physical invariants of a run; an empty list means all hold. The telemetry checks read the whole
    scenario's readings at once (`sim.telemetry`): leave them out for a large scenario, whose days are
    checked as they land (`check_day`)."""
    problems: list[str] = []
    peak = _peak_allocation(sim)
    if peak > 1.0 + 1e-6:
        problems.append(f"GPU allocated beyond 100%: max {peak:.3f}")
    if telemetry_checks:
        problems += check_day(sim, sim.telemetry)
    rq = sim.requests
    ok = ~np.isnan(rq.first_token)
    if not (rq.arrival[ok] <= rq.scheduled[ok]).all() or not (rq.scheduled[ok] <= rq.first_token[ok]).all() \
            or not (rq.first_token[ok] <= rq.end[ok]).all():
        problems.append("request timestamps out of order")
    if not (rq.arrival <= rq.end).all():
        problems.append("request ends before it arrives")
    return problems


def check_day(sim: Simulation, tel: telemetry.Telemetry) -> list[str]:
    """Invariants of a telemetry window (one day, or the whole scenario)."""
    problems = []
    if (tel.fb_used_gb > sim.scenario.gpu_memory_gb + 1e-6).any():
        problems.append("memory used above capacity")
    if (np.diff(tel.energy_mj, axis=1) < 0).any():
        problems.append("energy counter decreased")
    return problems
