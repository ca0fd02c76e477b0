"""The dbt gates bite: faults injected into landing data fail the intended dbt test, and its stored failing
rows say what is wrong and name the offending GPU, minute, request or job. The same tests pass on the clean
hand-made dataset (the session's `built_warehouse`), so none of them passes or fails whatever the data.

One faulty dataset carries every fault on its own rows (tests/dbt/dbt_faults.py); it is built once and tested
once. Mart-level consistency tests cannot be broken from landing without breaking an upstream gate first, and
int_gpu_minutes cannot leave 0-100 % from landing (readings outside their physical range are left out,
int_gpu_samples_checked), so those are proven on models edited in place after that build.
"""

from __future__ import annotations

import datetime as dt
import json

import dbt_faults as faults
import duckdb
import pandas as pd
import pytest
from dbt_gates import GateRun, artifacts, run_dbt
from dbt_warehouse import DbtWarehouse

pytestmark = pytest.mark.slow

# (test kind, model, column) of the tests this module proves
GATES = [
    ("monotonic_counter", "stg_landing__gpu_samples", "value"),
    ("assert_energy_counter_agrees_with_power", None, None),
    ("assert_requests_counted_once", None, None),
    ("column_values", "int_inference_requests", None),  # ttft_ms never negative
    ("no_gap_longer_than", "stg_landing__gpu_samples", "minute_ts"),
    ("matches_pattern", "stg_landing__jobs", "mig_profile"),
    ("timestamps_ordered", "stg_landing__jobs", "submit_ts"),
    ("assert_gpu_minutes_equal_gpus_times_window", None, None),
    ("assert_requests_counted_once_in_marts", None, None),
    ("relationships_composite", "mart_gpu_density", None),
    ("column_values", "int_gpu_minutes", None),  # activity_pct and gpu_util_pct within [0, 100]
]
TAMPERED_GATES = GATES[-4:]  # proven on models edited in place (the `tampered` fixture)


def naive(ts: dt.datetime) -> pd.Timestamp:
    return pd.Timestamp(ts.replace(tzinfo=None))


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> GateRun:
    """The faulty dataset: seeds and models built, then every data test run once."""
    warehouse = DbtWarehouse(tmp_path_factory.mktemp("gpu_eff_faulty"))
    faults.write_all(warehouse.data_dir)
    built = run_dbt(warehouse, "build", "--exclude-resource-type", "test", "unit_test")
    assert built.returncode == 0, built.output[-4000:]
    return run_dbt(warehouse, "test", "--exclude-resource-type", "unit_test")


@pytest.fixture(scope="module")
def tampered(faulty) -> GateRun:
    """The faulty build's models edited in place: one GPU-minute and one request lost, a stage id changed, and
    GPU-b's minute with the 150 % reading (left out of the build) set to 150 %."""
    warehouse = faulty.warehouse
    with duckdb.connect(str(warehouse.data_dir / "warehouse.duckdb")) as con:
        con.execute("update intermediate.int_gpu_minutes set gpu_util_pct = 150, activity_pct = 150 "
                    "where gpu_uuid = ? and minute_ts = ?", [faults.UTIL_GPU, naive(faults.UTIL_MINUTE)])
        con.execute("update marts.mart_stage_metrics set gpu_minutes = gpu_minutes - 1 where stage_id = 1")
        con.execute("update marts.mart_inference set requests = requests - 1 where stage_id = 0 and service = 'chat'")
        con.execute("update marts.mart_gpu_density set stage_id = 9 where stage_id = 1")
    names = [faulty.node_name(*gate) for gate in TAMPERED_GATES]
    return run_dbt(warehouse, "test", "--select", *names)


def failed(run: GateRun, *gate) -> pd.DataFrame:
    """Assert that the gate failed (or warned) in `run`, says so in dbt's output, and return its failing rows."""
    result = run.result(*gate)
    assert result["status"] in ("fail", "warn"), (gate, result["status"], result["message"])
    name = run.node_name(*gate)
    assert f"in test {name}" in run.output, f"dbt's output does not name {name}"
    rows = run.failing_rows(*gate)
    assert len(rows) == result["failures"] > 0
    assert rows["failure"].notna().all(), "every failing row says what is wrong"
    return rows


