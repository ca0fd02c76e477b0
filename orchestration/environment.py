"""Process environment every entry point needs before Dagster, dbt or GX are imported.

Nothing here may reach the network: telemetry and anonymous usage statistics are switched off, and
the data directory is made absolute so that dbt (which runs with its own working directory) and
Python agree on where the landing files and the warehouse are.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from ingestion import paths

QUIET_ENVIRONMENT = {
    "DO_NOT_TRACK": "1",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
    "GX_ANALYTICS_ENABLED": "false",
}


def configure() -> None:
    for key, value in QUIET_ENVIRONMENT.items():
        os.environ.setdefault(key, value)
    os.environ["GPU_EFF_DATA_DIR"] = str(paths.data_dir())
    # dbt is installed beside this Python; find it even when the virtual environment is not activated.
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")
