"""The dbt project, with its manifest re-parsed whenever a project file is newer than it."""

from __future__ import annotations

import os
from pathlib import Path
from unittest import mock

from dagster_dbt import DbtProject

from ingestion import paths
from ingestion.landing import locked
from ingestion.paths import PROJECT_ROOT

DBT_DIR = PROJECT_ROOT / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR)


def run_target() -> Path:
    """Where the pipeline's dbt commands write: one folder per data directory, beside its warehouse (instead of
    dagster-dbt's folder per invocation), so each command finds the previous one's partial-parse state and dbt
    re-parses only what changed instead of the whole project (8 s against 4 s here). dbt's parse state depends on
    the warehouse's path, and two data directories' runs may overlap; steps of one run never do (WAREHOUSE_POOL)."""
    return paths.data_dir() / "dbt_target"


def project_files(root: Path = DBT_DIR) -> list[Path]:
    """The files the dbt project is made of: what its manifest and its builds depend on."""
    files = [root / "dbt_project.yml", root / "profiles.yml"]
    for folder in ("models", "macros", "seeds", "tests"):
        files.extend(sorted(p for p in (root / folder).rglob("*") if p.is_file()))
    return [p for p in files if p.exists()]


def _newest_source_mtime(root: Path) -> float:
    return max(p.stat().st_mtime for p in project_files(root))


def ensure_manifest() -> None:
    """A full parse (a few seconds, only after a project file changed): dbt 1.11's partial parsing drops the
    descriptions of singular tests (`tests/_singular_tests.yml`) when another properties file changes."""
    manifest = dbt_project.manifest_path
    # Processes that load the code location at once (test workers, a run beside `dagster dev`) parse one at a time.
    with locked(DBT_DIR / "target" / ".parse.lock"):
        if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(DBT_DIR):
            with mock.patch.dict(os.environ, {"DBT_PARTIAL_PARSE": "false"}):
                dbt_project.preparer.prepare(dbt_project)


ensure_manifest()