def test_every_gate_passes_on_the_clean_dataset(built_warehouse):
    names = [artifacts(built_warehouse).node_name(*gate) for gate in GATES]
    clean = run_dbt(built_warehouse, "test", "--select", *names)
    assert clean.returncode == 0, clean.output[-4000:]
    for gate in GATES:
        assert clean.result(*gate)["status"] == "pass", gate
        assert clean.failing_rows(*gate).empty, gate


def test_utilisation_of_150_percent_is_left_out_warned_and_counted(faulty):
    """The reading warns in staging (one odd reading must not block the build), enters no GPU-minute and is
    counted for its GPU and day (int_telemetry_daily, which the GX gate gx_readings_plausible reads)."""
    assert faulty.result("value_between", "stg_landing__gpu_samples", "value")["status"] == "warn"
    rows = failed(faulty, "value_between", "stg_landing__gpu_samples", "value")
    assert rows[["gpu_uuid", "sample_ts", "raw_metric", "value"]].values.tolist() == [
        [faults.UTIL_GPU, naive(faults.UTIL_MINUTE), "DCGM_FI_DEV_GPU_UTIL", 150.0]]
    minute = faulty.warehouse.row(
        "select has_sample, gpu_util_pct, activity_pct, power_w from intermediate.int_gpu_minutes "
        f"where gpu_uuid = '{faults.UTIL_GPU}' and minute_ts = '{naive(faults.UTIL_MINUTE)}'")
    assert minute["has_sample"] and minute["power_w"] == 200  # GPU-b's only GPU_UTIL of that minute: no value
    assert pd.isna(minute["gpu_util_pct"]) and pd.isna(minute["activity_pct"])
    counted = faulty.warehouse.query(
        "select gpu_uuid, date, raw_metric, implausible_rows, implausible_max_value "
        "from intermediate.int_telemetry_daily where implausible_rows > 0")
    assert counted.values.tolist() == [
        [faults.UTIL_GPU, pd.Timestamp(faults.fx.DAY1), "DCGM_FI_DEV_GPU_UTIL", 1, 150.0]]


def test_a_gpu_minute_of_150_percent_names_the_gpu_minute(faulty, tampered):
    assert faulty.returncode != 0  # error-severity failures fail the dbt command, so Dagster's step fails
    assert faulty.result("column_values", "int_gpu_minutes")["status"] == "pass"
    assert tampered.result("column_values", "int_gpu_minutes")["status"] == "fail"
    rows = failed(tampered, "column_values", "int_gpu_minutes")
    assert rows[["gpu_uuid", "minute_ts", "activity_pct", "gpu_util_pct"]].values.tolist() == [
        [faults.UTIL_GPU, naive(faults.UTIL_MINUTE), 150.0, 150.0]]
    # one row, every rule it breaks, in the columns' order
    assert rows["failure"].iloc[0] == "activity_pct = 150.0 outside [0, 100]; gpu_util_pct = 150.0 outside [0, 100]"


def test_energy_counter_running_backwards_names_the_reading(faulty):
    assert faulty.result("monotonic_counter", "stg_landing__gpu_samples", "value")["status"] == "fail"
    rows = failed(faulty, "monotonic_counter", "stg_landing__gpu_samples", "value")
    # GPU-b's counter also drops on day 1 (00:12), to near zero: a reset, not a failure
    assert rows[["gpu_uuid", "reading_ts"]].values.tolist() == [[faults.COUNTER_GPU, naive(faults.COUNTER_MINUTE)]]
    assert rows["reading"].iloc[0] == pytest.approx(faults.COUNTER_BACKWARDS_MJ / 1000)  # mJ -> J
    assert rows["reading"].iloc[0] < rows["previous_reading"].iloc[0]
    assert "without a reset" in rows["failure"].iloc[0]
    # the minutes around the backwards step no longer agree with integrated power
    energy = failed(faulty, "assert_energy_counter_agrees_with_power", None, None)
    assert energy[["gpu_uuid", "date"]].values.tolist() == [[faults.COUNTER_GPU, naive(
        dt.datetime.combine(faults.fx.DAY1, dt.time()))]]


