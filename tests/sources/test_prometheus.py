"""Prometheus history source: against a real Prometheus 2.x backfilled with dcgm-exporter-like history,
plus a tiny local HTTP stub for 5xx, timeouts, auth and warnings."""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest

HERE = Path(__file__).resolve().parent
for p in (HERE.parents[1], HERE):  # `ingestion` from the working tree; the helper module beside this file
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import prometheus_server as ps  # noqa: E402

from ingestion import landing  # noqa: E402
from ingestion.contracts import GPU_SAMPLES  # noqa: E402
from ingestion.sources import prometheus as prom  # noqa: E402

UTC = dt.UTC
DAY = dt.date(2026, 10, 10)
HISTORY_START = dt.datetime(2026, 10, 9, tzinfo=UTC)
HISTORY_END = dt.datetime(2026, 10, 12, tzinfo=UTC)  # 3 days of 1-minute samples, weeks before "now"
NAN_AT = int(dt.datetime(2026, 10, 10, 13, 37, tzinfo=UTC).timestamp())
UUID_SERIES = [(m, g) for m, g in ((m, g) for m in ps.METRICS for g in ps.GPUS)
               if not (m == "DCGM_FI_DEV_GPU_UTIL" and "GPU_I_ID" in g)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, ps.PromHistory]]:
    if ps.binaries() is None:
        message = "prometheus/promtool not installed (Debian package `prometheus`)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must install it")
        pytest.skip(message)
    history = ps.PromHistory(HISTORY_START, HISTORY_END, nan_at=NAN_AT)
    with ps.start_prometheus(history, tmp_path_factory.mktemp("prometheus")) as url:
        yield url, history


@pytest.fixture(scope="module")
def day_result(server: tuple[str, ps.PromHistory]) -> tuple[pa.Table, list[dict], prom.FetchReport]:
    url, _ = server
    return prom.fetch_day(url, DAY, ps.METRICS, pool="pool-a")


def _sorted(table: pa.Table) -> pa.Table:
    """Sorted, with NaN replaced by a sentinel (Table.equals treats NaN as unequal to itself)."""
    table = table.sort_by([("metric", "ascending"), ("gpu_uuid", "ascending"), ("ts", "ascending")])
    value = pc.if_else(pc.is_nan(table["value"]), -1e300, table["value"])
    return table.set_column(table.schema.get_field_index("value"), "value", value)


def test_real_server_rows_for_every_metric_gpu_minute(server, day_result) -> None:
    _, history = server
    table, quarantine, report = day_result
    assert table.schema == GPU_SAMPLES.schema
    assert table.num_rows == len(UUID_SERIES) * 1440 == report.rows
    assert report.chunks == len(ps.METRICS) and report.warnings == [] and report.retries == 0
    day_start = int(dt.datetime.combine(DAY, dt.time(), tzinfo=UTC).timestamp())
    expected_ts = list(range(day_start, day_start + 86_400, 60))
    for metric, gpu in UUID_SERIES:
        rows = table.filter(pc.and_(pc.equal(table["metric"], metric), pc.equal(table["gpu_uuid"], gpu["UUID"])))
        assert rows.num_rows == 1440, (metric, gpu["UUID"])
        ts = [int(t.timestamp()) for t in rows["ts"].to_pylist()]
        assert ts == expected_ts
        written = history.values[(metric, gpu["UUID"])]
        for t, v in zip(ts, rows["value"].to_pylist(), strict=True):
            w = written[t]
            assert (math.isnan(v) and math.isnan(w)) or v == w, (metric, gpu["UUID"], t, v, w)
    assert set(table["source"].to_pylist()) == {"prometheus"} and set(table["pool"].to_pylist()) == {"pool-a"}
    # the NaN we wrote comes back as NaN
    nan_rows = table.filter(pc.is_nan(table["value"]))
    assert nan_rows.num_rows == 1 and int(nan_rows["ts"][0].as_py().timestamp()) == NAN_AT
    # series without a GPU UUID are quarantined, one record per series, with a reason
    assert len(quarantine) == len(ps.METRICS) == report.quarantined_series
    assert all("UUID" in q["reason"] and q["labels"]["Hostname"] == "node-c" and q["points"] == 1440
               for q in quarantine)


