"""The instance `make install` configures stores Dagster's events where Dagster reads them."""

from __future__ import annotations

import dagster as dg

from orchestration.event_log import KEPT_ENGINES, KeptConnectionSqliteEventLogStorage
from orchestration.instance_config import instance_yaml


@dg.asset
def counted() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


def instance_in(home) -> dg.DagsterInstance:
    (home / "dagster.yaml").write_text(instance_yaml(home))
    return dg.DagsterInstance.from_config(str(home))


def test_events_stored_with_kept_connections_are_read_by_another_instance(tmp_path):
    with instance_in(tmp_path) as instance:
        assert isinstance(instance.event_log_storage, KeptConnectionSqliteEventLogStorage)
        runs = [dg.materialize([counted], instance=instance, selection=[counted]) for _ in range(KEPT_ENGINES + 2)]
        assert all(run.success for run in runs)
        assert len(instance.event_log_storage._engines) <= KEPT_ENGINES  # older shards' engines disposed

    with dg.DagsterInstance.from_config(str(tmp_path)) as reader:  # as `dagster dev` would, in its own process
        record = reader.get_latest_materialization_event(dg.AssetKey("counted"))
        assert record.run_id == runs[-1].run_id
        assert record.asset_materialization.metadata["rows"].value == 3
        assert (tmp_path / "history" / "runs" / f"{runs[0].run_id}.db").exists()
        first_run_events = reader.all_logs(runs[0].run_id)
        assert any(event.dagster_event and event.dagster_event.is_successful_output for event in first_run_events)
        reader.wipe()
        assert not (tmp_path / "history" / "runs" / f"{runs[0].run_id}.db").exists()
