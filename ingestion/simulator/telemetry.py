"""DCGM readings derived from what ran: activity, memory, power, energy, temperature, clocks.

Per-minute arrays (GPUs x minutes) are built from the jobs' activity traces for a window of minutes
(the whole scenario for a small one, one day at a time for a large one: memory bounded by one day; the
energy counter carries over from the window before), then each day is cut into the long `gpu_samples` rows
dcgm-exporter would produce:
4.x metric names and units, per-instance rows with `GPU_I_PROFILE`/`GPU_I_ID` on MIG GPUs (device
fields such as power repeated on each instance row, GPU_UTIL absent), and the pod that runs there.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from ingestion.simulator.cluster import MIG_COMPUTE_SLICES, mig_memory_gb, mig_slices
from ingestion.simulator.scenario import Scenario
from ingestion.simulator.workload import Job

MIB_PER_GB = 1024.0
DRIVER_RESERVED_GB = 0.6  # framebuffer in use on an idle GPU (h200_lab: 615 MiB)
# Profiling ratios relative to graphics-engine activity, per workload (h200_lab phase means:
# train_bf16 SM 0.87 / tensor 0.31 / DRAM 0.43 of GR; decode batch 1-128 SM 0.30-0.84).
RATIOS = {
    "training": (0.87, 0.31, 0.43),
    "inference": (0.60, 0.15, 0.45),
    "development": (0.60, 0.15, 0.35),
    "evaluation": (0.85, 0.30, 0.45),
}
CONTAINER = {"training": "trainer", "inference": "server", "development": "notebook", "evaluation": "evaluator"}



def gpu_uuid(pool: str, hostname: str, index: int) -> str:
    return "GPU-" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"gpu-eff-sim/{pool}/{hostname}/{index}"))


@dataclass
class Telemetry:
    """Per-minute arrays, shape (GPUs, minutes); instance arrays keyed by (gpu, instance)."""

    gr: np.ndarray
    sm: np.ndarray
    tensor: np.ndarray
    dram: np.ndarray
    fb_used_gb: np.ndarray
    power_w: np.ndarray
    energy_mj: np.ndarray  # counter reading at each sample time
    temp_c: np.ndarray
    sm_clock_mhz: np.ndarray
    top_job: np.ndarray  # index into jobs of the largest workload on the GPU, -1 when none
    instances: dict[tuple[int, int], dict[str, np.ndarray]]
    lo: int = 0  # scenario minute of column 0
    energy_after: np.ndarray | None = None  # (GPUs, 1) energy burnt since boot up to the window's end, mJ


def _job_window(job: Job, lo: int, hi: int) -> tuple[int, int] | None:
    """The minutes [a, b) of the job's activity trace that fall in [lo, hi), or None."""
    if job.start is None or not job.activity:
        return None
    a, b = max(job.start, lo), min(job.start + len(job.activity), hi)
    return (a, b) if a < b else None


def power_sums(scenario: Scenario, jobs: list[Job], lo: int, hi: int, energy_before: np.ndarray) -> np.ndarray:
    """Carry the energy counter over [lo, hi) without building the other readings (cheap replay)."""
    g, t = scenario.gpu_count, hi - lo
    gr, sm = np.zeros((g, t), np.float32), np.zeros((g, t), np.float32)
    for job in jobs:
        window = _job_window(job, lo, hi)
        if window is None:
            continue
        a, b = window
        act = np.frombuffer(job.activity, dtype=np.float32)[a - job.start:b - job.start]
        sm_r = RATIOS[job.kind][0]
        for p in job.placements:
            gr[p.gpu, a - lo:b - lo] += act * 1.0 * p.share
            sm[p.gpu, a - lo:b - lo] += act * sm_r * p.share
    np.clip(gr, 0.0, 1.0, out=gr)
    np.clip(sm, 0.0, 1.0, out=sm)
    return _energy(scenario, _power(scenario, gr, sm), energy_before)[1]


def _power(scenario: Scenario, gr: np.ndarray, sm: np.ndarray) -> np.ndarray:
    pw = scenario.power
    busy = gr > 0.005
    return np.minimum(pw["idle_w"] + pw["active_w"] * busy + pw["sm_w"] * sm, pw["tdp_w"])


