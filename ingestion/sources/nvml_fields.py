"""How NVML readings become gpu_samples rows; shared by the live NVML sampler and the H200 lab replay.

A reading is a dict keyed by the column names of `fixtures/h200_lab/nvml_samples.csv` (what
`capture.py` recorded with pynvml). Each field lands under the dcgm-exporter name and unit that the
staging seed `metric_catalog.csv` already maps, so NVML data and DCGM data meet on one scale: NVML's
energy counter (J here) becomes DCGM's mJ counter, and Hopper's GPM percentages become DCGM's 0-1
profiling ratios (GPM SM utilisation ~ DCGM_FI_PROF_SM_ACTIVE, and so on).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pyarrow as pa

from ingestion.contracts import GPU_SAMPLES

# reading field -> (gpu_samples metric, factor from the reading's unit to the metric's raw unit)
NVML_TO_DCGM: dict[str, tuple[str, float]] = {
    "gpu_util_pct": ("DCGM_FI_DEV_GPU_UTIL", 1.0),  # nvmlDeviceGetUtilizationRates().gpu, %
    "mem_util_pct": ("DCGM_FI_DEV_MEM_COPY_UTIL", 1.0),  # .memory, %
    "fb_used_mib": ("DCGM_FI_DEV_FB_USED", 1.0),  # nvmlDeviceGetMemoryInfo(v2), MiB
    "fb_free_mib": ("DCGM_FI_DEV_FB_FREE", 1.0),
    "fb_total_mib": ("DCGM_FI_DEV_FB_TOTAL", 1.0),
    "power_w": ("DCGM_FI_DEV_POWER_USAGE", 1.0),  # nvmlDeviceGetPowerUsage / 1000, W
    "energy_j": ("DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", 1000.0),  # J -> DCGM's mJ counter
    "sm_clock_mhz": ("DCGM_FI_DEV_SM_CLOCK", 1.0),
    "mem_clock_mhz": ("DCGM_FI_DEV_MEM_CLOCK", 1.0),
    "temp_c": ("DCGM_FI_DEV_GPU_TEMP", 1.0),
    "clocks_event_reasons": ("DCGM_FI_DEV_CLOCKS_EVENT_REASONS", 1.0),  # bitmask
    "n_compute_procs": ("NVML_COMPUTE_PROCESSES", 1.0),  # no DCGM field: count of compute processes
    "gpm_sm_util_pct": ("DCGM_FI_PROF_SM_ACTIVE", 0.01),  # GPM %, DCGM 0-1 ratio
    "gpm_sm_occupancy_pct": ("DCGM_FI_PROF_SM_OCCUPANCY", 0.01),
    "gpm_tensor_util_pct": ("DCGM_FI_PROF_PIPE_TENSOR_ACTIVE", 0.01),
    "gpm_dram_bw_util_pct": ("DCGM_FI_PROF_DRAM_ACTIVE", 0.01),
    "gpm_graphics_util_pct": ("DCGM_FI_PROF_GR_ENGINE_ACTIVE", 0.01),
}
# identity columns a reading may carry (a MIG instance reading sets mig_profile and gpu_instance_id)
IDENTITY = ("hostname", "gpu_index", "gpu_uuid", "model_name", "mig_profile", "gpu_instance_id")


def readings_to_table(readings: Iterable[Mapping[str, object]], *, pool: str, source: str) -> pa.Table:
    """gpu_samples rows from readings; each needs `ts` (aware datetime) and `gpu_uuid`.

    A field that is absent, None or NaN (NotSupported, or no GPM value for the interval) yields no row.
    """
    rows = []
    for reading in readings:
        identity = {column: reading.get(column) for column in IDENTITY}
        for field, (metric, factor) in NVML_TO_DCGM.items():
            value = reading.get(field)
            if value is None or value == "":
                continue
            value = float(value)
            if math.isnan(value):
                continue
            rows.append({"ts": reading["ts"], "pool": pool, **identity, "namespace": None, "pod": None,
                         "container": None, "metric": metric, "value": value * factor, "source": source})
    return pa.Table.from_pylist(rows, schema=GPU_SAMPLES.schema)
