"""Run dbt expecting failures, and find a test's result and its failing rows."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from dbt_warehouse import DBT_PROJECT, DbtWarehouse, invoke_dbt


@dataclass
class GateRun:
    """One dbt invocation: its output, its results by unique_id, and the manifest it ran."""

    warehouse: DbtWarehouse
    returncode: int
    output: str
    results: dict[str, dict] = field(default_factory=dict)
    manifest: dict = field(default_factory=dict)

    def test_id(self, kind: str, model: str, column: str | None = None) -> str:
        """unique_id of the one test of `kind` (generic name, or a singular test's name) on `model`."""
        found = []
        for uid, node in self.manifest["nodes"].items():
            if node["resource_type"] != "test":
                continue
            generic = (node.get("test_metadata") or {}).get("name")
            singular = generic is None and node["name"] == kind
            on_model = (node.get("attached_node") or "").endswith(f".{model}") and node.get("column_name") == column
            if singular or (generic == kind and on_model):
                found.append(uid)
        assert len(found) == 1, f"expected one {kind} test on {model}.{column}, found {found}"
        return found[0]

    def result(self, kind: str, model: str, column: str | None = None) -> dict:
        uid = self.test_id(kind, model, column)
        assert uid in self.results, f"{uid} did not run"
        return self.results[uid]

    def failing_rows(self, kind: str, model: str, column: str | None = None) -> pd.DataFrame:
        """The rows the test finds (its compiled query, as the pipeline reads them): what is wrong (`failure`)
        and where."""
        return self.warehouse.query(f"select * from ({self.result(kind, model, column)['compiled_code']})")

    def node_name(self, kind: str, model: str, column: str | None = None) -> str:
        return self.manifest["nodes"][self.test_id(kind, model, column)]["name"]


def run_dbt(warehouse: DbtWarehouse, *args: str) -> GateRun:
    """`dbt <args>` on the warehouse's data directory; a non-zero exit is returned, not raised."""
    target = warehouse.data_dir / "dbt_target"
    returncode, output = invoke_dbt(warehouse.data_dir, *args)
    run_results = json.loads((target / "run_results.json").read_text())
    return GateRun(
        warehouse=warehouse,
        returncode=returncode,
        output=output,
        results={r["unique_id"]: r for r in run_results["results"]},
        manifest=json.loads((target / "manifest.json").read_text()),
    )


def artifacts(warehouse: DbtWarehouse) -> GateRun:
    """The last invocation's results in a data directory (e.g. the session's clean `dbt build`)."""
    target = warehouse.data_dir / "dbt_target"
    run_results = json.loads((target / "run_results.json").read_text())
    return GateRun(warehouse=warehouse, returncode=0, output="",
                   results={r["unique_id"]: r for r in run_results["results"]},
                   manifest=json.loads((target / "manifest.json").read_text()))


def project_path() -> Path:
    return DBT_PROJECT
