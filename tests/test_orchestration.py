"""Dagster definitions: they load, wire landing → dbt → deck, and schedule the daily refresh."""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg
import pyarrow as pa
import pytest

from orchestration.defs.assets.warehouse import run_window


@pytest.fixture(scope="module")
def defs():
    from orchestration.definitions import defs

    return defs


def test_definitions_load_with_a_group_per_layer(defs):
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == {"ingestion", "reference", "staging", "intermediate", "marts", "deck"}
    layer = {"metric_catalog": "reference", "stg_landing__gpu_samples": "staging", "int_gpu_minutes": "intermediate",
             "int_stage_calendar": "intermediate", "mart_stage_metrics": "marts", "mart_lab_experiments": "marts"}
    assert {name: graph.get(dg.AssetKey(name)).group_name for name in layer} == layer


def test_daily_partitions_cover_the_scenarios_days_or_run_to_yesterday():
    from ingestion.config import load_config
    from ingestion.paths import PROJECT_ROOT
    from orchestration.defs.partitions import daily_partitions, partition_bounds

    demo = daily_partitions(load_config())  # no GPU_EFF_CONFIG: the demo scenario
    keys = demo.get_partition_keys()
    assert (keys[0], keys[-1], len(keys)) == ("2026-10-05", "2026-10-25", 21)
    cluster = load_config(PROJECT_ROOT / "ingestion" / "examples" / "cluster.yaml")
    assert partition_bounds(cluster) == (dt.date(2026, 1, 5), None)  # from the first stage on, to yesterday
    assert daily_partitions(cluster).get_partition_keys(
        current_time=dt.datetime(2026, 12, 6, 1, tzinfo=dt.UTC))[-1] == "2026-12-05"


def test_dbt_sources_are_the_landing_assets(defs):
    graph = defs.resolve_asset_graph()
    staging = graph.get(dg.AssetKey("stg_landing__gpu_samples"))
    assert dg.AssetKey(["landing", "gpu_samples"]) in staging.parent_keys
    assert graph.get(dg.AssetKey(["landing", "gpu_samples"])).partitions_def is not None


def test_deck_reads_the_marts(defs):
    deck = defs.resolve_asset_graph().get(dg.AssetKey("deck"))
    assert {dg.AssetKey("mart_stage_metrics"), dg.AssetKey("mart_stage_comparison")} <= deck.parent_keys


def test_dbt_tests_surface_as_asset_checks(defs):
    checks = defs.resolve_asset_graph().asset_check_keys
    assert any(c.asset_key == dg.AssetKey("mart_stage_metrics") for c in checks)


def test_every_check_says_what_it_checks_and_what_a_failure_does(defs):
    specs = {spec.key: spec for assets in defs.resolve_asset_graph().assets_defs for spec in assets.check_specs}
    specs.update({spec.key: spec for checks in defs.asset_checks for spec in checks.check_specs})
    assert len(specs) == len(defs.resolve_asset_graph().asset_check_keys)
    labels = ("GATE (blocking", "ALERT (ERROR, not blocking)", "WARNING (not blocking)", "DECK CHECK (", "dbt test `",
              "dbt singular test (")
    for key, spec in specs.items():
        assert spec.description and spec.description.startswith(labels), (key, spec.description)
        assert ("blocking:" in spec.description.split(")")[0]) == spec.blocking, (key, spec.description)
    rules = dg.AssetCheckKey(dg.AssetKey("mart_stage_metrics"), "column_values_mart_stage_metrics_")
    assert specs[rules].description.startswith("dbt test `column_values` (blocking: a failure stops the dbt step")
    assert "`window_hours` never null and never negative" in specs[rules].description
    assert "`gpu_utilization_percent` within [0, 100]" in specs[rules].description
    singular = dg.AssetCheckKey(dg.AssetKey("mart_stage_comparison"), "assert_comparison_has_ten_metrics_per_stage")
    assert "exactly the ten metrics" in specs[singular].description
    gate = dg.AssetCheckKey(dg.AssetKey("mart_stage_metrics"), "gx_utilisation_in_range")
    assert specs[gate].description.startswith("GATE (blocking")


def test_the_daily_models_are_partitioned_daily_and_their_inputs_built_before_them(defs):
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("int_gpu_minutes")).partitions_def is not None
    assert graph.get(dg.AssetKey("mart_stage_metrics")).partitions_def is None
    # incremental by day, but read by the allocations that int_gpu_minutes reads: built in the inputs step
    pod_gpus = graph.get(dg.AssetKey("int_pod_gpus"))
    assert pod_gpus.partitions_def is None
    assert defs.get_assets_def(dg.AssetKey("int_pod_gpus")).op.name == "warehouse_inputs"