def test_request_counted_twice_names_the_request_and_both_days(faulty):
    assert faulty.result("assert_requests_counted_once", None, None)["status"] == "fail"
    rows = failed(faulty, "assert_requests_counted_once", None, None)
    row = rows.iloc[0]
    assert len(rows) == 1 and row["request_id"] == faults.TWICE_REQUEST
    assert (row["n_records"], row["n_stages"]) == (2, 2)
    assert [row["first_date"], row["last_date"]] == [pd.Timestamp(faults.fx.DAY1), pd.Timestamp(faults.fx.DAY2)]
    assert row["failure"] == f"request {faults.TWICE_REQUEST} counted 2 times"


def test_negative_ttft_names_the_request(faulty):
    rows = failed(faulty, "column_values", "int_inference_requests")
    assert rows["request_id"].tolist() == [faults.NEGATIVE_TTFT_REQUEST]
    assert rows["failure"].iloc[0].startswith("ttft_ms = -")
    assert rows["failure"].iloc[0].endswith(" is negative")


def test_telemetry_gap_warns_and_names_the_gpu_day(faulty):
    assert faulty.result("no_gap_longer_than", "stg_landing__gpu_samples", "minute_ts")["status"] == "warn"
    rows = failed(faulty, "no_gap_longer_than", "stg_landing__gpu_samples", "minute_ts")
    assert rows[["gpu_uuid", "gap_start", "gap_end", "gap_minutes"]].values.tolist() == [
        [faults.GAP_GPU, naive(faults.fx.ts(faults.fx.DAY2, 0, 12)), naive(faults.GAP_END), 28.0]]


def test_bad_job_names_the_job(faulty):
    pattern = failed(faulty, "matches_pattern", "stg_landing__jobs", "mig_profile")
    ordered = failed(faulty, "timestamps_ordered", "stg_landing__jobs", "submit_ts")
    assert pattern["job_id"].tolist() == ordered["job_id"].tolist() == [faults.BAD_JOB]
    assert "3g-40gb" in pattern["failure"].iloc[0]
    assert "is after start_ts" in ordered["failure"].iloc[0]


def test_no_other_error_fails_on_the_faulty_dataset(faulty):
    """Each fault is caught where intended: the failing tests are these and the ones the faults imply."""
    failing = {faulty.manifest["nodes"][uid]["name"] for uid, r in faulty.results.items() if r["status"] == "fail"}
    intended = {faulty.node_name(*gate) for gate in GATES if gate[0] != "no_gap_longer_than"} - {
        faulty.node_name(*gate) for gate in TAMPERED_GATES}
    # the same duplicate request, seen by the unique tests of the landing source, staging and
    # int_inference_requests; the same MIG profile, seen again in int_job_gpu_allocations
    also = ("source_unique_landing_inference_requests", "unique_stg_landing__inference",
            "unique_int_inference_requests", "matches_pattern_int_job_gpu_allocations")
    unexpected = {name for name in failing - intended if not name.startswith(also)}
    assert unexpected == set(), unexpected
    assert intended <= failing
    for gate in TAMPERED_GATES:  # the marts still agree with each other; the 150 % reading is left out
        assert faulty.result(*gate)["status"] == "pass", gate


def test_mart_gates_name_the_pool_and_stage(tampered):
    minutes = failed(tampered, "assert_gpu_minutes_equal_gpus_times_window", None, None)
    # stage 1 lost a GPU-minute; so the pool's stages no longer add up to mart_daily_utilization either
    minutes = minutes.sort_values("stage_id")
    assert minutes[["pool", "stage_id", "gpu_minutes", "expected_gpu_minutes"]].values.tolist() == [
        ["p1", 0, 12, 12], ["p1", 1, 11, 12]]
    assert minutes["failure"].tolist() == [
        "mart_daily_utilization counts 24 GPU-minutes for the pool, the stages 23",
        "gpu_minutes 11 <> gpus x window minutes 12.0"]
    requests = failed(tampered, "assert_requests_counted_once_in_marts", None, None)
    assert requests[["pool", "stage_id"]].values.tolist() == [["p1", 0]]
    assert requests["failure"].iloc[0].startswith("requests disagree")
    density = failed(tampered, "relationships_composite", "mart_gpu_density", None)
    assert density[["pool", "stage_id"]].values.tolist() == [["p1", 9]]


