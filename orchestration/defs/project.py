"""The dbt project, with its manifest re-parsed whenever a project file is newer than it."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path

from dagster_dbt import DbtProject

from ingestion import paths
from ingestion.config import load_config, warehouse_engine
from ingestion.landing import locked
from ingestion.paths import ENGINE_ENV, PROJECT_ROOT
from orchestration import spark_warehouse

DBT_DIR = PROJECT_ROOT / "dbt_project"
PARTIAL_PARSE = "partial_parse.msgpack"  # dbt's parse state, in a target folder

# The engine of every dbt command of this code location (profiles.yml's target): the configuration's, or
# GPU_EFF_WAREHOUSE_ENGINE's. Its manifest has a folder of its own (a model's config may differ by engine).
ENGINE = warehouse_engine(load_config())
os.environ[ENGINE_ENV] = ENGINE

if ENGINE == "spark":
    if missing := spark_warehouse.missing_prerequisites():
        raise RuntimeError(f"the warehouse engine is spark ({ENGINE_ENV} or the configuration's warehouse.engine), "
                           f"which needs {' and '.join(missing)}")
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark warns that it binds another address

# Where the Spark extra is installed, pyspark is imported (by dbt-spark, and by Great Expectations whatever the
# engine) and warns that it does not fully support pandas 3. It is handed no pandas here (everything after dbt reads
# Spark's tables through DuckDB), so the warning is none of the user's business.
warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)

dbt_project = DbtProject(project_dir=DBT_DIR, profiles_dir=DBT_DIR,
                         target_path=Path("target") if ENGINE == "duckdb" else Path("target") / ENGINE)


def run_target() -> Path:
    """Where the pipeline's dbt commands write: one folder per data directory, beside its warehouse (instead of
    dagster-dbt's folder per invocation), so each command finds the previous one's partial-parse state and dbt
    re-parses only what changed instead of the whole project (8 s against 4 s here). dbt's parse state depends on
    the warehouse's path, and two data directories' runs may overlap; steps of one run never do (WAREHOUSE_POOL).

    A new folder starts from the parse state of the code location's parse (`ensure_manifest`): when that parse saw
    the same data directory (a first `make demo`), the run's first command need not parse the whole project again
    (~2 s); otherwise dbt finds the state stale and parses in full, as it would have."""
    target = paths.data_dir() / "dbt_target"
    seed = dbt_project.project_dir / dbt_project.target_path / PARTIAL_PARSE
    if not (target / PARTIAL_PARSE).exists() and seed.exists():
        target.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(seed, target / PARTIAL_PARSE)
    return target


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
    descriptions of singular tests (`tests/_singular_tests.yml`) when another properties file changes.

    dbt parses in this process (dbt's programmatic API) rather than in the `dbt parse` process dagster-dbt's
    preparer starts, which spends ~3 s importing dbt before it parses: the code location has imported dbt already
    (dagster-dbt does), and the run's dbt commands run in its process too (orchestration/dbt_in_process.py)."""
    manifest = dbt_project.manifest_path
    # Processes that load the code location at once (test workers, a run beside `dagster dev`) parse one at a time.
    with locked(DBT_DIR / "target" / ".parse.lock"):
        if not manifest.exists() or manifest.stat().st_mtime < _newest_source_mtime(DBT_DIR):
            _parse()


def _parse() -> None:
    from orchestration.dbt_in_process import run_dbt

    errors: list[str] = []

    def keep_errors(event) -> None:  # noqa: ANN001 (a dbt EventMsg)
        if event.info.level == "error":
            errors.append(event.info.msg)

    args = ["parse", "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
            "--target-path", str(dbt_project.project_dir / dbt_project.target_path), "--log-level", "none"]
    result = run_dbt(args, {"DBT_PARTIAL_PARSE": "false", "DBT_WRITE_JSON": "true"}, keep_errors)
    if not result.success:
        raise RuntimeError("dbt could not parse dbt_project/: " + "\n".join(errors or [str(result.exception)]))


ensure_manifest()