def test_the_runs_days_become_dbt_vars():
    backfill = {"dagster/asset_partition_range_start": "2026-10-05", "dagster/asset_partition_range_end": "2026-10-07"}
    assert run_window(backfill) == {"start_date": "2026-10-05", "end_date": "2026-10-08"}
    assert run_window({"dagster/partition": "2026-10-25"}) == {"start_date": "2026-10-25", "end_date": "2026-10-26"}
    assert run_window({}) == {}


def test_a_long_window_is_built_in_chunks_of_bounded_readings(tmp_path, monkeypatch):
    from ingestion import landing
    from orchestration.defs.assets import warehouse

    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))
    days = [dt.date(2026, 10, 5) + dt.timedelta(days=i) for i in range(5)]
    for day, rows in zip(days, (3, 3, 5, 1, 2), strict=True):
        table = landing.empty_table("gpu_samples")
        sample = {name: [None] * rows for name in table.column_names}
        sample.update(ts=[dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)] * rows, pool=["p"] * rows,
                      gpu_uuid=["GPU-1"] * rows, metric=["DCGM_FI_DEV_POWER_USAGE"] * rows, value=[1.0] * rows,
                      source=["sim"] * rows, hostname=["h"] * rows, gpu_index=[0] * rows)
        landing.write_day("gpu_samples", day, pa.Table.from_pydict(sample, schema=table.schema), source="sim",
                          pool="p")
    monkeypatch.setattr(warehouse, "BUILD_READINGS", 6)
    assert warehouse.build_chunks(warehouse.landed_readings(days)) == [days[0:2], days[2:4], days[4:5]]
    monkeypatch.setattr(warehouse, "BUILD_READINGS", 100)
    assert warehouse.build_chunks(warehouse.landed_readings(days)) == [days]
    monkeypatch.delenv("GPU_EFF_BUILD_START", raising=False)
    with warehouse.build_window(days[2:4]):
        assert (os.environ["GPU_EFF_BUILD_START"], os.environ["GPU_EFF_BUILD_END"]) == ("2026-10-07", "2026-10-09")
    assert "GPU_EFF_BUILD_START" not in os.environ


def test_a_chunk_that_fails_fails_the_step_with_dbts_error_and_builds_no_later_chunk(tmp_path, monkeypatch):
    """build_apart on a warehouse without its staging views: the first chunk's `dbt run` fails, dbt's error is the
    step's failure, and no chunk is reported built."""
    from orchestration.defs.assets import warehouse

    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))
    days = [dt.date(2026, 10, 5) + dt.timedelta(days=i) for i in range(4)]
    built = []
    with pytest.raises(dg.Failure) as failure:
        warehouse.build_apart([days[:2], days[2:]], ["build"], built.append)
    assert built == []
    assert "dbt failed on the incremental models' chunks" in failure.value.description
    assert "dbt run of 2026-10-05..2026-10-07 failed" in failure.value.description
    assert "ERROR creating sql incremental model intermediate.int_gpu_minutes" in failure.value.description
    assert 'Table with name "staging.stg_landing__gpu_inventory" does not exist' in failure.value.description


def test_a_cancelled_run_stops_the_chunks_process(tmp_path, monkeypatch):
    """Dagster interrupting a cancelled run while the chunks build terminates their process at once (instead of
    the step waiting for the remaining chunks)."""
    import sys
    import time

    from orchestration.defs.assets import warehouse

    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))
    pid_file = tmp_path / "chunks.pid"
    slow = (f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); "
            "print('built 2026-10-05 2026-10-07', flush=True); time.sleep(60)")
    monkeypatch.setattr(warehouse, "BATCHES_COMMAND", (sys.executable, "-c", slow))
    days = [dt.date(2026, 10, 5) + dt.timedelta(days=i) for i in range(4)]

    def cancelled(chunk):
        raise dg.DagsterExecutionInterruptedError()

    started = time.monotonic()
    with pytest.raises(dg.DagsterExecutionInterruptedError):
        warehouse.build_apart([days[:2], days[2:]], ["build"], cancelled)
    assert time.monotonic() - started < 20, "the cancelled step waited for the chunks' process to finish"
    pid = int(pid_file.read_text())
    for _ in range(50):
        if not os.path.exists(f"/proc/{pid}"):
            break
        time.sleep(0.1)
    assert not os.path.exists(f"/proc/{pid}"), "the chunks' process still runs after the run was cancelled"