def test_cross_model_tests_run_in_one_dagster_step(built_warehouse):
    """Dagster builds the warehouse in three dbt steps (orchestration/defs/assets/warehouse.py): inputs (what
    the incremental models read), daily (the incremental models), models (the rest). dbt's eager indirect
    selection runs a test in every step that selects one of its parents, so a test reading a model of a
    later step would run before that model is built. Every test must read only its own step and earlier ones,
    and a singular test with several parents must name its Dagster asset (meta.dagster.ref)."""
    manifest = json.loads((built_warehouse.data_dir / "dbt_target" / "manifest.json").read_text())
    nodes = {**manifest["nodes"], **manifest["sources"]}
    incremental = {uid for uid, n in nodes.items() if n.get("config", {}).get("materialized") == "incremental"}
    inputs: set[str] = set()
    stack = [parent for uid in incremental for parent in nodes[uid]["depends_on"]["nodes"]]
    while stack:
        uid = stack.pop()
        if uid not in inputs and uid not in incremental:
            inputs.add(uid)
            stack += nodes[uid].get("depends_on", {}).get("nodes", [])

    def step(uid: str) -> int:
        return 0 if uid in inputs or uid.startswith("source.") else 1 if uid in incremental else 2

    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        parents = node["depends_on"]["nodes"]
        steps = {step(p) for p in parents}
        # eager selection runs it in the first step that has a parent; it must be the last step it reads
        assert min(steps) == max(steps) or (steps == {0, 1}), (node["name"], parents)
        if len(parents) > 1 and not node.get("attached_node"):
            assert node["config"]["meta"].get("dagster", {}).get("ref"), node["name"]


def test_a_failed_gate_fails_the_dagster_step_and_reports_its_rows(faulty, monkeypatch):
    """In Dagster the dbt tests are asset checks of their models: a failed error-severity test is reported
    with its failing rows, then fails the dbt step, so nothing downstream of it runs."""
    import dagster as dg

    from orchestration.defs import resources
    from orchestration.defs.assets.warehouse import warehouse_inputs

    ran = []

    @dg.asset(deps=[dg.AssetKey("stg_landing__gpu_samples")])
    def downstream_of_staging() -> None:
        ran.append(True)

    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(faulty.warehouse.data_dir))
    staging = dg.AssetKey("stg_landing__gpu_samples")  # only it and its checks: dbt runs a few nodes
    result = dg.materialize([warehouse_inputs, downstream_of_staging], resources=resources.build(),
                            selection=[staging, downstream_of_staging.key], raise_on_error=False)
    assert not result.success and ran == []
    checks = {(c.asset_key, c.check_name): c for c in result.get_asset_check_evaluations()}
    counter = checks[(dg.AssetKey("stg_landing__gpu_samples"),
                      faulty.node_name("monotonic_counter", "stg_landing__gpu_samples", "value"))]
    assert not counter.passed and counter.severity == dg.AssetCheckSeverity.ERROR
    assert faults.COUNTER_GPU in counter.metadata["failing_rows"].value
    assert "without a reset" in counter.metadata["failing_rows"].value
    assert counter.description is not None and "without a reset" in counter.description
    gap = checks[(dg.AssetKey("stg_landing__gpu_samples"),
                  faulty.node_name("no_gap_longer_than", "stg_landing__gpu_samples", "minute_ts"))]
    assert not gap.passed and gap.severity == dg.AssetCheckSeverity.WARN
    assert faults.GAP_GPU in gap.metadata["failing_rows"].value
