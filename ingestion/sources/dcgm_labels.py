"""How dcgm-exporter's labels become gpu_samples columns; shared by the /metrics parser and Prometheus.

Every variant in fixtures/dcgm/samples: `UUID` / `uuid` (old namespace; under MIG the parent GPU),
`Hostname` / `hostname`, `GPU_I_PROFILE` / `GPU_I_ID` for MIG instances, and the workload's pod in
`pod`/`namespace`/`container`, `pod_name`/`pod_namespace`/`container_name` (old namespace) or
`exported_*`. The exported_* labels win when present: Prometheus only writes them when its own target
label (the exporter's pod) collided with the exporter's, so exported_* is the workload (fixture issue340).
"""

from __future__ import annotations

# contract column -> label names to try; the first non-empty one wins
LABELS: dict[str, tuple[str, ...]] = {
    "hostname": ("Hostname", "hostname"),
    "gpu_index": ("gpu",),
    "gpu_uuid": ("UUID", "uuid"),
    "model_name": ("modelName",),
    "mig_profile": ("GPU_I_PROFILE",),
    "gpu_instance_id": ("GPU_I_ID",),
    "namespace": ("exported_namespace", "namespace", "pod_namespace"),
    "pod": ("exported_pod", "pod", "pod_name"),
    "container": ("exported_container", "container", "container_name"),
}
INT_COLUMNS = ("gpu_index", "gpu_instance_id")


def first_label(labels: dict[str, str], column: str) -> str | None:
    """The value for `column`: the first of its label names present with a non-empty value."""
    for name in LABELS[column]:
        value = labels.get(name)
        if value:
            return value
    return None
