"""The dbt project, with its manifest re-parsed whenever a project file is newer than it."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

from dagster_dbt import DbtProject

from ingestion.paths import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)

# Where the pipeline's dbt commands write (one folder for every step of every run, instead of dagster-dbt's
# folder per invocation): each command finds the previous one's partial-parse state, so dbt re-parses only what
# changed instead of the whole project (8 s against 4 s here). Steps that run dbt never overlap (WAREHOUSE_POOL).
RUN_TARGET = DBT_DIR / "target" / "pipeline"


def _newest_source_mtime(root: Path) -> float:
    files = [root / "dbt_project.yml", root / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        files.extend(p for p in (root / folder).rglob("*") if p.is_file())
    return max(p.stat().st_mtime for p in files if p.exists())


def ensure_manifest() -> None:
    """A full parse (a few seconds, only after a project file changed): dbt 1.11's partial parsing drops the
    descriptions of singular tests (`tests/_singular_tests.yml`) when another properties file changes."""
    manifest = dbt_project.manifest_path
    if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(DBT_DIR):
        with mock.patch.dict(os.environ, {"DBT_PARTIAL_PARSE": "false"}):
            dbt_project.preparer.prepare(dbt_project)


ensure_manifest()
