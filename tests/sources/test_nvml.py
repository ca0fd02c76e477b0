"""The NVML sampler against a fake pynvml on CPU, and the real H200 lab readings replayed into gpu_samples."""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pyarrow as pa
import pytest

from ingestion.contracts import GPU_SAMPLES
from ingestion.sources.nvml import NvmlSampler
from ingestion.sources.nvml_fields import readings_to_table

T0 = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)
MIB = 2**20
CATALOG = Path(__file__).resolve().parents[2] / "dbt_project" / "seeds" / "metric_catalog.csv"


# ---------------------------------------------------------------------------------------------- fake pynvml
class NVMLError(Exception):
    def __init__(self, value: int = 999) -> None:
        super().__init__(value)
        self.value = value


class NVMLError_NotSupported(NVMLError):  # noqa: N801 - pynvml's names
    def __init__(self) -> None:
        super().__init__(3)


class NVMLError_NotFound(NVMLError):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(6)


class NVMLError_LibraryNotFound(NVMLError):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(12)


class NVMLError_Unknown(NVMLError):  # noqa: N801
    def __init__(self) -> None:
        super().__init__(999)


GPM_IDS = {"graphics": 1, "sm": 2, "occupancy": 3, "tensor": 5, "dram": 10}


@dataclass
class FakeGpu:
    uuid: str
    name: bytes | str = "NVIDIA H100 80GB HBM3"
    util: tuple[int, int] = (50, 20)
    mem_used: int = 1000 * MIB
    mem_total: int = 81559 * MIB
    power_mw: int = 300_000
    energy_mj: int = 5_000_000
    clocks: tuple[int, int] = (1980, 2619)  # SM, memory MHz
    temp: int = 45
    reasons: int = 0
    procs: int = 1
    gpm: bool = False
    gpm_busy: dict[int, float] = field(default_factory=dict)  # metric id -> busy seconds, a counter
    clock_s: float = 0.0  # GPU time, advanced by the test between polls
    fail: dict[str, type[NVMLError]] = field(default_factory=dict)  # function name -> error it raises
    mig: list[FakeGpu] | None = None  # MIG instances (None slots are empty), or None when MIG is off
    gi_id: int | None = None


@dataclass
class FakeSample:
    taken: tuple[float, dict[int, float]] | None = None