def test_real_server_label_mapping(day_result) -> None:
    table, _, _ = day_result
    util = table.filter(pc.equal(table["metric"], "DCGM_FI_PROF_GR_ENGINE_ACTIVE"))
    first = {r["gpu_uuid"]: r for r in util.to_pylist()}
    g0, g1, g2, mig = (first[g["UUID"]] for g in ps.GPUS)
    assert (g0["hostname"], g0["gpu_index"], g0["model_name"]) == ("node-a", 0, "NVIDIA H100 80GB HBM3")
    assert (g0["namespace"], g0["pod"], g0["container"]) == ("ml", "train-0", "trainer")
    assert (g1["pod"], g1["mig_profile"], g1["gpu_instance_id"]) == (None, None, None)
    # lowercase hostname label; exported_* wins over the exporter's own pod labels
    assert (g2["hostname"], g2["namespace"], g2["pod"], g2["container"]) == ("node-b", "serving", "llm-0", "vllm")
    assert (mig["mig_profile"], mig["gpu_instance_id"], mig["gpu_index"], mig["pod"]) == ("3g.71gb", 2, 1,
                                                                                          "notebook-7")
    # GPU_UTIL is absent under MIG
    gpu_util = table.filter(pc.equal(table["metric"], "DCGM_FI_DEV_GPU_UTIL"))
    assert ps.GPUS[3]["UUID"] not in set(gpu_util["gpu_uuid"].to_pylist())


def test_real_server_chunking_gives_identical_results(server, day_result) -> None:
    url, _ = server
    table, quarantine, _ = day_result
    small, small_q, report = prom.fetch_day(url, DAY, ps.METRICS, pool="pool-a", max_points=100)
    assert report.chunks == len(ps.METRICS) * 15  # ceil(1440 / 100)
    assert report.duplicate_points == 0
    assert _sorted(small).equals(_sorted(table)) and small_q == quarantine


class _OverlappingClient(prom.PrometheusClient):
    """Asks for one extra step before every chunk, as a client with inclusive chunk edges would."""

    def query_range(self, query, start, end, step_s, report=None):
        return super().query_range(query, start - step_s if start > self.first else start, end, step_s, report)

    @property
    def first(self) -> float:
        return dt.datetime.combine(DAY, dt.time(), tzinfo=UTC).timestamp()


def test_real_server_points_in_two_adjacent_chunks_are_deduplicated(server, day_result) -> None:
    url, _ = server
    table, _, _ = day_result
    metrics = ("DCGM_FI_DEV_POWER_USAGE",)
    deduped, _, report = prom.fetch_day(url, DAY, metrics, pool="pool-a", max_points=500,
                                        client=_OverlappingClient(url))
    assert report.chunks == len(metrics) * 3 and report.duplicate_points == 2 * 5  # 2 overlaps x 5 series
    assert _sorted(deduped).equals(_sorted(table.filter(pc.equal(table["metric"], metrics[0]))))


def test_real_server_fine_step_stays_under_the_points_limit(server) -> None:
    url, history = server
    metric = "DCGM_FI_DEV_FB_USED"
    # one request for the whole day at 5 s would be 17,280 points per series: Prometheus refuses it
    with pytest.raises(prom.PrometheusError, match="11,000") as info:
        prom.fetch_day(url, DAY, [metric], pool="p", step_s=5, max_points=20_000)
    assert info.value.error_type == "bad_data" and info.value.http_status == 400
    table, _, report = prom.fetch_day(url, DAY, [metric], pool="p", step_s=5)
    assert report.chunks == 2 and table.num_rows == 4 * 17_280
    # between samples Prometheus repeats the last sample (lookback delta)
    g0 = table.filter(pc.equal(table["gpu_uuid"], ps.GPUS[0]["UUID"]))
    written = history.values[(metric, ps.GPUS[0]["UUID"])]
    for t, v in zip(g0["ts"].to_pylist(), g0["value"].to_pylist(), strict=True):
        s = int(t.timestamp())
        assert v == written[s - s % 60]


def test_real_server_bad_promql_is_a_clear_error(server) -> None:
    url, _ = server
    report_holder = prom.FetchReport(DAY, ())
    client = prom.PrometheusClient(url, backoff_s=0.01)
    with pytest.raises(prom.PrometheusError) as info:
        client.query_range("DCGM_FI_DEV_GPU_UTIL{", 1_791_590_400, 1_791_594_000, 60, report_holder)
    assert "DCGM_FI_DEV_GPU_UTIL{" in str(info.value) and "bad_data" in str(info.value)
    assert info.value.query == "DCGM_FI_DEV_GPU_UTIL{" and info.value.http_status == 400
    assert report_holder.requests == 1  # 4xx is not retried


def test_real_server_empty_results(server) -> None:
    url, _ = server
    table, quarantine, report = prom.fetch_day(url, DAY, ["DCGM_FI_DEV_NOT_EXPORTED"], pool="p")
    assert table.num_rows == 0 and table.schema == GPU_SAMPLES.schema and quarantine == [] and report.series == 0
    table, _, _ = prom.fetch_day(url, dt.date(2026, 10, 20), ps.METRICS, pool="p")  # no history that day
    assert table.num_rows == 0


