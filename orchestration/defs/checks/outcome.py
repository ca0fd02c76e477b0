"""One evaluated check: what the quality report stores and what Dagster shows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR = "ERROR"
WARN = "WARN"


@dataclass(frozen=True)
class Outcome:
    asset: str  # the asset key as a user string: "mart_stage_metrics", "landing/jobs"
    check_name: str
    passed: bool
    blocking: bool
    severity: str  # ERROR or WARN: the severity the check carries when it fails
    message: str  # one line a person can act on: what is wrong and where
    failing_count: int = 0  # offending rows (or days, files, pools) behind a failure
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def to_result(self):
        """The Dagster AssetCheckResult (dagster imported here so the report stays importable without it)."""
        import dagster as dg

        return dg.AssetCheckResult(
            asset_key=dg.AssetKey.from_user_string(self.asset),
            check_name=self.check_name,
            passed=self.passed,
            severity=dg.AssetCheckSeverity(self.severity),
            description=self.message,
            metadata={"message": self.message, "failing_count": self.failing_count, **self.metadata},
        )