def test_a_mart_shows_its_column_types_rows_pools_days_and_metrics():
    import duckdb

    from orchestration.defs.assets.table_metadata import relation_metadata

    con = duckdb.connect()
    con.execute("create schema reference; create schema marts")
    con.execute("create table reference.metric_definitions as select * from (values "
                "('throughput_per_watt', 2, true), ('gpu_utilization_percent', 1, true), "
                "('sm_active_percent', 3, false)) t(metric, metric_order, in_dictionary)")  # a companion: not shown
    con.execute("""create table marts.mart_stage_metrics as select * from (values
        ('demo', 0, timestamp '2026-10-05 00:00', 25.06423, 0.098661, 'x'),
        ('demo', 1, timestamp '2026-10-08 00:00', 29.6674, 0.171627, 'y')) t(pool, stage_id, window_start,
        gpu_utilization_percent, throughput_per_watt, notes)""")
    node = {"schema": "marts", "name": "mart_stage_metrics", "relation_name": "marts.mart_stage_metrics",
            "config": {"materialized": "table"}, "columns": {"pool": {"description": "the GPU pool"}}}
    metadata = relation_metadata(con, node)
    schema = metadata["dagster/column_schema"]
    assert [(c.name, c.type) for c in schema.columns][:3] == [("pool", "VARCHAR"), ("stage_id", "INTEGER"),
                                                               ("window_start", "TIMESTAMP")]
    assert schema.columns[0].description == "the GPU pool"
    assert metadata["dagster/row_count"] == 2
    assert metadata["pools"] == "demo" and metadata["time_span"] == "2026-10-05 00:00 UTC … 2026-10-08 00:00 UTC"
    preview = metadata["preview"]
    assert [c.name for c in preview.schema.columns] == ["pool", "stage_id", "gpu_utilization_percent",
                                                        "throughput_per_watt"]  # the metrics in their order
    assert preview.records[0].data == {"pool": "demo", "stage_id": 0, "gpu_utilization_percent": 25.06,
                                       "throughput_per_watt": 0.09866}
    view = {**node, "config": {"materialized": "view"}, "schema": "staging", "name": "missing"}
    assert relation_metadata(con, view) == {}  # not in the warehouse: nothing to show


def test_the_deck_shows_its_headline_from_the_comparison_mart():
    import duckdb

    from orchestration.defs.assets.deck_metadata import check_summary, headline

    con = duckdb.connect()
    con.execute("create schema marts")
    con.execute("""create table marts.mart_stage_comparison as select * from (values
        ('demo', 0, '传统裸金属', 'gpu_utilization_percent', '%', 25.06, 25.06, 1.0, '集群实测'),
        ('demo', 6, '战略性负载管理', 'gpu_utilization_percent', '%', 25.06, 69.61, 2.777, '集群实测'),
        ('demo', 6, '战略性负载管理', 'throughput_per_watt', 'tokens/J', 0.09866, 0.2539, 2.573, '集群实测'),
        ('other', 6, '战略性负载管理', 'throughput_per_watt', 'tokens/J', 1.0, 9.0, 9.0, '集群实测'))
        t(pool, stage_id, stage_name_zh, metric, unit, baseline_value, value, ratio_to_baseline, evidence_tier)""")
    metadata = headline(con, "demo")
    assert metadata["last_stage"] == "6 战略性负载管理"
    assert metadata["gpu_utilization_percent_baseline"].value == 25.06
    assert metadata["gpu_utilization_percent_last_stage"].value == 69.61
    assert metadata["throughput_per_watt_last_stage"].value == 0.2539
    assert [r.data["metric"] for r in metadata["headline"].records] == ["gpu_utilization_percent",
                                                                        "throughput_per_watt"]
    assert check_summary(con) == "no checks recorded yet"


def test_a_new_data_directorys_dbt_target_starts_from_the_code_locations_parse_state(tmp_path, monkeypatch):
    from orchestration.defs.project import PARTIAL_PARSE, dbt_project, run_target

    seed = dbt_project.project_dir / dbt_project.target_path / PARTIAL_PARSE  # written when the definitions loaded
    monkeypatch.setenv("GPU_EFF_DATA_DIR", str(tmp_path))
    target = run_target()
    assert target == tmp_path / "dbt_target"
    assert (target / PARTIAL_PARSE).read_bytes() == seed.read_bytes()
    (target / PARTIAL_PARSE).write_bytes(b"this directory's own parse state")
    run_target()
    assert (target / PARTIAL_PARSE).read_bytes() == b"this directory's own parse state"  # never replaced