def test_real_server_day_lands(day_result, tmp_path) -> None:
    table, quarantine, _ = day_result
    landed = landing.write_day("gpu_samples", DAY, table, source="prometheus", pool="pool-a",
                               rejected=quarantine, base=tmp_path)
    # the NaN reading (landing treats it as missing) and one record per metric of the UUID-less series
    assert landed.rows == table.num_rows - 1 and landed.quarantined == 1 + len(ps.METRICS)
    path = tmp_path / f"quarantine/gpu_samples/date={DAY}/prometheus-pool-a.jsonl"
    assert len(path.read_text().splitlines()) == 1 + len(ps.METRICS)


# --- HTTP failure paths against a local stub ---------------------------------------------------------

ONE_SERIES = [{"metric": {"__name__": "DCGM_FI_DEV_GPU_UTIL", "UUID": "GPU-x", "gpu": "0"},
               "values": [[1_791_590_400, "1"], [1_791_590_460, "NaN"]]}]


def test_5xx_is_retried_then_succeeds() -> None:
    answers = iter([(503, b"overloaded", 0.0), (502, b"", 0.0), (200, ps.matrix(ONE_SERIES), 0.0)])
    with ps.stub_server(lambda _: next(answers)) as (url, seen):
        report = prom.FetchReport(DAY, ())
        result = prom.PrometheusClient(url, backoff_s=0.01).query_range("q", 0, 60, 60, report)
    assert result == ONE_SERIES and len(seen) == 3 and report.retries == 2


def test_5xx_gives_up_after_retries() -> None:
    match = r"'up' failed after 3 attempt\(s\): HTTP 500"
    with ps.stub_server(lambda _: (500, b"boom", 0.0)) as (url, seen), \
            pytest.raises(prom.PrometheusError, match=match) as info:
        prom.PrometheusClient(url, retries=2, backoff_s=0.01).query_range("up", 0, 60, 60)
    assert len(seen) == 3 and info.value.http_status == 500


def test_status_error_in_5xx_body_names_the_query() -> None:
    body = json.dumps({"status": "error", "errorType": "timeout", "error": "query timed out in expression evaluation"})
    match = r"'up' failed \(timeout, HTTP 503\): query timed out"
    with ps.stub_server(lambda _: (503, body.encode(), 0.0)) as (url, seen), \
            pytest.raises(prom.PrometheusError, match=match):
        prom.PrometheusClient(url, retries=1, backoff_s=0.01).query_range("up", 0, 60, 60)
    assert len(seen) == 2


def test_timeouts_are_retried() -> None:
    delays = iter([1.0, 0.0])
    with ps.stub_server(lambda _: (200, ps.matrix(ONE_SERIES), next(delays, 0.0))) as (url, seen):
        report = prom.FetchReport(DAY, ())
        result = prom.PrometheusClient(url, timeout_s=0.3, backoff_s=0.01).query_range("q", 0, 60, 60, report)
    assert result == ONE_SERIES and report.retries == 1
    with ps.stub_server(lambda _: (200, ps.matrix(ONE_SERIES), 1.0)) as (url, seen), \
            pytest.raises(prom.PrometheusError, match="timeout"):
        prom.PrometheusClient(url, timeout_s=0.2, retries=1, backoff_s=0.01).query_range("q", 0, 60, 60)


def test_auth_secret_is_sent_but_never_in_errors(monkeypatch) -> None:
    monkeypatch.setenv("TEST_PROM_TOKEN", "s3cret-token")
    monkeypatch.setenv("TEST_PROM_PASSWORD", "s3cret-password")
    headers: list[str | None] = []

    def deny(request) -> tuple[int, bytes, float]:
        headers.append(request.headers.get("Authorization"))
        return 401, b"Unauthorized", 0.0

    with ps.stub_server(deny) as (url, seen):
        with pytest.raises(prom.PrometheusError) as info:
            prom.fetch_day(url, DAY, ["up"], pool="p", bearer_token_env="TEST_PROM_TOKEN", backoff_s=0.01)
        assert len(seen) == 1 and headers == ["Bearer s3cret-token"]  # 4xx is not retried
        assert "s3cret" not in str(info.value) and "s3cret" not in repr(info.value.__dict__)
        with pytest.raises(prom.PrometheusError) as info:
            prom.PrometheusClient(url, basic_auth_user="u", basic_auth_password_env="TEST_PROM_PASSWORD"
                                  ).query_range("up", 0, 60, 60)
        assert headers[-1] == "Basic dTpzM2NyZXQtcGFzc3dvcmQ=" and "s3cret" not in str(info.value)
    monkeypatch.delenv("TEST_PROM_TOKEN")
    with pytest.raises(prom.PrometheusError, match="TEST_PROM_TOKEN is not set"):
        prom.PrometheusClient("http://127.0.0.1:9", bearer_token_env="TEST_PROM_TOKEN").query_range("up", 0, 1, 1)