def _energy(scenario: Scenario, power: np.ndarray, before: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(counter at each minute of the window, energy up to its end): the same sequential sums as one
    cumulative sum over the whole scenario, so a day built alone reads exactly as in a full run."""
    steps = power.astype(np.float64) * 60_000.0
    sums = np.cumsum(np.concatenate([before, steps[:, :-1]], axis=1), axis=1)
    after = sums[:, -1:] + steps[:, -1:]
    rng = np.random.default_rng([scenario.seed, 3])
    boot_energy_mj = rng.uniform(2e8, 5e9, size=(scenario.gpu_count, 1))  # counters count from driver load
    return boot_energy_mj + sums, after


def build(scenario: Scenario, jobs: list[Job], gpu_modes: list[list[str]], lo: int = 0, hi: int | None = None,
          energy_before: np.ndarray | None = None) -> Telemetry:
    """The readings of minutes [lo, hi) (default: the whole scenario); `energy_before` is the energy each
    GPU burnt before `lo` (zeros at the start; `energy_after` of the previous window, or `power_sums`)."""
    hi = scenario.minutes if hi is None else hi
    g, t = scenario.gpu_count, hi - lo
    if energy_before is None:
        if lo != 0:
            raise ValueError("a window after the start needs the energy burnt before it")
        energy_before = np.zeros((g, 1))
    arrays = {k: np.zeros((g, t), np.float32) for k in ("gr", "sm", "tensor", "dram", "fb")}
    top_share = np.zeros((g, t), np.float32)
    top_job = np.full((g, t), -1, np.int32)
    instances: dict[tuple[int, int], dict[str, np.ndarray]] = {}
    mig_gpus = sorted({gpu for modes in gpu_modes for gpu, mode in enumerate(modes) if mode == "mig"})
    for gpu in mig_gpus:
        for i in range(len(scenario.mig_layout)):
            instances[(gpu, i)] = {k: np.zeros(t, np.float32) for k in ("gr", "sm", "tensor", "dram", "fb")}
            instances[(gpu, i)]["top_job"] = np.full(t, -1, np.int32)
    for index, job in enumerate(jobs):
        window = _job_window(job, lo, hi)
        if window is None:
            continue
        a, b = window
        act = np.frombuffer(job.activity, dtype=np.float32)[a - job.start:b - job.start]
        mem = (job.memory_trace[a - job.start:b - job.start] if job.memory_trace is not None
               else np.full(len(act), job.mem_need_gb, np.float32))
        start, stop = a - lo, b - lo
        sm_r, ten_r, dram_r = RATIOS[job.kind]
        for p in job.placements:
            if p.instance >= 0:
                inst = instances[(p.gpu, p.instance)]
                inst["gr"][start:stop] += act
                inst["sm"][start:stop] += act * sm_r
                inst["tensor"][start:stop] += act * ten_r
                inst["dram"][start:stop] += act * dram_r
                inst["fb"][start:stop] += np.minimum(mem, p.reserved_gb)
                inst["top_job"][start:stop] = index
                weight = p.share  # slices / 7 of the device
            else:
                # A vGPU fraction is capped at its compute share; a whole GPU has share 1.
                weight = p.share
                arrays["fb"][p.gpu, start:stop] += np.minimum(mem, p.reserved_gb)
            for key, ratio in (("gr", 1.0), ("sm", sm_r), ("tensor", ten_r), ("dram", dram_r)):
                arrays[key][p.gpu, start:stop] += act * ratio * weight
            window = top_share[p.gpu, start:stop]
            better = p.share > window
            top_job[p.gpu, start:stop][better] = index
            window[better] = p.share
    for key in ("gr", "sm", "tensor", "dram"):
        np.clip(arrays[key], 0.0, 1.0, out=arrays[key])
    for inst in instances.values():
        for key in ("gr", "sm", "tensor", "dram"):
            np.clip(inst[key], 0.0, 1.0, out=inst[key])
    fb = np.minimum(arrays["fb"] + DRIVER_RESERVED_GB, scenario.gpu_memory_gb)
    pw = scenario.power
    busy = arrays["gr"] > 0.005
    power = _power(scenario, arrays["gr"], arrays["sm"])
    energy, energy_after = _energy(scenario, power, energy_before)
    temp = pw["temp_base_c"] + pw["temp_per_w"] * power
    clock = np.where(busy, 1980.0 - 90.0 * arrays["sm"], 345.0)
    return Telemetry(arrays["gr"], arrays["sm"], arrays["tensor"], arrays["dram"], fb.astype(np.float32),
                     power.astype(np.float32), energy, temp.astype(np.float32), clock.astype(np.float32),
                     top_job, instances, lo, energy_after)


def _dict_strings(values: list[str | None], index: np.ndarray) -> pa.Array:
    """A string column from per-row indices into `values` (-1 = null), without Python loops per row. It stays
    dictionary-encoded (4 bytes a row), and landing writes it so (Parquet's strings are dictionary-encoded)."""
    position = {v: i for i, v in enumerate(dict.fromkeys(values))}  # a dictionary holds each string once
    remap = np.array([position[v] for v in values], dtype=np.int32)
    nulls = index < 0
    if nulls.any():
        indices = pa.array(remap[np.maximum(index, 0)], pa.int32(), mask=nulls)
    elif np.array_equal(remap, np.arange(len(values))):  # the values are distinct: the rows' indices are theirs
        indices = pa.array(index.astype(np.int32, copy=False))
    else:
        indices = pa.array(remap[index], pa.int32())
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(position), pa.string()))


