"""Prometheus history as a gpu_samples source (DESIGN.md, "Landing datasets").

`fetch_day` reads one UTC day of dcgm-exporter metrics through `GET /api/v1/query_range`, in time chunks
that stay under Prometheus's 11,000-points-per-series limit, and decodes the `matrix` results into a
`gpu_samples` table (source 'prometheus') plus quarantine records for series without a GPU UUID. The
caller hands both to `ingestion.landing.write_day` (the records as `rejected`).

Secrets: a bearer token or basic-auth password is read from an environment variable whose NAME is
passed in; its value never appears in logs, reports or exceptions. A base URL with credentials in it
(`user:pass@`) is refused. What Prometheus (or a proxy in front of it) sends back in an error or a warning
is redacted (`collector.redact`: the secrets' values, auth headers, Bearer/Basic tokens, `password=`-like
pairs) before it reaches a log line or an exception.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import gc
import http.client
import json
import logging
import os
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa

from ingestion.collector import redact
from ingestion.contracts import GPU_SAMPLES
from ingestion.sources.dcgm_labels import INT_COLUMNS, LABELS, first_label
from ingestion.sources.dcgm_scrape import has_credentials
from ingestion.yaml_keys import is_env_name

log = logging.getLogger(__name__)

SOURCE = "prometheus"
MAX_POINTS_PER_SERIES = 11_000  # Prometheus rejects query_range requests above this per series
DEFAULT_METRICS = (
    "DCGM_FI_DEV_GPU_UTIL",
    "DCGM_FI_PROF_GR_ENGINE_ACTIVE",
    "DCGM_FI_PROF_SM_ACTIVE",
    "DCGM_FI_DEV_POWER_USAGE",
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION",
    "DCGM_FI_DEV_FB_USED",
    "DCGM_FI_DEV_FB_FREE",
)
Series = tuple[dict[str, str], np.ndarray, np.ndarray]  # (labels incl. __name__, ts in unix seconds, values)


class PrometheusError(RuntimeError):
    """A query failed: Prometheus answered `status: error`, a 4xx, or 5xx/timeouts past the retries."""

    def __init__(self, message: str, *, query: str, error_type: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.query = query
        self.error_type = error_type
        self.http_status = http_status


@dataclass
class FetchReport:
    day: dt.date
    metrics: tuple[str, ...]
    requests: int = 0
    retries: int = 0
    chunks: int = 0
    series: int = 0
    rows: int = 0
    duplicate_points: int = 0
    dropped_outside_day: int = 0
    quarantined_series: int = 0
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrometheusClient:
    """Minimal client for `/api/v1/query_range` (stdlib HTTP, retries 5xx and timeouts with backoff)."""

    base_url: str
    bearer_token_env: str | None = None  # NAME of the variable holding the token
    basic_auth_user: str | None = None
    basic_auth_password_env: str | None = None  # NAME of the variable holding the password
    verify_tls: bool = True
    ca_file: str | None = None  # CA bundle for a private CA (with verify_tls)
    timeout_s: float = 60.0
    retries: int = 3
    backoff_s: float = 1.0

    def __post_init__(self) -> None:
        if has_credentials(self.base_url):
            raise PrometheusError("the Prometheus URL has credentials in it (user:password@ or a ?token=-like "
                                  "parameter): use bearer_token_env or basic_auth_user/basic_auth_password_env",
                                  query="")
        for option in ("bearer_token_env", "basic_auth_password_env"):
            name = getattr(self, option)
            if name and not is_env_name(name):  # not shown: it may be the secret itself
                raise PrometheusError(f"{option} must be the NAME of an environment variable (like PROM_TOKEN); "
                                      f"what was given does not look like one", query="")

    def _secrets(self) -> tuple[str, ...]:
        """The credentials' values, to redact from what comes back."""
        names = (self.bearer_token_env, self.basic_auth_password_env)
        return tuple(value for value in (os.environ.get(n) for n in names if n) if value)

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.bearer_token_env:
            token = os.environ.get(self.bearer_token_env)
            if not token:
                raise PrometheusError(f"environment variable {self.bearer_token_env} is not set", query="")
            headers["Authorization"] = f"Bearer {token}"
        elif self.basic_auth_user is not None:
            env = self.basic_auth_password_env
            password = os.environ.get(env, "") if env else ""
            raw = f"{self.basic_auth_user}:{password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        return headers

    def query_range(self, query: str, start: float, end: float, step_s: float,
                    report: FetchReport | None = None) -> list[dict[str, Any]]:
        """Return the `matrix` result (list of {metric, values}) of one query_range request."""
        params = {"query": query, "start": _fmt(start), "end": _fmt(end), "step": _fmt(step_s)}
        status, body, attempts = self._get("/api/v1/query_range", params, query, report)
        return self._decode(query, status, body, attempts=attempts, report=report, secrets=self._secrets())

    def label_values(self, label: str, start: float, end: float, match: str = "",
                     report: FetchReport | None = None) -> list[str]:
        """The values of `label` in series present between `start` and `end` (`GET /api/v1/label/<label>/values`),
        only in series that `match` selects when given (e.g. '{namespace="llm"}')."""
        params = {"start": _fmt(start), "end": _fmt(end)}
        if match:
            params["match[]"] = match
        what = f"label values of {label}" + (f" in {match}" if match else "")
        status, body, attempts = self._get(f"/api/v1/label/{urllib.parse.quote(label)}/values", params, what, report)
        data = self._data(what, status, body, attempts=attempts, report=report, secrets=self._secrets())
        if not isinstance(data, list) or not all(isinstance(v, str) for v in data):
            raise PrometheusError(f"Prometheus {what}: expected a list of strings", query=what)
        return data

    def _get(self, path: str, params: dict[str, str], what: str, report: FetchReport | None
             ) -> tuple[int | None, bytes, int]:
        """(HTTP status or None, body, attempts) of one GET, retrying 5xx and timeouts with backoff."""
        url = self.base_url.rstrip("/") + path + "?" + urllib.parse.urlencode(params)
        context = None
        if url.startswith("https"):
            context = ssl.create_default_context(cafile=self.ca_file)
            if not self.verify_tls:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
        request = urllib.request.Request(url, headers=self._headers(), method="GET")
        attempt = 0
        while True:
            if report is not None:
                report.requests += 1
            try:
                with urllib.request.urlopen(request, timeout=self.timeout_s, context=context) as response:
                    status, body = response.status, response.read()
            except urllib.error.HTTPError as exc:
                status, body = exc.code, exc.read()
            except (TimeoutError, urllib.error.URLError, ConnectionError, http.client.HTTPException) as exc:
                status, body = None, repr(getattr(exc, "reason", exc)).encode()
            retryable = status is None or status >= 500
            if retryable and attempt < self.retries:
                attempt += 1
                if report is not None:
                    report.retries += 1
                log.warning("prometheus %s for %r, retry %d/%d", status or "timeout/connection error", what,
                            attempt, self.retries)
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
                continue
            return status, body, attempt + 1

    @staticmethod
    def _decode(query: str, status: int | None, body: bytes, *, attempts: int,
                report: FetchReport | None, secrets: Sequence[str] = ()) -> list[dict[str, Any]]:
        """The `matrix` result of a response; PrometheusError otherwise, its text redacted."""
        data = PrometheusClient._data(query, status, body, attempts=attempts, report=report, secrets=secrets)
        if not isinstance(data, dict) or data.get("resultType") != "matrix":
            got = data.get("resultType") if isinstance(data, dict) else type(data).__name__
            raise PrometheusError(f"Prometheus query {query!r}: expected a matrix, got {got!r}", query=query)
        return data.get("result") or []

    @staticmethod
    def _data(query: str, status: int | None, body: bytes, *, attempts: int,
              report: FetchReport | None, secrets: Sequence[str] = ()) -> Any:
        """The `data` of a successful response; PrometheusError otherwise, its text redacted."""
        try:
            with gc_paused():
                payload = json.loads(body)
        except ValueError:
            payload = None
        if isinstance(payload, dict) and payload.get("status") == "error":
            raise PrometheusError(
                redact(f"Prometheus query {query!r} failed ({payload.get('errorType')}, HTTP {status}): "
                       f"{payload.get('error')}", secrets),
                query=query, error_type=payload.get("errorType"), http_status=status,
            )
        if status is None or status >= 400 or not isinstance(payload, dict):
            what = f"HTTP {status}" if status else "timeout/connection error"
            # redacted whole, then cut: a secret cut in two at the limit would no longer match
            snippet = redact(body[:2000].decode("utf-8", "replace"), secrets)[:200]
            raise PrometheusError(f"Prometheus query {query!r} failed after {attempts} attempt(s): {what}: {snippet}",
                                  query=query, http_status=status)
        for warning in payload.get("warnings") or ():
            warning = redact(str(warning), secrets)
            log.warning("prometheus warning for %r: %s", query, warning)
            if report is not None:
                report.warnings.append(f"{query}: {warning}")
        return payload.get("data")


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building millions of small acyclic objects.

    A day of one field for 1,024 GPUs is 1.5 million `[ts, "value"]` lists; every few hundred of them the
    collector would otherwise walk all the young ones, and the older generations again and again, which
    took about two thirds of `json.loads` (bench/README.md, "Parsing"). Nothing is freed later than without
    the pause: these objects hold no cycles, reference counting frees them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _fmt(seconds: float) -> str:
    return f"{seconds:.3f}".rstrip("0").rstrip(".")