def test_warnings_are_reported_and_values_decoded() -> None:
    no_uuid = {"metric": {"__name__": "DCGM_FI_DEV_GPU_UTIL", "gpu": "3"}, "values": [[1_791_590_400, "5"]]}
    stray = {"metric": {"__name__": "DCGM_FI_DEV_GPU_UTIL", "UUID": "GPU-y"}, "values": [[1_791_590_400 - 60, "5"]]}
    body = ps.matrix([*ONE_SERIES, no_uuid, stray], warnings=["PromQL info: partial response"])
    with ps.stub_server(lambda _: (200, body, 0.0)) as (url, _):
        table, quarantine, report = prom.fetch_day(url, DAY, ["DCGM_FI_DEV_GPU_UTIL"], pool="p")
    assert report.warnings == ["DCGM_FI_DEV_GPU_UTIL: PromQL info: partial response"]
    assert table.num_rows == 2 and table["value"][0].as_py() == 1.0 and math.isnan(table["value"][1].as_py())
    assert table["ts"][0].as_py() == dt.datetime(2026, 10, 10, tzinfo=UTC)
    assert report.dropped_outside_day == 1  # a point before the day (answered by a sloppy proxy) is dropped
    assert len(quarantine) == 1 and quarantine[0]["labels"]["gpu"] == "3"


def test_chunk_ranges() -> None:
    assert prom.chunk_ranges(0, 86_340, 60) == [(0, 86_340)]
    chunks = prom.chunk_ranges(0, 86_340, 60, max_points=100)
    assert len(chunks) == 15 and chunks[1] == (6000, 11_940) and chunks[-1][1] == 86_340
    assert all((e - s) / 60 + 1 <= 100 for s, e in chunks)


def test_what_comes_back_is_redacted_from_errors_and_warnings(monkeypatch, caplog) -> None:
    """A proxy that echoes the request (its Authorization header) in an error page, Prometheus's own error text
    and warnings: none of it reaches an exception or the log unredacted."""
    monkeypatch.setenv("TEST_PROM_TOKEN", "sekret-XY")
    echo = b"<html>403 Forbidden<pre>GET /api/v1/query_range\nAuthorization: Bearer sekret-XY\n</pre></html>"
    with ps.stub_server(lambda _: (403, echo, 0.0)) as (url, _), pytest.raises(prom.PrometheusError) as info:
        prom.PrometheusClient(url, bearer_token_env="TEST_PROM_TOKEN").query_range("up", 0, 60, 60)
    assert "sekret-XY" not in str(info.value) and "Authorization: ***" in str(info.value)
    error = json.dumps({"status": "error", "errorType": "bad_data", "error": "denied: Basic dTpw password=hunter2"})
    with ps.stub_server(lambda _: (400, error.encode(), 0.0)) as (url, _), pytest.raises(prom.PrometheusError) as info:
        prom.PrometheusClient(url).query_range("up", 0, 60, 60)
    assert "dTpw" not in str(info.value) and "hunter2" not in str(info.value)
    warned = json.dumps({"status": "success", "warnings": ["upstream said token=sekret-XY"],
                         "data": {"resultType": "matrix", "result": []}})
    report = prom.FetchReport(DAY, ())
    with ps.stub_server(lambda _: (200, warned.encode(), 0.0)) as (url, _):
        prom.PrometheusClient(url, bearer_token_env="TEST_PROM_TOKEN").query_range("up", 0, 60, 60, report)
    assert report.warnings == ["up: upstream said token=***"]
    assert "sekret-XY" not in caplog.text and "hunter2" not in caplog.text


@pytest.mark.parametrize("options", [{"base_url": "http://prom:s3cret@127.0.0.1:9"},
                                     {"base_url": "http://127.0.0.1:9/?access_token=s3cret"},
                                     {"base_url": "http://127.0.0.1:9", "bearer_token_env": "s3cret-literal-token"}])
def test_credentials_in_the_url_or_a_literal_token_are_refused_without_echo(options) -> None:
    with pytest.raises(prom.PrometheusError) as info:
        prom.PrometheusClient(**options)
    assert "s3cret" not in str(info.value)
