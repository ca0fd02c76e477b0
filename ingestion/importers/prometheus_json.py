"""A response saved from the Prometheus HTTP API, as gpu_samples (source 'prometheus').

Accepted: the JSON body of `GET /api/v1/query_range` (resultType `matrix`: `values` per series) or of
`GET /api/v1/query` (resultType `vector`: one `value` per series), e.g. saved with
`curl -s 'http://prom:9090/api/v1/query_range?query=DCGM_FI_DEV_GPU_UTIL&start=...&end=...&step=60' > util.json`.
The series labels are decoded as dcgm-exporter labels (`prometheus.decode_series`); a series without a
GPU UUID label, or without a metric name (`__name__`, absent when the query applied a function), is
quarantined with its labels. A `status: error` body is refused with an error naming the file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ingestion.importers import ImportResult
from ingestion.sources.prometheus import decode_series

log = logging.getLogger(__name__)


def _points(item: dict[str, Any], result_type: str) -> list[Any]:
    if result_type == "matrix":
        return item.get("values") or []
    value = item.get("value")
    return [value] if value else []


def read_prometheus_json(path: str | Path, pool: str) -> ImportResult:
    path = Path(path)
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"{path}: not a JSON document ({exc})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: not a Prometheus API response (expected a JSON object)")
    if payload.get("status") == "error":
        raise ValueError(f"{path}: the saved Prometheus response is an error ({payload.get('errorType')}): "
                         f"{payload.get('error')}")
    data = payload.get("data") if "data" in payload else payload  # also accept the bare `data` object
    if not isinstance(data, dict) or "resultType" not in data:
        raise ValueError(f"{path}: not a Prometheus API response (no data.resultType)")
    result_type = data["resultType"]
    if result_type not in ("matrix", "vector"):
        raise ValueError(f"{path}: resultType {result_type!r} has no series; save a query_range (matrix) or "
                         f"query (vector) response")
    for warning in payload.get("warnings") or ():
        log.warning("%s: Prometheus warning: %s", path, warning)

    series, rejected = [], []
    for number, item in enumerate(data.get("result") or [], 1):
        labels = dict(item.get("metric") or {})
        points = _points(item, result_type)
        if not labels.get("__name__"):
            rejected.append({"record": number, "reason": "series has no metric name (__name__ label)",
                             "labels": labels, "points": len(points), "origin": str(path)})
            continue
        try:
            ts = np.array([float(p[0]) for p in points], dtype=np.float64)
            values = np.array([p[1] for p in points], dtype=object).astype(np.float64)  # "NaN", "+Inf" parse
        except (TypeError, ValueError, IndexError) as exc:
            rejected.append({"record": number, "reason": f"unreadable sample pairs: {exc}", "labels": labels,
                             "points": len(points), "origin": str(path)})
            continue
        series.append((number, labels, ts, values))

    table, missing_uuid = decode_series([(lb, ts, v) for _, lb, ts, v in series], pool)
    numbers = {id(lb): n for n, lb, _, _ in series}
    for record in missing_uuid:
        rejected.append({"record": numbers.get(id(record["labels"])), **record, "origin": str(path)})
    rejected.sort(key=lambda r: r["record"] or 0)
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": table}, rejected={"gpu_samples": rejected})