def chunk_ranges(start: float, end: float, step_s: float, max_points: int = MAX_POINTS_PER_SERIES
                 ) -> list[tuple[float, float]]:
    """Split [start, end] (both evaluated) into ranges of at most `max_points` steps each."""
    if max_points < 1:
        raise ValueError("max_points must be >= 1")
    span = (max_points - 1) * step_s
    ranges, t = [], start
    while t <= end:
        ranges.append((t, min(t + span, end)))
        t += span + step_s
    return ranges




def range_series(client: PrometheusClient, query: str, start: float, end: float, step_s: float,
                 report: FetchReport, *, name: str | None = None, max_points: int = MAX_POINTS_PER_SERIES
                 ) -> list[Series]:
    """`query` over [start, end] in chunks of at most `max_points` steps: one (labels, ts, values) per label set,
    each point once and in time order, none outside [start, end]. `name` is the `__name__` of results without one
    (what a function such as avg_over_time returns)."""
    parts: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], list[list[Any]]]] = {}
    for chunk_start, chunk_end in chunk_ranges(start, end, step_s, max_points):
        report.chunks += 1
        for item in client.query_range(query, chunk_start, chunk_end, step_s, report):
            labels = item.get("metric") or {}
            if name is not None:
                labels.setdefault("__name__", name)
            key = tuple(sorted(labels.items()))
            parts.setdefault(key, (labels, []))[1].append(item.get("values") or [])
    series: list[Series] = []
    for labels, chunks in parts.values():
        points = [p for chunk in chunks for p in chunk]
        if not points:
            continue
        ts = np.array([p[0] for p in points], dtype=np.float64)
        values = np.array([p[1] for p in points], dtype=object).astype(np.float64)  # "NaN", "+Inf" parse
        unique_ts, first = np.unique(ts, return_index=True)  # drops points repeated by adjacent chunks
        report.duplicate_points += len(ts) - len(unique_ts)
        inside = (unique_ts >= start) & (unique_ts <= end)  # a proxy may answer more than was asked
        report.dropped_outside_day += int((~inside).sum())
        series.append((labels, unique_ts[inside], values[first][inside]))
    return series


