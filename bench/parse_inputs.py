"""Synthetic, seeded inputs for the parsing benchmark (bench/parse.py), grown from the real fixtures in ../shared.

`dcgm_pages`: what dcgm-exporter serves on each of 128 nodes x 8 GPUs: the 25 metric fields of its default
counters file (`etc_default-counters.csv`, label rows skipped) with their HELP/TYPE lines, and one sample line
per GPU shaped like the real full-label sample `kubermatic14870_quadro_t2000_full_labels.prom` (same label
names in the same order; gpu, UUID, pci_bus_id, device, Hostname and the values vary).

`query_range_bodies`: the raw JSON bodies Prometheus answers for one field of 1,024 GPUs over one UTC day at a
60 s step, one body per range that `chunk_ranges` cuts (one for 1,440 points), formatted as Prometheus
formats them (timestamps as seconds, values as strings).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import uuid
from pathlib import Path

import numpy as np

from ingestion.sources.prometheus import MAX_POINTS_PER_SERIES, chunk_ranges

SHARED = Path(__file__).resolve().parents[2] / "shared"
DCGM = SHARED / "fixtures" / "dcgm"
COUNTERS = DCGM / "dcgm-exporter" / "etc_default-counters.csv"
TEMPLATE = DCGM / "samples" / "kubermatic14870_quadro_t2000_full_labels.prom"

NODES, GPUS_PER_NODE = 128, 8
MODEL, DRIVER = "NVIDIA H100 80GB HBM3", "535.129.03"  # as in samples/issue512_h100_mig_pods.prom
# PCI bus of the eight GPUs of an HGX H100 board
PCI_BUSES = ("18", "2A", "3A", "5D", "9A", "AB", "BA", "DB")
DAY = dt.date(2026, 11, 26)
STEP_S = 60
QUERY_METRIC = "DCGM_FI_DEV_GPU_UTIL"


def counter_fields(path: Path = COUNTERS) -> list[tuple[str, str, str]]:
    """(field, Prometheus type, HELP text) of every active metric row; `label` rows are labels, not metrics."""
    fields = []
    with path.open(encoding="utf-8") as f:
        for row in csv.reader(line for line in f if line.strip() and not line.lstrip().startswith("#")):
            name, kind, help_text = (cell.strip() for cell in row[:2] + [",".join(row[2:])])
            if kind != "label":
                fields.append((name, kind, help_text))
    return fields


def template_label_names(path: Path = TEMPLATE) -> list[str]:
    """The label names of the template's first sample line, in the order dcgm-exporter wrote them."""
    line = next(ln for ln in path.read_text(encoding="utf-8").splitlines() if ln and ln[0] != "#")
    return re.findall(r'([A-Za-z_][A-Za-z0-9_]*)="', line[line.index("{") : line.rindex("}")])


def gpu_labels(rng: np.random.Generator, node: int, gpu: int) -> dict[str, str]:
    """One GPU's label values (the template's label names)."""
    return {
        "gpu": str(gpu),
        "UUID": f"GPU-{uuid.UUID(bytes=rng.bytes(16), version=4)}",
        "pci_bus_id": f"00000000:{PCI_BUSES[gpu]}:00.0",
        "device": f"nvidia{gpu}",
        "modelName": MODEL,
        "Hostname": f"gpu-node-{node:03d}",
        "DCGM_FI_DRIVER_VERSION": DRIVER,
    }


def _label_text(names: list[str], values: dict[str, str]) -> str:
    return ",".join(f'{name}="{values[name]}"' for name in names)


def _value_text(rng: np.random.Generator, field: str) -> str:
    """dcgm-exporter writes integer fields with %d and the PROF ratios/rates with %f."""
    if field.startswith("DCGM_FI_PROF_"):
        return f"{rng.random() * (1e9 if field.endswith('_BYTES') else 1.0):f}"
    return str(int(rng.integers(0, 100_000 if "ENERGY" in field or "FB_" in field else 1_500)))


def dcgm_pages(seed: int = 6, scrape: int = 0) -> list[str]:
    """The /metrics page of every node at its `scrape`-th scrape, as dcgm-exporter writes it (families in
    counters-file order): the same GPUs (labels from `seed`) at every scrape, new values at each."""
    label_rng, value_rng = np.random.default_rng(seed), np.random.default_rng([seed, scrape])
    fields, names = counter_fields(), template_label_names()
    pages = []
    for node in range(NODES):
        label_sets = [_label_text(names, gpu_labels(label_rng, node, g)) for g in range(GPUS_PER_NODE)]
        lines = []
        for field, kind, help_text in fields:
            lines += [f"# HELP {field} {help_text}", f"# TYPE {field} {kind}"]
            lines += [f"{field}{{{labels}}} {_value_text(value_rng, field)}" for labels in label_sets]
        pages.append("\n".join(lines) + "\n")
    return pages


def day_window(day: dt.date = DAY, step_s: int = STEP_S) -> tuple[float, float]:
    """First and last evaluation time of `day`, as fetch_day computes them."""
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()
    return start, start + 86_400 - step_s


def _series_json(labels: dict[str, str], ts: np.ndarray, values: np.ndarray) -> dict:
    pairs = zip(ts.tolist(), values.tolist(), strict=True)
    points = [[int(t) if t == int(t) else float(t), f"{v:.6g}"] for t, v in pairs]
    return {"metric": labels, "values": points}


def query_range_bodies(seed: int = 6, metric: str = QUERY_METRIC) -> list[bytes]:
    """Prometheus's query_range answer for `metric` of 1,024 GPUs over DAY, one body per chunk_ranges range."""
    rng = np.random.default_rng(seed)
    start, end = day_window()
    bodies = []
    gpus = [gpu_labels(rng, node, g) for node in range(NODES) for g in range(GPUS_PER_NODE)]
    for chunk_start, chunk_end in chunk_ranges(start, end, STEP_S, MAX_POINTS_PER_SERIES):
        ts = np.arange(chunk_start, chunk_end + STEP_S / 2, STEP_S)
        result = []
        for i, labels in enumerate(gpus):
            node = labels["Hostname"]
            series_labels = {"__name__": metric, **labels, "instance": f"{node}:9400", "job": "dcgm-exporter"}
            values = np.clip(rng.normal(60 + (i % 7) * 5, 20, len(ts)).round(), 0, 100)
            result.append(_series_json(series_labels, ts, values))
        payload = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        bodies.append(json.dumps(payload, separators=(",", ":")).encode())
    return bodies
