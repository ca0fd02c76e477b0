"""dcgm-exporter /metrics parser, against the real samples in fixtures/dcgm/samples (see SOURCES.md there)."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion import landing
from ingestion.contracts import GPU_SAMPLES
from ingestion.sources.dcgm_exposition import SOURCE, ExpositionParser, parse_exposition, parse_file

SCRAPE = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def samples(shared: Path) -> Path:
    return shared / "fixtures" / "dcgm" / "samples"


def rows(path: Path, **kw) -> tuple[list[dict], list[dict]]:
    result = parse_file(path, scrape_ts=SCRAPE, pool="pool-a", **kw)
    assert result.table.schema.names[: len(GPU_SAMPLES.schema)] == GPU_SAMPLES.schema.names
    return result.table.to_pylist(), result.quarantine


def parse(text: str, **kw):
    return parse_exposition(text, scrape_ts=SCRAPE, pool="pool-a", origin="test", **kw)


def test_every_sample_parses_with_the_contract_schema(samples: Path) -> None:
    for path in sorted(samples.iterdir()):
        result = parse_file(path, scrape_ts=SCRAPE, pool="pool-a")
        assert result.table.schema == GPU_SAMPLES.schema, path.name
        assert set(result.table["source"].to_pylist()) <= {SOURCE}
        assert set(result.table["pool"].to_pylist()) <= {"pool-a"}
        assert set(result.table["ts"].to_pylist()) <= {SCRAPE}
        # Only the PromQL result (no value) is rejected; every exposition line parses.
        assert (len(result.quarantine) > 0) == path.name.startswith("issue340"), path.name


def test_l40s_pods_and_unallocated_gpu(samples: Path) -> None:
    got, bad = rows(samples / "issue226_l40s_pods.prom")
    assert bad == []
    assert [r["gpu_index"] for r in got] == [0, 1, 2]
    assert got[0]["gpu_uuid"] == "GPU-585834da-79ca-0599-5140-4ffdb131ae93"
    assert got[0]["model_name"] == "NVIDIA L40S"
    assert got[0]["hostname"] == "l40s.example.com"
    assert (got[0]["namespace"], got[0]["pod"], got[0]["container"]) == ("redacted", "tensorflow-0", "tensorflow")
    assert (got[2]["namespace"], got[2]["pod"], got[2]["container"]) == (None, None, None)
    assert {r["metric"] for r in got} == {"DCGM_FI_PROF_GR_ENGINE_ACTIVE"}
    assert all(r["mig_profile"] is None and r["gpu_instance_id"] is None for r in got)


def test_h100_mig_slices_with_pods(samples: Path) -> None:
    got, bad = rows(samples / "issue512_h100_mig_pods.prom")
    assert bad == []
    assert [(r["mig_profile"], r["gpu_instance_id"]) for r in got] == [("1g.10gb", 7), ("1g.10gb", 8), ("1g.10gb", 9)]
    assert {r["gpu_uuid"] for r in got} == {"GPU-58e8f5ea-13cc-013a-d88f-2bcf5ae8bc77"}  # the parent GPU
    assert {r["hostname"] for r in got} == {"gsrh100-074"}
    assert got[0]["pod"] == "text-embedding-predictor-00008-deployment-57946f6c67-vdtjl"
    assert got[0]["namespace"] == "model-playground-stg" and got[0]["container"] == "kserve-container"
    assert got[1]["pod"] is None
    assert got[2]["pod"] == "tts-predictor-00011-deployment-5554f75554-8j8pl"
    # DCGM_FI_DRIVER_VERSION is a label on every line, never a metric.
    assert {r["metric"] for r in got} == {"DCGM_FI_PROF_GR_ENGINE_ACTIVE"}


def test_mixed_models_mig_and_lowercase_hostname(samples: Path) -> None:
    got, bad = rows(samples / "pr736_mixed_models_mig_lowercase_hostname.prom")
    assert bad == []
    assert [(r["metric"], r["gpu_index"], r["value"]) for r in got] == [
        ("DCGM_FI_DEV_DEC_UTIL", 1, 46.0), ("DCGM_FI_DEV_ENC_UTIL", 1, 9.0),
        ("DCGM_FI_DEV_FB_FREE", 1, 11275.0), ("DCGM_FI_DEV_FB_FREE", 2, 2207.0),
    ]
    assert {r["hostname"] for r in got} == {"dcgm-exporter-wwwjh"}
    assert got[0]["model_name"] == "NVIDIA RTX 2000 Ada Generation" and got[0]["mig_profile"] is None
    a30 = got[3]
    assert (a30["model_name"], a30["gpu_uuid"]) == ("NVIDIA A30", "GPU-63bc0b91-2265-1b94-831c-15c41fe92675")
    assert (a30["mig_profile"], a30["gpu_instance_id"]) == ("1g.6gb", 3)
    assert (a30["namespace"], a30["pod"], a30["container"]) == ("default", "triton-server-f7cb5d77-95xcf",
                                                               "triton-server")


def test_old_namespace_sample(samples: Path) -> None:
    got, bad = rows(samples / "issue272_a100_mig_use_old_namespace.prom")
    assert bad == []
    assert {r["metric"] for r in got} == {"dcgm_fi_prof_gr_engine_active"}
    assert [(r["gpu_uuid"], r["mig_profile"], r["gpu_instance_id"]) for r in got] == [
        ("GPU-ed1353d6-52ba-8793-7230-4d5d3eb68167", "3g.40gb", 1),
        ("GPU-ed1353d6-52ba-8793-7230-4d5d3eb68167", "4g.40gb", 2),
        ("GPU-6043e4b2-feaa-8010-34c7-61d1a01576bb", "3g.40gb", 1),
    ]
    assert {r["model_name"] for r in got} == {"NVIDIA A100 80GB PCIe"}
    # Empty pod_name/pod_namespace/container_name mean "no pod"; there is no hostname label at all.
    assert all(r["pod"] is None and r["namespace"] is None and r["container"] is None for r in got)
    assert all(r["hostname"] is None for r in got)


def test_old_namespace_pod_labels() -> None:
    result = parse('dcgm_gpu_utilization{gpu="3",uuid="GPU-x",pod_name="p1",pod_namespace="ns1",'
                   'container_name="c1"} 87\n')
    [row] = result.table.to_pylist()
    assert (row["metric"], row["gpu_index"], row["gpu_uuid"], row["value"]) == ("dcgm_gpu_utilization", 3, "GPU-x", 87)
    assert (row["namespace"], row["pod"], row["container"]) == ("ns1", "p1", "c1")


def test_full_label_set_and_trailing_help_type_without_sample(samples: Path) -> None:
    got, bad = rows(samples / "kubermatic14870_quadro_t2000_full_labels.prom")
    assert bad == []
    assert [(r["metric"], r["value"]) for r in got] == [
        ("DCGM_FI_DEV_SM_CLOCK", 300.0), ("DCGM_FI_DEV_MEM_CLOCK", 405.0),
        ("DCGM_FI_DEV_MEMORY_TEMP", 0.0), ("DCGM_FI_DEV_GPU_TEMP", 60.0),
    ]
    assert {(r["hostname"], r["model_name"], r["gpu_index"], r["gpu_uuid"]) for r in got} == {
        ("sheryb", "Quadro T2000", 0, "GPU-08533397-8c65-7a0b-003b-c4bd120e67c1")}
    # The last HELP/TYPE pair (DCGM_FI_DEV_POWER_USAGE) has no sample and yields nothing.
    assert "DCGM_FI_DEV_POWER_USAGE" not in {r["metric"] for r in got}


def test_sample_name_is_kept_as_written_even_when_type_disagrees(samples: Path) -> None:
    got, bad = rows(samples / "pr239_xid_errors_count.prom")
    assert bad == []
    [row] = got
    assert (row["metric"], row["value"], row["hostname"]) == ("DCGM_FI_DEV_XID_ERRORS_ACTIVE", 1.0, "workstation")
    assert row["model_name"] == "NVIDIA T400 4GB"
    got, _ = rows(samples / "pr239_xid_errors_count.prom", extra_labels=("xid", "window_size_in_ms"))
    assert (got[0]["xid"], got[0]["window_size_in_ms"]) == ("42", "300000")


def test_promql_result_is_quarantined_and_exported_labels_win(samples: Path) -> None:
    path = samples / "issue340_promql_result_exported_labels.txt"
    result = parse_file(path, scrape_ts=SCRAPE, pool="pool-a")
    assert result.table.num_rows == 0
    [record] = result.quarantine
    assert record["origin"] == str(path) and record["record"] == 1 and "value" in record["reason"]
    assert record["row"].startswith("DCGM_FI_DEV_GPU_TEMP{")
    # The same series with a value, as Prometheus' /federate would expose it: pod/namespace/container are
    # the scrape target (the dcgm-exporter pod itself); the workload is in exported_*.
    [row] = parse(path.read_text().strip() + " 41\n").table.to_pylist()
    assert (row["namespace"], row["pod"], row["container"]) == ("default", "pod1", "ai-artifactory-control")
    assert (row["hostname"], row["gpu_uuid"], row["gpu_index"]) == ("worker1", "GPU-longgui", 0)
    assert (row["model_name"], row["metric"], row["value"]) == ("NVIDIA GeForce RTX 4090", "DCGM_FI_DEV_GPU_TEMP", 41)


def test_exported_label_only() -> None:
    [row] = parse('DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a",exported_pod="p",namespace="n"} 5\n').table.to_pylist()
    assert (row["pod"], row["namespace"], row["container"]) == ("p", "n", None)


def test_garbage_line_is_quarantined_with_its_line_number() -> None:
    text = (
        "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).\n"
        "# TYPE DCGM_FI_DEV_GPU_UTIL gauge\n"
        'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 10\n'
        "<html>502 Bad Gateway</html>\n"
        'DCGM_FI_DEV_GPU_UTIL{gpu="1",UUID="GPU-b"} eleven\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="2",UUID="GPU-c" 12\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="x",UUID="GPU-d"} 13\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="4",UUID="GPU-e",UUID="GPU-f"} 14\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="5",UUID="GPU-g"} 15 16 17\n'
        'DCGM_FI_DEV_GPU_UTIL{gpu="6",UUID="GPU-h"} 18\n'
    )
    result = parse(text)
    assert [(r["gpu_uuid"], r["value"]) for r in result.table.to_pylist()] == [("GPU-a", 10.0), ("GPU-h", 18.0)]
    by_line = {q["record"]: q for q in result.quarantine}
    assert sorted(by_line) == [4, 5, 6, 7, 8, 9]
    assert "invalid metric name" in by_line[4]["reason"] and by_line[4]["row"] == "<html>502 Bad Gateway</html>"
    assert "not a number" in by_line[5]["reason"]
    assert "not closed" in by_line[6]["reason"]
    assert "not an integer" in by_line[7]["reason"]
    assert "repeated" in by_line[8]["reason"]
    assert "optional timestamp" in by_line[9]["reason"]
    assert all(q["origin"] == "test" for q in result.quarantine)


NON_GPU_PAGE = (
    "# HELP go_gc_duration_seconds A summary of the pause duration of garbage collection cycles.\n"
    "# TYPE go_gc_duration_seconds summary\n"
    'go_gc_duration_seconds{quantile="0"} 2.4e-05\n'
    'go_gc_duration_seconds{quantile="0.5"} 4.1e-05\n'
    "go_gc_duration_seconds_sum 0.0123\n"
    "go_gc_duration_seconds_count 217\n"
    'DCGM_FI_DEV_GPU_UTIL{gpu="0",UUID="GPU-a"} 1\n'
    'DCGM_FI_DEV_GPU_UTIL{gpu="1"} 2\n'
    "# TYPE process_resident_memory_bytes gauge\n"
    "process_resident_memory_bytes 4.5862912e+07\n"
    "up 1\n"
)


def test_series_without_a_gpu_identity_are_skipped_and_counted_not_quarantined() -> None:
    """The exporter's own families (go_*, process_*) and a GPU family missing its UUID are not GPU data: no
    quarantine record on any scrape, only a count; a bad line among them is still quarantined."""
    parser = ExpositionParser(pool="pool-a", origin="test")
    for _ in range(3):  # the first scrape reads every line in full, later ones take the known prefixes
        result = parser.parse(NON_GPU_PAGE, scrape_ts=SCRAPE)
        assert result.table["gpu_uuid"].to_pylist() == ["GPU-a"]
        assert result.quarantine == [] and result.skipped == 7
    result = parser.parse(NON_GPU_PAGE + "process_open_fds 1_2\n", scrape_ts=SCRAPE)
    assert result.skipped == 7
    assert [(q["record"], q["row"]) for q in result.quarantine] == [(12, "process_open_fds 1_2")]


@pytest.mark.parametrize(("line_value", "reason"), [
    ("1_2", "is not a number"),  # Go's ParseFloat takes '_' only with a base prefix; textparse refuses it
    ("١٢", "is not a number"),  # Arabic-Indic digits: float() reads 12
    ("\u00a01764244800000", "is not a number"),  # NBSP is no separator: '1\xa0...' is one token
    ("1e400", "out of the float64 range"),  # float() gives inf; ParseFloat an ErrRange
    ("-1e400", "out of the float64 range"),
    ("0x1p-2", "is not a number"),
    ("+NaN", "is not a number"),
    ("1 1_764244800000", "timestamp"),
    ("1 ١٧٦٤٢٤٤٨٠٠٠٠٠", "timestamp"),
    ("1 99999999999999999999", "timestamp"),  # past int64, and past what a datetime holds
])
def test_values_and_timestamps_follow_the_text_format(line_value: str, reason: str) -> None:
    """Each bad line is quarantined with its line number and reason and costs only itself, on a target's first
    scrape (the full reading) and on a later one (the known-series shortcut, where float() would accept it)."""
    value = ("1" + line_value) if line_value.startswith("\u00a0") else line_value
    good = 'F{UUID="GPU-a"} 3\nF{UUID="GPU-b"} 4\n'
    text = f'F{{UUID="GPU-a"}} {value}\n' + good
    parser = ExpositionParser(pool="pool-a", origin="test")
    parser.parse(good.replace("GPU-b", "GPU-c") + 'F{UUID="GPU-a"} 2\n', scrape_ts=SCRAPE)  # warm
    for result in (parse(text), parser.parse(text, scrape_ts=SCRAPE)):
        assert [(r["gpu_uuid"], r["value"]) for r in result.table.to_pylist()] == [("GPU-a", 3.0), ("GPU-b", 4.0)]
        [bad] = result.quarantine
        assert bad["record"] == 1 and reason in bad["reason"] and bad["row"] == text.split("\n")[0]


def test_valid_special_and_edge_values_are_read() -> None:
    parser = ExpositionParser(pool="pool-a", origin="test")
    values = ["NaN", "nan", "+Inf", "-Inf", "Inf", "infinity", "-Infinity", "1e-400", "1.", ".5", "+3", "-0",
              "1E+3", "007", "1.7976931348623157e308"]
    text = "".join(f'F{{UUID="GPU-{i}"}} {v}\n' for i, v in enumerate(values)) + 'F{UUID="GPU-t"} 5 -1000\n'
    for result in (parse(text), parser.parse(text, scrape_ts=SCRAPE), parser.parse(text, scrape_ts=SCRAPE)):
        assert result.quarantine == []
        got = result.table["value"].to_pylist()
        assert all(math.isnan(v) for v in got[:2])
        assert got[2:] == [math.inf, -math.inf, math.inf, math.inf, -math.inf, 0.0, 1.0, 0.5, 3.0, 0.0, 1000.0, 7.0,
                           1.7976931348623157e308, 5.0]
        assert result.table["ts"][-1].as_py() == dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC)


def test_tabs_separate_and_crlf_ends_a_line_on_every_scrape() -> None:
    parser = ExpositionParser(pool="pool-a", origin="test")
    text = 'F{UUID="GPU-a"}\t1\r\nF{UUID="GPU-b"} \t2\t1764244800000\r\nF{UUID="GPU-c"} 3\r\n'
    for _ in range(2):
        result = parser.parse(text, scrape_ts=SCRAPE)
        assert result.quarantine == [] and result.table["value"].to_pylist() == [1.0, 2.0, 3.0]


def test_escaped_label_values() -> None:
    text = 'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-a",pod="a\\"b\\\\c\\nd}",modelName="x,y=\\"z\\""} 1\n'
    [row] = parse(text).table.to_pylist()
    assert row["pod"] == 'a"b\\c\nd}'
    assert row["model_name"] == 'x,y="z"'


def test_timestamps_special_values_counters_and_crlf() -> None:
    text = (
        "# TYPE DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION counter\r\n"
        'DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION{UUID="GPU-a"} 123456789 1764244800123\r\n'
        'DCGM_FI_DEV_POWER_USAGE{UUID="GPU-a"} NaN\r\n'
        'DCGM_FI_DEV_GPU_TEMP{UUID="GPU-a"} +Inf\r\n'
        'DCGM_FI_DEV_SM_CLOCK{UUID="GPU-a"} -Inf 1764244800000\r\n'
        'DCGM_FI_DEV_MEM_CLOCK{UUID="GPU-a"} 1.5e3 12.5\r\n'
        "\r\n"
    )
    result = parse(text)
    got = result.table.to_pylist()
    # Counters keep the name as received (no `_total` appended).
    assert [r["metric"] for r in got] == [
        "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION", "DCGM_FI_DEV_POWER_USAGE", "DCGM_FI_DEV_GPU_TEMP",
        "DCGM_FI_DEV_SM_CLOCK"]
    assert got[0]["ts"] == dt.datetime(2025, 11, 27, 12, 0, 0, 123000, tzinfo=dt.UTC)
    assert got[1]["ts"] == SCRAPE and got[2]["ts"] == SCRAPE
    assert got[3]["ts"] == dt.datetime(2025, 11, 27, 12, 0, tzinfo=dt.UTC)
    assert got[0]["value"] == 123456789.0 and math.isnan(got[1]["value"])
    assert got[2]["value"] == math.inf and got[3]["value"] == -math.inf
    [bad] = result.quarantine
    assert bad["record"] == 6 and "timestamp" in bad["reason"]


def test_metric_without_labels_and_blank_lines() -> None:
    result = parse("\n\n  \n# comment\nDCGM_FI_DEV_GPU_UTIL 3\n")
    assert result.table.num_rows == 0
    assert result.quarantine == [] and result.skipped == 1  # no labels, so no UUID: not a GPU's sample


def test_naive_scrape_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        parse_exposition("", scrape_ts=dt.datetime(2026, 1, 1), pool="p")


def test_empty_body_gives_an_empty_contract_table() -> None:
    result = parse("")
    assert result.table.num_rows == 0 and result.table.schema == GPU_SAMPLES.schema and result.quarantine == []


def test_lands_through_write_day_with_its_parse_rejects(samples: Path, tmp_path: Path) -> None:
    good = parse_file(samples / "issue512_h100_mig_pods.prom", scrape_ts=SCRAPE, pool="pool-a")
    bad = parse("garbage line\n")
    landed = landing.write_day("gpu_samples", SCRAPE.date(), good.table, source=SOURCE, pool="pool-a",
                               origin=good.origin, rejected=bad.quarantine, base=tmp_path)
    assert landed.rows == 3 and landed.quarantined == 1
    assert pq.read_table(landed.path).num_rows == 3
    quarantine = tmp_path / f"quarantine/gpu_samples/date={SCRAPE.date()}/{SOURCE}-pool-a.jsonl"
    [record] = [json.loads(line) for line in quarantine.read_text().splitlines()]
    assert (record["origin"], record["record"], record["row"]) == ("test", 1, "garbage line")


def test_label_sets_are_shared_across_families() -> None:
    labels = '{gpu="0",UUID="GPU-a",Hostname="h",modelName="m"}'
    text = "".join(f"F{i}{labels} {i}\n" for i in range(25))
    table = parse(text).table
    assert table.num_rows == 25 and set(table["hostname"].to_pylist()) == {"h"}
    assert table["value"].to_pylist() == [float(i) for i in range(25)]


def test_a_target_parsed_scrape_after_scrape() -> None:
    """One parser per target: new values, a series that appears, a line that turns bad, and a churning target
    that restarts the caches instead of growing them; each scrape's rows are those of a fresh parse."""
    parser = ExpositionParser(pool="pool-a", origin="test", max_series=6)
    scrapes = [
        'F{UUID="GPU-a"} 1\nF{UUID="GPU-b"} 2\n',
        'F{UUID="GPU-a"} 3\nF{UUID="GPU-b"} 4\n',  # same series, new values: identity columns reused
        'F{UUID="GPU-a"} 5\nF{UUID="GPU-c"} 6\nF{UUID="GPU-b"} 7\n',  # a new series in between
        'F{UUID="GPU-a"} x\nF{UUID="GPU-b"} 8 1764244800123\n',  # a bad value; a timestamp
        *[f'G{{UUID="GPU-{i}"}} {i}\n' for i in range(10)],  # churn past max_series
    ]
    for text in scrapes:
        got, fresh = parser.parse(text, scrape_ts=SCRAPE), parse(text)
        assert got.table.equals(fresh.table) and got.quarantine == fresh.quarantine, text
        assert parser.remembered <= 6 + 2  # bounded: at most one scrape's series past the limit
