"""Sample local GPUs (and MIG instances) through NVML into gpu_samples rows.

One `read()` gives one reading per GPU, plus one per MIG instance when MIG is enabled, keyed like the
columns of `fixtures/h200_lab/nvml_samples.csv`; `poll()` turns them into gpu_samples rows through
`nvml_fields.readings_to_table`, under dcgm-exporter names and units. A field the driver does not support
(or that fails) is left out of the reading and logged once per (device, field), never fatal. Under MIG,
device-wide fields (power, energy, clocks, temperature) stay on the parent reading and memory, processes,
utilisation and GPM go on the instance readings, which carry the parent's gpu_uuid. Hopper GPM metrics
cover the interval since the previous poll, so the first poll has none.

Self-check on a GPU host: `python -m ingestion.sources.nvml`.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import re
import socket
from collections.abc import Callable

import pyarrow as pa

from ingestion.sources.nvml_fields import readings_to_table

log = logging.getLogger(__name__)

GPM_FIELDS = {  # reading field -> pynvml constant name
    "gpm_sm_util_pct": "NVML_GPM_METRIC_SM_UTIL",
    "gpm_sm_occupancy_pct": "NVML_GPM_METRIC_SM_OCCUPANCY",
    "gpm_tensor_util_pct": "NVML_GPM_METRIC_ANY_TENSOR_UTIL",
    "gpm_dram_bw_util_pct": "NVML_GPM_METRIC_DRAM_BW_UTIL",
    "gpm_graphics_util_pct": "NVML_GPM_METRIC_GRAPHICS_UTIL",
}
_MIG_PROFILE = re.compile(r"(?:\d+c\.)?(\d+g\.\d+gb(?:\+\w+)?)")  # "... MIG 1c.2g.20gb" -> "2g.20gb"


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class NvmlSampler:
    def __init__(self, *, pool: str, hostname: str | None = None, nvml=None,
                 clock: Callable[[], dt.datetime] | None = None) -> None:
        self.pool = pool
        self.hostname = hostname or socket.gethostname()
        self.clock = clock or _utc_now
        if nvml is None:
            try:
                import pynvml as nvml
            except ImportError as exc:
                raise RuntimeError("NVML is not available: no pynvml module (pip install nvidia-ml-py)") from exc
        try:
            nvml.nvmlInit()
        except Exception as exc:  # NVMLError_LibraryNotFound (no driver library), DriverNotLoaded, ...
            raise RuntimeError(f"NVML is not available: {type(exc).__name__}: {exc}") from exc
        self.nvml = nvml
        self.skipped: dict[tuple[str, str], str] = {}  # (device, field) -> error, logged once each
        self._gpm_support: dict[str, bool] = {}  # parent gpu_uuid -> GPM supported
        self._gpm_prev: dict[tuple[str, int | None], object] = {}  # (gpu_uuid, instance id) -> last sample
        self._gpm_spare: dict[tuple[str, int | None], object] = {}

    # -- public ---------------------------------------------------------------------------------------
    def read(self) -> list[dict]:
        nvml, ts, readings = self.nvml, self.clock(), []
        for index in range(self._get("host", "device_count", nvml.nvmlDeviceGetCount) or 0):
            handle = self._get(f"gpu{index}", "handle", nvml.nvmlDeviceGetHandleByIndex, index)
            uuid = None if handle is None else self._get(f"gpu{index}", "gpu_uuid", nvml.nvmlDeviceGetUUID, handle)
            if uuid is None:  # gpu_samples needs a gpu_uuid: nothing to land for this GPU
                continue
            uuid = _text(uuid)
            name = self._get(uuid, "model_name", nvml.nvmlDeviceGetName, handle)
            identity = {"ts": ts, "hostname": self.hostname, "gpu_index": index, "gpu_uuid": uuid,
                        "model_name": None if name is None else _text(name)}
            parent = {**identity, "mig_profile": None, "gpu_instance_id": None}
            self._device_fields(uuid, handle, parent)
            readings.append(parent)
            instances = self._mig_instances(uuid, handle)
            if instances is None:  # a whole GPU: the per-instance fields go on the same reading
                self._instance_fields(uuid, handle, parent, (handle, None))
                continue
            for mig_handle, gi_id, profile in instances:
                reading = {**identity, "mig_profile": profile, "gpu_instance_id": gi_id}
                self._instance_fields(f"{uuid}/gi{gi_id}", mig_handle, reading, (handle, gi_id))
                readings.append(reading)
        return readings

    def poll(self) -> pa.Table:
        return readings_to_table(self.read(), pool=self.pool, source="nvml")

    def close(self) -> None:
        free = getattr(self.nvml, "nvmlGpmSampleFree", None)
        for sample in [*self._gpm_prev.values(), *self._gpm_spare.values()]:
            self._get("host", "gpm_sample_free", free, sample)
        self._gpm_prev.clear()
        self._gpm_spare.clear()
        self._get("host", "shutdown", self.nvml.nvmlShutdown)

    def __enter__(self) -> NvmlSampler:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- fields ---------------------------------------------------------------------------------------
    def _get(self, device: str, field: str, fn, *args):
        """fn(*args), or None (logged once per device and field) when NVML refuses or lacks the call."""
        try:
            if fn is None:
                raise AttributeError("not in this pynvml")
            return fn(*args)
        except (self.nvml.NVMLError, AttributeError) as exc:
            if (device, field) not in self.skipped:
                self.skipped[device, field] = f"{type(exc).__name__}: {exc}"
                level = logging.DEBUG if isinstance(exc, _not_supported(self.nvml)) else logging.INFO
                log.log(level, "NVML %s on %s skipped: %s", field, device, self.skipped[device, field])
            return None

    def _device_fields(self, key: str, h, reading: dict) -> None:
        n = self.nvml
        reasons = getattr(n, "nvmlDeviceGetCurrentClocksEventReasons", None) or getattr(
            n, "nvmlDeviceGetCurrentClocksThrottleReasons", None)  # the name before driver 535
        values = {
            "power_w": self._get(key, "power_w", n.nvmlDeviceGetPowerUsage, h),  # mW
            "energy_j": self._get(key, "energy_j", n.nvmlDeviceGetTotalEnergyConsumption, h),  # mJ
            "sm_clock_mhz": self._get(key, "sm_clock_mhz", n.nvmlDeviceGetClockInfo, h, n.NVML_CLOCK_SM),
            "mem_clock_mhz": self._get(key, "mem_clock_mhz", n.nvmlDeviceGetClockInfo, h, n.NVML_CLOCK_MEM),
            "temp_c": self._get(key, "temp_c", n.nvmlDeviceGetTemperature, h, n.NVML_TEMPERATURE_GPU),
            "clocks_event_reasons": self._get(key, "clocks_event_reasons", reasons, h),
        }
        for field in ("power_w", "energy_j"):
            if values[field] is not None:
                values[field] = values[field] / 1000
        reading.update({k: v for k, v in values.items() if v is not None})

    def _instance_fields(self, key: str, h, reading: dict, gpm_source: tuple) -> None:
        n = self.nvml
        util = self._get(key, "utilization", n.nvmlDeviceGetUtilizationRates, h)
        if util is not None:
            reading["gpu_util_pct"], reading["mem_util_pct"] = util.gpu, util.memory
        memory = self._memory(key, h)
        if memory is not None:
            reading.update(fb_used_mib=memory.used // 2**20, fb_free_mib=memory.free // 2**20,
                           fb_total_mib=memory.total // 2**20)  # whole MiB, as DCGM reports them
        procs = self._get(key, "n_compute_procs", n.nvmlDeviceGetComputeRunningProcesses, h)
        if procs is not None:
            reading["n_compute_procs"] = len(procs)
        reading.update(self._gpm(key, reading["gpu_uuid"], *gpm_source))

    def _memory(self, key: str, h):
        """The v2 struct where driver and pynvml have it, else v1 (whose `used` includes driver-reserved memory)."""
        version = getattr(self.nvml, "nvmlMemory_v2", None)
        if version is not None and (key, "memory_v2") not in self.skipped:
            memory = self._get(key, "memory_v2", _memory_v2, self.nvml, h, version)
            if memory is not None:
                return memory
        return self._get(key, "memory", self.nvml.nvmlDeviceGetMemoryInfo, h)

    def _mig_instances(self, uuid: str, h) -> list[tuple[object, int, str | None]] | None:
        """[(MIG handle, GPU instance id, profile)] when MIG is enabled on the GPU, else None."""
        n = self.nvml
        mode = self._get(uuid, "mig_mode", getattr(n, "nvmlDeviceGetMigMode", None), h)
        if not mode or mode[0] != getattr(n, "NVML_DEVICE_MIG_ENABLE", 1):
            return None
        instances = []
        for i in range(self._get(uuid, "mig_count", n.nvmlDeviceGetMaxMigDeviceCount, h) or 0):
            try:
                mig = n.nvmlDeviceGetMigDeviceHandleByIndex(h, i)
            except n.NVMLError:  # NotFound: no instance in this slot
                continue
            gi_id = self._get(f"{uuid}/mig{i}", "gpu_instance_id", n.nvmlDeviceGetGpuInstanceId, mig)
            if gi_id is not None:
                instances.append((mig, int(gi_id), self._mig_profile(f"{uuid}/gi{gi_id}", h, mig, gi_id)))
        return instances

    def _mig_profile(self, key: str, parent, mig, gi_id) -> str | None:
        """dcgm-exporter's GPU_I_PROFILE ("1g.10gb"): from the MIG device name, else the GI profile name."""
        n = self.nvml
        names = [self._get(key, "mig_name", n.nvmlDeviceGetName, mig)]
        if not names[0] or not _MIG_PROFILE.search(_text(names[0])):
            gi = self._get(key, "gpu_instance", getattr(n, "nvmlDeviceGetGpuInstanceById", None), parent, gi_id)
            info = gi is not None and self._get(key, "gpu_instance_info", n.nvmlGpuInstanceGetInfo, gi)
            profile = info and self._get(key, "gpu_instance_profile", n.nvmlDeviceGetGpuInstanceProfileInfoById,
                                         parent, info.profileId)
            names.append(profile and profile.name)
        for name in names:
            match = name and _MIG_PROFILE.search(_text(name).rsplit("MIG", 1)[-1])
            if match:
                return match.group(1)
        return None

    def _gpm(self, key: str, uuid: str, parent, gi_id: int | None) -> dict:
        """GPM percentages over the interval since the previous poll of this GPU or GPU instance."""
        n = self.nvml
        if uuid not in self._gpm_support:
            support = self._get(uuid, "gpm", getattr(n, "nvmlGpmQueryDeviceSupport", None), parent)
            self._gpm_support[uuid] = bool(support is not None and support.isSupportedDevice)
        if not self._gpm_support[uuid]:
            return {}
        slot = (uuid, gi_id)
        sample = self._gpm_spare.pop(slot, None) or self._get(key, "gpm_sample_alloc", n.nvmlGpmSampleAlloc)
        if sample is None:
            return {}
        got = (self._get(key, "gpm_sample", n.nvmlGpmSampleGet, parent, sample) if gi_id is None
               else self._get(key, "gpm_sample", n.nvmlGpmMigSampleGet, parent, gi_id, sample))
        if got is None:
            self._gpm_spare[slot] = sample
            return {}
        previous, self._gpm_prev[slot] = self._gpm_prev.get(slot), sample
        if previous is None:  # first poll: nothing to compare against yet
            return {}
        self._gpm_spare[slot] = previous
        request = n.c_nvmlGpmMetricsGet_t()
        request.version, request.numMetrics = n.NVML_GPM_METRICS_GET_VERSION, len(GPM_FIELDS)
        request.sample1, request.sample2 = previous, sample
        for i, constant in enumerate(GPM_FIELDS.values()):
            request.metrics[i].metricId = getattr(n, constant)
        if self._get(key, "gpm_metrics", n.nvmlGpmMetricsGet, request) is None:
            return {}
        values = {}
        for i, field in enumerate(GPM_FIELDS):
            metric = request.metrics[i]
            if metric.nvmlReturn == 0 and not math.isnan(metric.value):
                values[field] = float(metric.value)
            elif (key, field) not in self.skipped:
                self.skipped[key, field] = f"GPM return code {metric.nvmlReturn}"
                log.debug("NVML %s on %s skipped: %s", field, key, self.skipped[key, field])
        return values


