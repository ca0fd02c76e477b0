"""Resources shared by the assets."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from dagster_dbt import DbtCliResource

from orchestration.defs.project import dbt_project


def dbt_executable() -> str:
    """The dbt installed beside this Python (a virtual environment need not be activated)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else shutil.which("dbt") or "dbt"


def build() -> dict:
    return {"dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())}