class FakeNvml:
    """The slice of pynvml's API the sampler uses, over FakeGpu objects as handles."""

    NVMLError, NVMLError_NotSupported, NVMLError_NotFound = NVMLError, NVMLError_NotSupported, NVMLError_NotFound
    NVML_CLOCK_SM, NVML_CLOCK_MEM, NVML_TEMPERATURE_GPU, NVML_DEVICE_MIG_ENABLE = 1, 2, 0, 1
    NVML_GPM_METRIC_GRAPHICS_UTIL, NVML_GPM_METRIC_SM_UTIL = GPM_IDS["graphics"], GPM_IDS["sm"]
    NVML_GPM_METRIC_SM_OCCUPANCY, NVML_GPM_METRIC_ANY_TENSOR_UTIL = GPM_IDS["occupancy"], GPM_IDS["tensor"]
    NVML_GPM_METRIC_DRAM_BW_UTIL, NVML_GPM_METRICS_GET_VERSION = GPM_IDS["dram"], 1
    nvmlMemory_v2 = 0x02000028

    def __init__(self, gpus: list[FakeGpu], init_error: type[NVMLError] | None = None) -> None:
        self.gpus, self.init_error = gpus, init_error
        self.calls: list[str] = []
        self.samples: list[FakeSample] = []
        self.freed = 0

    def _call(self, gpu: FakeGpu, name: str) -> None:
        self.calls.append(name)
        if name in gpu.fail:
            raise gpu.fail[name]()

    def nvmlInit(self) -> None:
        if self.init_error:
            raise self.init_error()

    def nvmlShutdown(self) -> None:
        self.calls.append("nvmlShutdown")

    def nvmlDeviceGetCount(self) -> int:
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> FakeGpu:
        return self.gpus[index]

    def nvmlDeviceGetUUID(self, gpu: FakeGpu) -> bytes:
        return gpu.uuid.encode()  # old pynvml returns bytes

    def nvmlDeviceGetName(self, gpu: FakeGpu):
        return gpu.name

    def nvmlDeviceGetUtilizationRates(self, gpu: FakeGpu):
        self._call(gpu, "nvmlDeviceGetUtilizationRates")
        return SimpleNamespace(gpu=gpu.util[0], memory=gpu.util[1])

    def nvmlDeviceGetMemoryInfo(self, gpu: FakeGpu, version=None):
        self._call(gpu, "nvmlDeviceGetMemoryInfo_v2" if version else "nvmlDeviceGetMemoryInfo")
        return SimpleNamespace(used=gpu.mem_used, free=gpu.mem_total - gpu.mem_used, total=gpu.mem_total)

    def nvmlDeviceGetPowerUsage(self, gpu: FakeGpu) -> int:
        self._call(gpu, "nvmlDeviceGetPowerUsage")
        return gpu.power_mw

    def nvmlDeviceGetTotalEnergyConsumption(self, gpu: FakeGpu) -> int:
        self._call(gpu, "nvmlDeviceGetTotalEnergyConsumption")
        return gpu.energy_mj

    def nvmlDeviceGetClockInfo(self, gpu: FakeGpu, clock: int) -> int:
        self._call(gpu, "nvmlDeviceGetClockInfo")
        return gpu.clocks[0] if clock == self.NVML_CLOCK_SM else gpu.clocks[1]

    def nvmlDeviceGetTemperature(self, gpu: FakeGpu, sensor: int) -> int:
        self._call(gpu, "nvmlDeviceGetTemperature")
        return gpu.temp

    def nvmlDeviceGetCurrentClocksEventReasons(self, gpu: FakeGpu) -> int:
        self._call(gpu, "nvmlDeviceGetCurrentClocksEventReasons")
        return gpu.reasons

    def nvmlDeviceGetComputeRunningProcesses(self, gpu: FakeGpu) -> list:
        self._call(gpu, "nvmlDeviceGetComputeRunningProcesses")
        return [SimpleNamespace(pid=100 + i) for i in range(gpu.procs)]

    def nvmlDeviceGetMigMode(self, gpu: FakeGpu) -> list[int]:
        self._call(gpu, "nvmlDeviceGetMigMode")
        return [0, 0] if gpu.mig is None else [1, 1]

    def nvmlDeviceGetMaxMigDeviceCount(self, gpu: FakeGpu) -> int:
        return len(gpu.mig or [])

    def nvmlDeviceGetMigDeviceHandleByIndex(self, gpu: FakeGpu, index: int) -> FakeGpu:
        if gpu.mig[index] is None:
            raise NVMLError_NotFound()
        return gpu.mig[index]

    def nvmlDeviceGetGpuInstanceId(self, mig: FakeGpu) -> int:
        return mig.gi_id

    def nvmlDeviceGetGpuInstanceById(self, gpu: FakeGpu, gi_id: int) -> FakeGpu:
        return next(m for m in gpu.mig if m is not None and m.gi_id == gi_id)

    def nvmlGpuInstanceGetInfo(self, mig: FakeGpu):
        return SimpleNamespace(id=mig.gi_id, profileId=14)

    def nvmlDeviceGetGpuInstanceProfileInfoById(self, gpu: FakeGpu, profile_id: int):
        assert profile_id == 14
        return SimpleNamespace(id=14, name=b"MIG 2g.35gb")

    def nvmlGpmQueryDeviceSupport(self, gpu: FakeGpu):
        self._call(gpu, "nvmlGpmQueryDeviceSupport")
        return SimpleNamespace(isSupportedDevice=int(gpu.gpm))

    def nvmlGpmSampleAlloc(self) -> FakeSample:
        self.samples.append(FakeSample())
        return self.samples[-1]

    def nvmlGpmSampleFree(self, sample: FakeSample) -> None:
        self.freed += 1

    def nvmlGpmSampleGet(self, gpu: FakeGpu, sample: FakeSample) -> FakeSample:
        self._call(gpu, "nvmlGpmSampleGet")
        sample.taken = (gpu.clock_s, dict(gpu.gpm_busy))
        return sample

    def nvmlGpmMigSampleGet(self, gpu: FakeGpu, gi_id: int, sample: FakeSample) -> FakeSample:
        mig = next(m for m in gpu.mig if m is not None and m.gi_id == gi_id)
        return self.nvmlGpmSampleGet(mig, sample)

    @staticmethod
    def c_nvmlGpmMetricsGet_t():
        metrics = [SimpleNamespace(metricId=0, nvmlReturn=0, value=0.0) for _ in range(16)]
        return SimpleNamespace(version=0, numMetrics=0, sample1=None, sample2=None, metrics=metrics)

    def nvmlGpmMetricsGet(self, request):
        (t1, busy1), (t2, busy2) = request.sample1.taken, request.sample2.taken
        assert request.version == 1 and t2 > t1, "metrics over an interval, older sample first"
        for metric in request.metrics[: request.numMetrics]:
            if metric.metricId in busy2:
                metric.value = 100 * (busy2[metric.metricId] - busy1.get(metric.metricId, 0)) / (t2 - t1)
            else:  # this metric has no value for the interval
                metric.nvmlReturn, metric.value = 3, float("nan")
        return request