def _memory_v2(nvml, h, version):
    try:
        return nvml.nvmlDeviceGetMemoryInfo(h, version=version)
    except TypeError as exc:  # a pynvml whose nvmlDeviceGetMemoryInfo takes no version
        raise AttributeError("nvmlDeviceGetMemoryInfo has no version argument") from exc


def _not_supported(nvml) -> type[BaseException]:
    return getattr(nvml, "NVMLError_NotSupported", nvml.NVMLError)


def _self_check(polls: int = 3, interval_s: float = 1.0) -> int:
    """Poll the real NVML a few times; print every reading, the fields it lacks and every skipped call."""
    import time

    from ingestion.sources.nvml_fields import NVML_TO_DCGM

    logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    try:
        sampler = NvmlSampler(pool="self-check")
    except RuntimeError as exc:
        print(exc)
        return 1
    with sampler:
        for number in range(1, polls + 1):
            time.sleep(interval_s if number > 1 else 0)
            try:
                readings = sampler.read()
            except Exception as exc:  # noqa: BLE001 - a self-check reports, it does not crash
                print(f"poll {number}: read() FAILED {type(exc).__name__}: {exc}")
                continue
            print(f"\n== poll {number}: {len(readings)} readings")
            for reading in readings:
                where = f"gpu {reading.get('gpu_index')} {reading.get('gpu_uuid')} {reading.get('model_name')!r}"
                if reading.get("gpu_instance_id") is not None:
                    where += f" MIG {reading.get('mig_profile')} gi={reading.get('gpu_instance_id')}"
                print(f"-- {where}")
                for field, value in reading.items():
                    print(f"   {field:24} {value!r}")
                print(f"   {'(absent)':24} {', '.join(f for f in NVML_TO_DCGM if f not in reading) or 'none'}")
            try:
                table = readings_to_table(readings, pool=sampler.pool, source="nvml")
                print(f"   -> {table.num_rows} gpu_samples rows: {sorted(set(table.column('metric').to_pylist()))}")
            except Exception as exc:  # noqa: BLE001
                print(f"   -> readings_to_table FAILED {type(exc).__name__}: {exc}")
        print("\n== NVML calls skipped (device, field: error), each logged once")
        for (device, field), error in sorted(sampler.skipped.items()) or [(("-", "none"), "")]:
            print(f"   {device} {field}: {error}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_self_check())