def day_samples(scenario: Scenario, jobs: list[Job], gpu_modes: list[list[str]], tel: Telemetry,
                day: dt.date) -> pa.Table:
    """The long gpu_samples rows of one day, one reading per metric per GPU (or MIG instance) per minute."""
    d = (day - scenario.start_date).days
    ts_lo = d * 1440
    lo, hi = ts_lo - tel.lo, ts_lo - tel.lo + 1440  # columns of the day in the telemetry window
    if lo < 0 or hi > tel.gr.shape[1]:
        raise ValueError(f"{day} is outside the telemetry window")
    modes = gpu_modes[min(scenario.stage_index_on_day(d), len(gpu_modes) - 1)]
    rng = np.random.default_rng([scenario.seed, 4, d])
    minutes = hi - lo
    ts0 = np.datetime64(scenario.start.replace(tzinfo=None), "us") + np.timedelta64(ts_lo, "m")
    ts = ts0 + np.arange(minutes).astype("timedelta64[m]")

    def noisy(x: np.ndarray, sd: float, top: float) -> np.ndarray:
        return np.clip(x + rng.normal(0.0, sd, x.shape) * (x > 0), 0.0, top)

    total_mib = scenario.gpu_memory_mib
    device_values = {
        "DCGM_FI_DEV_POWER_USAGE": lambda s: np.round(noisy(tel.power_w[s, lo:hi], 2.0, 1e4), 3),
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": lambda s: np.floor(tel.energy_mj[s, lo:hi]),
        "DCGM_FI_DEV_GPU_TEMP": lambda s: np.round(tel.temp_c[s, lo:hi]),
        "DCGM_FI_DEV_SM_CLOCK": lambda s: np.round(tel.sm_clock_mhz[s, lo:hi] / 15) * 15,
    }
    pieces: list[dict[str, np.ndarray]] = []  # each: gpu, instance, metric code, values, top job

    whole = np.array([i for i, m in enumerate(modes) if m != "mig"], dtype=np.int64)
    if whole.size:
        used_mib = np.round(tel.fb_used_gb[whole, lo:hi] * MIB_PER_GB)
        per_metric = dict(device_values)
        per_metric.update({
            "DCGM_FI_DEV_GPU_UTIL": lambda s: np.round(noisy(tel.gr[s, lo:hi], 0.01, 1.0) * 100),
            "DCGM_FI_PROF_GR_ENGINE_ACTIVE": lambda s: np.round(noisy(tel.gr[s, lo:hi], 0.005, 1.0), 6),
            "DCGM_FI_PROF_SM_ACTIVE": lambda s: np.round(noisy(tel.sm[s, lo:hi], 0.005, 1.0), 6),
            "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": lambda s: np.round(noisy(tel.tensor[s, lo:hi], 0.005, 1.0), 6),
            "DCGM_FI_PROF_DRAM_ACTIVE": lambda s: np.round(noisy(tel.dram[s, lo:hi], 0.005, 1.0), 6),
            "DCGM_FI_DEV_FB_USED": lambda s: used_mib,
            "DCGM_FI_DEV_FB_FREE": lambda s: total_mib - used_mib,
        })
        for metric, fn in per_metric.items():
            pieces.append({"gpu": np.repeat(whole, minutes), "instance": np.full(whole.size * minutes, -1),
                           "metric": metric, "value": np.asarray(fn(whole), dtype=np.float64).ravel(),
                           "minute": np.tile(np.arange(minutes), whole.size),
                           "job": tel.top_job[whole, lo:hi].ravel()})
    for gpu, mode in enumerate(modes):
        if mode != "mig":
            continue
        device = {m: np.asarray(fn(np.array([gpu])), dtype=np.float64).ravel() for m, fn in device_values.items()}
        for i, profile in enumerate(scenario.mig_layout):
            inst = tel.instances[(gpu, i)]
            used_gb = inst["fb"][lo:hi] + DRIVER_RESERVED_GB * mig_slices(profile) / MIG_COMPUTE_SLICES
            used_mib = np.round(np.minimum(used_gb, mig_memory_gb(profile)) * MIB_PER_GB)
            values = dict(device)
            values.update({
                "DCGM_FI_PROF_GR_ENGINE_ACTIVE": np.round(noisy(inst["gr"][lo:hi], 0.005, 1.0), 6),
                "DCGM_FI_PROF_SM_ACTIVE": np.round(noisy(inst["sm"][lo:hi], 0.005, 1.0), 6),
                "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": np.round(noisy(inst["tensor"][lo:hi], 0.005, 1.0), 6),
                "DCGM_FI_PROF_DRAM_ACTIVE": np.round(noisy(inst["dram"][lo:hi], 0.005, 1.0), 6),
                "DCGM_FI_DEV_FB_USED": used_mib,
                "DCGM_FI_DEV_FB_FREE": mig_memory_gb(profile) * MIB_PER_GB - used_mib,
            })
            for metric, vals in values.items():
                pieces.append({"gpu": np.full(minutes, gpu), "instance": np.full(minutes, i), "metric": metric,
                               "value": vals, "minute": np.arange(minutes), "job": inst["top_job"][lo:hi]})
    return _samples_table(scenario, jobs, pieces, ts)