def decode_series(series: Sequence[Series], pool: str
                  ) -> tuple[pa.Table, list[dict[str, Any]]]:
    """Build a gpu_samples table from (labels, ts_seconds, values) per series; UUID-less series are quarantined."""
    kept, quarantine = [], []
    for labels, ts, values in series:
        if first_label(labels, "gpu_uuid") is None:
            quarantine.append({
                "reason": "series has no GPU UUID label (UUID/uuid)",
                "metric": labels.get("__name__"),
                "labels": labels,
                "points": len(ts),
            })
        else:
            kept.append((labels, ts, values))
    lengths = np.array([len(ts) for _, ts, _ in kept], dtype=np.int64)
    columns: dict[str, pa.Array] = {}
    if kept:
        ts_s = np.concatenate([ts for _, ts, _ in kept])
        micros = np.round(ts_s * 1e6).astype("int64")
        columns["ts"] = pa.array(micros, pa.int64()).cast(GPU_SAMPLES.schema.field("ts").type)
        columns["value"] = pa.array(np.concatenate([v for _, _, v in kept]), pa.float64())
    else:
        columns["ts"] = pa.array([], GPU_SAMPLES.schema.field("ts").type)
        columns["value"] = pa.array([], pa.float64())
    per_series: dict[str, list[Any]] = {c: [first_label(lb, c) for lb, _, _ in kept] for c in LABELS}
    per_series["metric"] = [lb.get("__name__") for lb, _, _ in kept]
    for column, values in per_series.items():
        typ = GPU_SAMPLES.schema.field(column).type
        if column in INT_COLUMNS:
            values = [int(v) if v is not None and v.lstrip("-").isdigit() else None for v in values]
        # one small array per series, expanded by run length (labels are parsed once per series)
        columns[column] = pa.array(values, typ).take(pa.array(np.repeat(np.arange(len(kept)), lengths)))
    n = int(lengths.sum())
    columns["pool"] = pa.repeat(pa.scalar(pool, pa.string()), n)
    columns["source"] = pa.repeat(pa.scalar(SOURCE, pa.string()), n)
    table = pa.table({f.name: columns[f.name] for f in GPU_SAMPLES.schema}, schema=GPU_SAMPLES.schema)
    return table, quarantine


