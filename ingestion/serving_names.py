"""Serving engines' metric names as data: the dbt seed `serving_metric_names.csv`, read once.

The seed lists every family an engine exposes (vLLM, SGLang, TGI, Triton, Dynamo, and the product's trainer
token counter) by the name it has on the wire, without the histogram suffixes, with its type and the canonical
serving metric it measures (empty: context only, which importers and sources skip and count). `lookup` maps a
series name as received to its family and the part of the family it is: `_bucket`, `_sum` and `_count` of a
histogram, or the value of a counter or gauge. Series ending in `_created` (the start time that
prometheus_client adds to counters and histograms) are never data.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

DBT_PROJECT_FILE = Path(__file__).resolve().parents[1] / "dbt_project" / "dbt_project.yml"
SEED = DBT_PROJECT_FILE.parent / "seeds" / "serving_metric_names.csv"
TYPES = ("counter", "gauge", "histogram")
HISTOGRAM_PARTS = {"_bucket": "bucket", "_sum": "sum", "_count": "count"}
CREATED_SUFFIX = "_created"


@dataclass(frozen=True)
class ServingFamily:
    """One row of the seed."""

    engine: str
    family: str
    type: str  # counter | gauge | histogram
    canonical_metric: str | None  # None: context only, not landed
    scale: float  # multiplies the value (and a bucket's `le`) to reach canonical_unit
    canonical_unit: str
    status: str  # current | deprecated | renamed | removed
    note: str

    @property
    def used(self) -> bool:
        """Whether the product lands this family (it has a canonical metric)."""
        return self.canonical_metric is not None

    def series_names(self) -> tuple[str, ...]:
        """The names its series have on the wire (`_created` left out)."""
        if self.type == "histogram":
            return tuple(self.family + suffix for suffix in HISTOGRAM_PARTS)
        return (self.family,)


@dataclass(frozen=True)
class SeriesName:
    """What a series name is: its family, and `part` (bucket, sum, count, or value for counters and gauges)."""

    family: ServingFamily
    part: str

    @property
    def used(self) -> bool:
        """Whether the product reads this series: its family has a canonical metric, and a bucket only of a
        metric whose percentiles the warehouse computes (`quantile_metrics`)."""
        return self.family.used and (self.part != "bucket" or self.family.canonical_metric in quantile_metrics())


def is_created(name: str) -> bool:
    """A `_created` series: when a counter or histogram was created, never a measurement."""
    return name.endswith(CREATED_SUFFIX)


@functools.cache
def families() -> dict[str, ServingFamily]:
    """Every family of the seed by its exposed name."""
    by_name: dict[str, ServingFamily] = {}
    with SEED.open(encoding="utf-8", newline="") as fh:
        for line, row in enumerate(csv.DictReader(fh), start=2):
            if row["type"] not in TYPES:
                raise ValueError(f"{SEED}, line {line}: field 'type' must be one of {TYPES}, got {row['type']!r}")
            if row["family"] in by_name:
                raise ValueError(f"{SEED}, line {line}: field 'family' {row['family']!r} is listed twice")
            by_name[row["family"]] = ServingFamily(
                engine=row["engine"], family=row["family"], type=row["type"],
                canonical_metric=row["canonical_metric"] or None, scale=float(row["scale"]),
                canonical_unit=row["canonical_unit"], status=row["status"], note=row["note"])
    return by_name


def lookup(name: str) -> SeriesName | None:
    """The family and part of the series `name` as received; None for a name the seed does not list or a
    `_created` series. A counter or gauge is matched by its whole name first (Triton's gauge
    `nv_inference_pending_request_count` is not the `_count` of a histogram)."""
    if is_created(name):
        return None
    known = families()
    found = known.get(name)
    if found is not None:
        return SeriesName(found, "value") if found.type != "histogram" else None
    for suffix, part in HISTOGRAM_PARTS.items():
        if name.endswith(suffix):
            found = known.get(name[: -len(suffix)])
            if found is not None and found.type == "histogram":
                return SeriesName(found, part)
    return None


@functools.cache
def quantile_metrics() -> frozenset[str]:
    """The canonical metrics whose percentiles the warehouse computes from histogram buckets: the dbt project's
    var `serving_quantile_metrics` (no model reads the other histograms' buckets)."""
    import yaml  # only for the sources that ask

    return frozenset(yaml.safe_load(DBT_PROJECT_FILE.read_text(encoding="utf-8"))["vars"]["serving_quantile_metrics"])
