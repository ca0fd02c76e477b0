"""Run dbt (as a subprocess, so dbt's own imports never meet pytest's) on a data directory and read its warehouse."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

REPO = Path(__file__).resolve().parents[2]
DBT_PROJECT = REPO / "dbt_project"
DBT = Path(sys.executable).with_name("dbt")


@dataclass
class DbtWarehouse:
    data_dir: Path

    def dbt(self, *args: str, vars: dict | None = None) -> subprocess.CompletedProcess:
        env = {
            **os.environ,
            "GPU_EFF_DATA_DIR": str(self.data_dir),
            "DO_NOT_TRACK": "1",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
        }
        cmd = [
            str(DBT), *args,
            "--project-dir", str(DBT_PROJECT), "--profiles-dir", str(DBT_PROJECT),
            "--target-path", str(self.data_dir / "dbt_target"), "--log-path", str(self.data_dir / "dbt_logs"),
            "--log-level-file", "warn",
        ]
        if vars:
            cmd += ["--vars", json.dumps(vars)]
        result = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
        return result

    def query(self, sql: str) -> pd.DataFrame:
        with duckdb.connect(str(self.data_dir / "warehouse.duckdb"), read_only=True) as con:
            return con.sql(sql).df()

    def row(self, sql: str) -> dict:
        frame = self.query(sql)
        assert len(frame) == 1, f"expected one row, got {len(frame)} for {sql}"
        return frame.iloc[0].to_dict()