def rows(table: pa.Table) -> dict[tuple, float]:
    """(gpu_uuid, gpu_instance_id, metric) -> value, asserting the table is a clean gpu_samples table."""
    assert table.schema == GPU_SAMPLES.schema
    records = table.to_pylist()
    assert all(r["source"] == "nvml" and r["pool"] == "lab" and r["ts"] == T0 for r in records)
    out = {(r["gpu_uuid"], r["gpu_instance_id"], r["metric"]): r["value"] for r in records}
    assert len(out) == len(records), "one row per GPU, instance and metric"
    return out


def sampler(nvml: FakeNvml) -> NvmlSampler:
    return NvmlSampler(pool="lab", hostname="gpu-host-1", nvml=nvml, clock=lambda: T0)


# ---------------------------------------------------------------------------------------------- sampler
def test_two_whole_gpus_land_every_field_in_dcgm_units() -> None:
    nvml = FakeNvml([FakeGpu("GPU-a"), FakeGpu("GPU-b", name=b"NVIDIA A100-SXM4-40GB", util=(0, 0),
                                                  mem_used=0, mem_total=40960 * MIB, power_mw=61_250,
                                                  energy_mj=123_456, reasons=1, procs=0)])
    with sampler(nvml) as s:
        readings = s.read()
        got = rows(s.poll())
    assert [(r["gpu_index"], r["gpu_uuid"], r["model_name"], r["hostname"]) for r in readings] == [
        (0, "GPU-a", "NVIDIA H100 80GB HBM3", "gpu-host-1"), (1, "GPU-b", "NVIDIA A100-SXM4-40GB", "gpu-host-1")]
    assert readings[0]["power_w"] == 300.0 and readings[0]["energy_j"] == 5000.0
    assert got[("GPU-a", None, "DCGM_FI_DEV_GPU_UTIL")] == 50
    assert got[("GPU-a", None, "DCGM_FI_DEV_MEM_COPY_UTIL")] == 20
    assert got[("GPU-a", None, "DCGM_FI_DEV_FB_USED")] == 1000  # MiB
    assert got[("GPU-a", None, "DCGM_FI_DEV_FB_FREE")] == 80559
    assert got[("GPU-a", None, "DCGM_FI_DEV_FB_TOTAL")] == 81559
    assert got[("GPU-a", None, "DCGM_FI_DEV_POWER_USAGE")] == 300.0  # W
    assert got[("GPU-a", None, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")] == 5_000_000  # mJ, like DCGM
    assert got[("GPU-a", None, "DCGM_FI_DEV_SM_CLOCK")] == 1980
    assert got[("GPU-a", None, "DCGM_FI_DEV_MEM_CLOCK")] == 2619
    assert got[("GPU-a", None, "DCGM_FI_DEV_GPU_TEMP")] == 45
    assert got[("GPU-a", None, "DCGM_FI_DEV_CLOCKS_EVENT_REASONS")] == 0
    assert got[("GPU-a", None, "NVML_COMPUTE_PROCESSES")] == 1
    assert got[("GPU-b", None, "DCGM_FI_DEV_POWER_USAGE")] == 61.25
    assert got[("GPU-b", None, "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION")] == 123_456
    assert got[("GPU-b", None, "DCGM_FI_DEV_GPU_UTIL")] == 0  # zeros land: they are readings
    assert got[("GPU-b", None, "NVML_COMPUTE_PROCESSES")] == 0
    assert len(got) == 2 * 12 and not any(m.startswith("DCGM_FI_PROF") for _, _, m in got)  # no GPM
    assert "nvmlDeviceGetMemoryInfo_v2" in nvml.calls and "nvmlDeviceGetMemoryInfo" not in nvml.calls
    assert nvml.calls[-1] == "nvmlShutdown"


def test_hopper_gpm_lands_as_ratios_over_the_interval_between_polls() -> None:
    gpu = FakeGpu("GPU-h", gpm=True, gpm_busy={1: 0.0, 2: 0.0, 3: 0.0, 5: 0.0})  # no DRAM metric: nan
    nvml = FakeNvml([gpu])
    with sampler(nvml) as s:
        first = rows(s.poll())
        gpu.clock_s = 2.0
        gpu.gpm_busy = {1: 1.8, 2: 1.0, 3: 0.5, 5: 0.8}
        second = rows(s.poll())
        gpu.clock_s = 4.0
        gpu.gpm_busy = {1: 1.8, 2: 1.0, 3: 0.5, 5: 0.8}  # idle in the third interval
        third = rows(s.poll())
        assert ("GPU-h", "gpm_dram_bw_util_pct") in s.skipped
    assert not any(m.startswith("DCGM_FI_PROF") for _, _, m in first)  # first poll: no interval yet
    prof = {m: v for (_, _, m), v in second.items() if m.startswith("DCGM_FI_PROF")}
    assert prof == pytest.approx({"DCGM_FI_PROF_GR_ENGINE_ACTIVE": 0.9, "DCGM_FI_PROF_SM_ACTIVE": 0.5,
                                  "DCGM_FI_PROF_SM_OCCUPANCY": 0.25, "DCGM_FI_PROF_PIPE_TENSOR_ACTIVE": 0.4})
    assert {m: v for (_, _, m), v in third.items() if m.startswith("DCGM_FI_PROF")} == dict.fromkeys(prof, 0.0)
    assert len(nvml.samples) == 2 and nvml.freed == 2  # two samples per GPU, reused, freed on close


def test_mig_instances_carry_the_parent_uuid_profile_and_instance_id() -> None:
    instances = [FakeGpu("MIG-1", name="NVIDIA H100 80GB HBM3 MIG 1g.10gb", gi_id=9, mem_used=500 * MIB,
                         mem_total=9984 * MIB, procs=2, fail={"nvmlDeviceGetUtilizationRates": NVMLError_NotSupported}),
                 None,  # an empty slot: nvmlDeviceGetMigDeviceHandleByIndex raises NotFound
                 FakeGpu("MIG-2", name=b"NVIDIA H100 80GB HBM3 MIG 1c.3g.40gb", gi_id=2, mem_used=0, procs=0,
                         mem_total=40448 * MIB, fail={"nvmlDeviceGetUtilizationRates": NVMLError_NotSupported})]
    parent = FakeGpu("GPU-m", mig=instances, power_mw=150_000,
                     fail={"nvmlDeviceGetUtilizationRates": NVMLError_NotSupported})
    nvml = FakeNvml([parent])
    with sampler(nvml) as s:
        readings = s.read()
        got = rows(readings_to_table(readings, pool="lab", source="nvml"))
    assert [(r["gpu_uuid"], r["mig_profile"], r["gpu_instance_id"]) for r in readings] == [
        ("GPU-m", None, None), ("GPU-m", "1g.10gb", 9), ("GPU-m", "3g.40gb", 2)]
    assert {r["model_name"] for r in readings} == {"NVIDIA H100 80GB HBM3"}
    device_wide = {"DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_SM_CLOCK",
                   "DCGM_FI_DEV_MEM_CLOCK", "DCGM_FI_DEV_GPU_TEMP", "DCGM_FI_DEV_CLOCKS_EVENT_REASONS"}
    per_instance = {"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_FB_TOTAL", "NVML_COMPUTE_PROCESSES"}
    assert {m for u, gi, m in got if gi is None} == device_wide
    assert {m for u, gi, m in got if gi == 9} == {m for u, gi, m in got if gi == 2} == per_instance
    assert got[("GPU-m", None, "DCGM_FI_DEV_POWER_USAGE")] == 150.0
    assert got[("GPU-m", 9, "DCGM_FI_DEV_FB_USED")] == 500 and got[("GPU-m", 9, "DCGM_FI_DEV_FB_TOTAL")] == 9984
    assert got[("GPU-m", 2, "DCGM_FI_DEV_FB_FREE")] == 40448
    assert got[("GPU-m", 9, "NVML_COMPUTE_PROCESSES")] == 2
    assert {u for u, _, _ in got} == {"GPU-m"}


def test_mig_profile_falls_back_to_the_gpu_instance_profile_name() -> None:
    mig = FakeGpu("MIG-1", name="", gi_id=5)  # a driver whose MIG device name lacks the profile
    with sampler(FakeNvml([FakeGpu("GPU-m", name="NVIDIA H200", mig=[mig])])) as s:
        assert [(r["mig_profile"], r["gpu_instance_id"]) for r in s.read()] == [(None, None), ("2g.35gb", 5)]


def test_mig_instances_get_gpm_from_the_parent_per_instance() -> None:
    mig = FakeGpu("MIG-1", name="NVIDIA H200 MIG 1g.18gb", gi_id=3, gpm_busy={2: 0.0})
    nvml = FakeNvml([FakeGpu("GPU-m", name="NVIDIA H200", mig=[mig], gpm=True)])
    with sampler(nvml) as s:
        s.poll()
        mig.clock_s, mig.gpm_busy = 1.0, {2: 0.3}
        got = rows(s.poll())
    assert got[("GPU-m", 3, "DCGM_FI_PROF_SM_ACTIVE")] == pytest.approx(0.3)
    assert not any(m.startswith("DCGM_FI_PROF") for _, gi, m in got if gi is None)


def test_a_not_supported_field_is_skipped_and_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    gpu = FakeGpu("GPU-t", fail={"nvmlDeviceGetTotalEnergyConsumption": NVMLError_NotSupported,
                                 "nvmlDeviceGetMemoryInfo_v2": NVMLError_NotSupported})  # old driver: v1 only
    nvml = FakeNvml([gpu])
    caplog.set_level(logging.DEBUG, logger="ingestion.sources.nvml")
    with sampler(nvml) as s:
        got = [rows(s.poll()) for _ in range(3)][-1]
        assert set(s.skipped) == {("GPU-t", "energy_j"), ("GPU-t", "memory_v2")}
    assert "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION" not in {m for _, _, m in got}
    assert len(got) == 11 and got[("GPU-t", None, "DCGM_FI_DEV_FB_USED")] == 1000  # the rest lands, memory from v1
    assert nvml.calls.count("nvmlDeviceGetMemoryInfo_v2") == 1  # v2 not retried once it failed
    assert nvml.calls.count("nvmlDeviceGetMemoryInfo") == 3
    energy_logs = [r for r in caplog.records if "energy_j" in r.getMessage()]
    assert len(energy_logs) == 1 and energy_logs[0].levelno == logging.DEBUG


def test_a_generic_nvml_error_on_power_only_loses_power(caplog: pytest.LogCaptureFixture) -> None:
    nvml = FakeNvml([FakeGpu("GPU-p", fail={"nvmlDeviceGetPowerUsage": NVMLError_Unknown}), FakeGpu("GPU-q")])
    caplog.set_level(logging.DEBUG, logger="ingestion.sources.nvml")
    with sampler(nvml) as s:
        s.poll()
        got = rows(s.poll())
    assert ("GPU-p", None, "DCGM_FI_DEV_POWER_USAGE") not in got
    assert got[("GPU-q", None, "DCGM_FI_DEV_POWER_USAGE")] == 300.0
    assert len([m for u, _, m in got if u == "GPU-p"]) == 11
    power_logs = [r for r in caplog.records if "power_w" in r.getMessage()]
    assert len(power_logs) == 1 and power_logs[0].levelno == logging.INFO  # not NotSupported: said louder


def test_missing_nvml_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RuntimeError, match="NVML is not available: NVMLError_LibraryNotFound"):
        NvmlSampler(pool="lab", nvml=FakeNvml([], init_error=NVMLError_LibraryNotFound))
    monkeypatch.setitem(sys.modules, "pynvml", None)  # the package not installed
    with pytest.raises(RuntimeError, match="NVML is not available: no pynvml module"):
        NvmlSampler(pool="lab")


def test_hostname_defaults_to_this_host() -> None:
    import socket

    assert NvmlSampler(pool="lab", nvml=FakeNvml([])).hostname == socket.gethostname()


# ---------------------------------------------------------------------------------------------- H200 replay
def test_h200_lab_readings_replay_into_gpu_samples(shared) -> None:
    lab = shared / "fixtures" / "h200_lab"
    env = json.loads((lab / "env.json").read_text())
    phases = {r["phase"]: r for r in map(json.loads, (lab / "job_log.jsonl").read_text().splitlines())
              if r.get("record") == "phase"}
    with (lab / "nvml_samples.csv").open(newline="") as f:
        raw = list(csv.DictReader(f))
    readings = [{**{k: v for k, v in r.items() if k not in ("ts", "phase", "sample_cost_ms")},
                 "ts": dt.datetime.fromtimestamp(float(r["ts"]), dt.UTC), "hostname": "h200-lab", "gpu_index": 0,
                 "gpu_uuid": env["gpu_uuid"], "model_name": env["gpu_name"]} for r in raw]
    table = readings_to_table(readings, pool="h200-lab", source="nvml")
    assert table.schema == GPU_SAMPLES.schema and len(raw) == 2103
    records = table.to_pylist()

    with CATALOG.open(newline="") as f:
        catalog = {r["raw_metric"] for r in csv.DictReader(f)}
    assert {r["metric"] for r in records} <= catalog

    def series(metric: str, phase: str) -> list[tuple[dt.datetime, float]]:
        start, end = (dt.datetime.fromtimestamp(phases[phase][k], dt.UTC) for k in ("start_ts", "end_ts"))
        return sorted((r["ts"], r["value"]) for r in records if r["metric"] == metric and start <= r["ts"] <= end)

    power = [v for _, v in series("DCGM_FI_DEV_POWER_USAGE", "train_bf16")]
    assert len(power) > 100
    assert sum(power) / len(power) == pytest.approx(646, rel=0.05)
    energy = series("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "train_bf16")  # mJ counter
    assert (energy[-1][1] - energy[0][1]) / 1000 == pytest.approx(phases["train_bf16"]["energy_j"], rel=0.05)

    for column, metric in [("gpm_sm_util_pct", "DCGM_FI_PROF_SM_ACTIVE"),
                           ("gpm_dram_bw_util_pct", "DCGM_FI_PROF_DRAM_ACTIVE"),
                           ("gpm_graphics_util_pct", "DCGM_FI_PROF_GR_ENGINE_ACTIVE")]:
        cells = [r[column] for r in raw]
        finite = [float(c) for c in cells if c not in ("", "nan")]
        landed = [r["value"] for r in records if r["metric"] == metric]
        assert len(landed) == len(finite) and all(not math.isnan(v) for v in landed)
        assert sorted(landed) == pytest.approx(sorted(v / 100 for v in finite))  # % -> DCGM's 0-1 ratio
        assert max(landed) <= 1.0
    assert any(r["gpm_dram_bw_util_pct"] == "nan" for r in raw), "the fixture has nan GPM cells"


def test_self_check_prints_readings_and_skipped_fields(monkeypatch, capsys) -> None:
    from ingestion.sources import nvml as module

    gpu = FakeGpu("GPU-s", fail={"nvmlDeviceGetTotalEnergyConsumption": NVMLError_NotSupported})
    monkeypatch.setitem(sys.modules, "pynvml", FakeNvml([gpu]))
    assert module._self_check(polls=2, interval_s=0) == 0
    out = capsys.readouterr().out
    assert "== poll 2: 1 readings" in out and "power_w" in out and "GPU-s energy_j: NVMLError_NotSupported" in out
    monkeypatch.setitem(sys.modules, "pynvml", None)
    assert module._self_check(polls=1, interval_s=0) == 1
    assert "NVML is not available" in capsys.readouterr().out