def _samples_table(scenario: Scenario, jobs: list[Job], pieces: list[dict], ts: np.ndarray) -> pa.Table:
    gpu = np.concatenate([p["gpu"] for p in pieces])
    instance = np.concatenate([p["instance"] for p in pieces])
    minute = np.concatenate([p["minute"] for p in pieces])
    job = np.concatenate([p["job"] for p in pieces])
    metric_names = sorted({p["metric"] for p in pieces})
    metric_idx = np.concatenate([np.full(p["value"].size, metric_names.index(p["metric"])) for p in pieces])
    value = np.concatenate([p["value"] for p in pieces])
    per_node = scenario.gpus_per_node
    hostnames = [f"{scenario.hostname_prefix}-{n:02d}" for n in range(scenario.nodes)]
    uuids = [gpu_uuid(scenario.pool, hostnames[i // per_node], i % per_node) for i in range(scenario.gpu_count)]
    inst = np.where(instance >= 0, instance, 0)
    profiles = list(scenario.mig_layout)
    return pa.table({
        "ts": pa.array(ts[minute], pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC")),
        "pool": _dict_strings([scenario.pool], np.zeros(gpu.size, np.int32)),
        "hostname": _dict_strings(hostnames, (gpu // per_node).astype(np.int32)),
        "gpu_index": pa.array((gpu % per_node).astype(np.int32)),
        "gpu_uuid": _dict_strings(uuids, gpu.astype(np.int32)),
        "model_name": _dict_strings([scenario.gpu_model], np.zeros(gpu.size, np.int32)),
        "mig_profile": _dict_strings(profiles, np.where(instance >= 0, inst, -1).astype(np.int32)),
        "gpu_instance_id": pa.array((inst + 1).astype(np.int32), mask=instance < 0),  # GPU_I_ID from 1
        "namespace": _dict_strings([j.tenant for j in jobs], job.astype(np.int32)),
        "pod": _dict_strings([j.job_id for j in jobs], job.astype(np.int32)),
        "container": _dict_strings([CONTAINER[j.kind] for j in jobs], job.astype(np.int32)),
        "metric": _dict_strings(metric_names, metric_idx.astype(np.int32)),
        "value": pa.array(value, pa.float64()),
        "source": _dict_strings(["simulator"], np.zeros(gpu.size, np.int32)),
    })