def fetch_day(
    base_url: str,
    day: dt.date,
    metrics: Sequence[str] = DEFAULT_METRICS,
    pool: str = "default",
    *,
    step_s: int = 60,
    selector: str = "",
    max_points: int = MAX_POINTS_PER_SERIES,
    client: PrometheusClient | None = None,
    **client_options: Any,
) -> tuple[pa.Table, list[dict[str, Any]], FetchReport]:
    """Fetch one UTC day of `metrics` as gpu_samples rows: (table, quarantine records, report).

    The day is evaluated at `day 00:00 + k*step` for every step before the next midnight, so every row
    falls on `day`. `selector` adds label matchers to every query, e.g. '{job="dcgm"}'. Note Prometheus
    semantics: a step with no raw sample reuses the last sample within `--query.lookback-delta` (5m).
    `client_options` are PrometheusClient fields (bearer_token_env, verify_tls, timeout_s, retries, ...).

    Landing: `write_day("gpu_samples", day, table, source="prometheus", pool=pool, rejected=quarantine)`;
    it quarantines NaN values itself, beside the series records returned here.
    """
    client = client or PrometheusClient(base_url, **client_options)
    start = dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).timestamp()
    end = start + 86_400 - step_s
    report = FetchReport(day=day, metrics=tuple(metrics))
    series: list[Series] = []
    with gc_paused():  # until the parsed JSON is garbage: re-enabled earlier, the collector walks it all
        for metric in metrics:
            series += range_series(client, metric + selector, start, end, step_s, report, name=metric,
                                   max_points=max_points)
    table, quarantine = decode_series(series, pool)
    report.series = len(series)
    report.rows = table.num_rows
    report.quarantined_series = len(quarantine)
    return table, quarantine, report
