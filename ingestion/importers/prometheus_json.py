"""A response saved from the Prometheus HTTP API, as gpu_samples (source 'prometheus').

Accepted: the JSON body of `GET /api/v1/query_range` (resultType `matrix`: `values` per series) or of
`GET /api/v1/query` (resultType `vector`: one `value` per series), e.g. saved with
`curl -s 'http://prom:9090/api/v1/query_range?query=DCGM_FI_DEV_GPU_UTIL&start=...&end=...&step=60' > util.json`.
The series labels are decoded as dcgm-exporter labels (`prometheus.decode_series`).

Quarantined, with the file, the series' number in `data.result` (`record`) and the field: a series that
is not an object, whose `metric` is not an object of string labels (or holds bytes that are not UTF-8),
that has no metric name (`__name__`, absent when the query applied a function) or no GPU UUID label,
whose GPU labels do not fit their columns (an index beyond int32), or whose `values` is not a list;
and, with the point's index too, a sample that is not a `[unix seconds, "value"]` pair, is outside
2000-01-01 .. now + 1 day, or whose value is not a finite number (`NaN`, `+Inf`). A body that is not
one JSON object (unreadable, nested too deeply), a `status: error` body, or one without matrix/vector
series is refused with an error naming the file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from ingestion.importers import ImportResult
from ingestion.importers.values import Bad, check_gpu_labels, check_text, number, parse_ts, shown
from ingestion.sources.prometheus import decode_series

log = logging.getLogger(__name__)


def _printable(labels: Any) -> Any:
    """Labels as a quarantine record can hold them: bytes that were not UTF-8 escaped (`\\udcff`)."""
    if isinstance(labels, dict):
        return {_printable(k): _printable(v) for k, v in labels.items()}
    return labels.encode("utf-8", "backslashreplace").decode("utf-8") if isinstance(labels, str) else labels


def _labels(item: dict) -> dict[str, str]:
    labels = item.get("metric") or {}
    if not isinstance(labels, dict):
        raise Bad("metric", f"not an object of labels: {shown(labels)}")
    for name, value in labels.items():
        if not isinstance(value, str):
            raise Bad("metric", f"label {_printable(name)!r} is not a string: {shown(value)}")
        for text in (name, value):
            try:
                check_text("metric", text)
            except Bad as exc:
                raise Bad("metric", f"label {shown(_printable(name))}: {exc.problem}") from None
    if not labels.get("__name__"):
        raise Bad("metric", "series has no metric name (__name__ label)")
    check_gpu_labels(labels, "metric")
    return labels


def _points(item: dict, result_type: str) -> list[Any]:
    if result_type == "matrix":
        points = item.get("values") or []
        if not isinstance(points, list):
            raise Bad("values", f"not a list of [time, value] pairs: {shown(points)}")
        return points
    value = item.get("value")
    return [value] if value else []


def _sample(point: Any) -> tuple[float, float]:
    """(unix seconds, value) of one `[time, "value"]` pair; Bad when unreadable, implausible or not finite."""
    if not isinstance(point, list) or len(point) != 2:
        raise Bad("values", f"not a [time, value] pair: {shown(point)}")
    seconds = number(point[0], "values", required=True)
    try:
        parse_ts(seconds)
    except ValueError as exc:
        raise Bad("values", f"time {exc}") from None
    return seconds, number(point[1], "values", required=True)


def read_prometheus_json(path: str | Path, pool: str) -> ImportResult:
    path = Path(path)
    try:  # bytes that are not UTF-8 stay as surrogates: they cost only the series that holds them
        payload = json.loads(path.read_bytes().decode("utf-8-sig", "surrogateescape"))
    except RecursionError:
        raise ValueError(f"{path}: not a JSON document (nested too deeply)") from None
    except ValueError as exc:
        raise ValueError(f"{path}: not a JSON document ({shown(str(exc), 200)})") from None
    if not isinstance(payload, dict):
        raise ValueError(f"{path}: not a Prometheus API response (expected a JSON object)")
    if payload.get("status") == "error":
        raise ValueError(f"{path}: the saved Prometheus response is an error ({payload.get('errorType')}): "
                         f"{_printable(payload.get('error'))}")
    data = payload.get("data") if "data" in payload else payload  # also accept the bare `data` object
    if not isinstance(data, dict) or "resultType" not in data:
        raise ValueError(f"{path}: not a Prometheus API response (no data.resultType)")
    result_type = data["resultType"]
    if result_type not in ("matrix", "vector"):
        raise ValueError(f"{path}: resultType {shown(_printable(result_type))} has no series; save a query_range "
                         f"(matrix) or query (vector) response")
    items = data.get("result") or []
    if not isinstance(items, list):
        raise ValueError(f"{path}: data.result is not a list of series")
    warnings = payload.get("warnings") or []
    for warning in warnings if isinstance(warnings, list) else [warnings]:
        log.warning("%s: Prometheus warning: %s", path, _printable(warning))

    series, rejected = [], []
    for position, item in enumerate(items, 1):
        if not isinstance(item, dict):
            rejected.append({"record": position, "field": "result", "reason": f"a series must be an object, got "
                             f"{shown(_printable(item))}", "origin": str(path)})
            continue
        try:
            labels = _labels(item)
            points = _points(item, result_type)
        except Bad as exc:
            rejected.append({"record": position, "field": exc.field, "reason": str(exc),
                             "labels": _printable(item.get("metric")), "origin": str(path)})
            continue
        samples = []
        for index, point in enumerate(points):
            try:
                samples.append(_sample(point))
            except Bad as exc:
                rejected.append({"record": position, "point": index, "field": exc.field, "reason": str(exc),
                                 "labels": _printable(labels), "origin": str(path)})
        pairs = np.array(samples, dtype=np.float64).reshape(-1, 2)
        series.append((position, labels, pairs[:, 0], pairs[:, 1]))

    table, missing_uuid = decode_series([(lb, ts, v) for _, lb, ts, v in series], pool)
    numbers = {id(lb): n for n, lb, _, _ in series}
    for record in missing_uuid:
        rejected.append({"record": numbers.get(id(record["labels"])), "field": "metric", **record, "origin": str(path)})
    rejected.sort(key=lambda r: (r["record"], r.get("point", -1)))
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": table}, rejected={"gpu_samples": rejected})
