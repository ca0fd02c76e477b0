"""A `/metrics` page saved from dcgm-exporter into gpu_samples; its samples carry the scrape time."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from ingestion.importers import ImportResult
from ingestion.sources.dcgm_exposition import parse_file


def read_dcgm_text(path: str | Path, pool: str, scrape_ts: str | None = None) -> ImportResult:
    """`scrape_ts` (ISO 8601) says when the page was scraped; the file's modification time otherwise."""
    path = Path(path)
    when = dt.datetime.fromisoformat(scrape_ts) if scrape_ts else dt.datetime.fromtimestamp(path.stat().st_mtime)
    parsed = parse_file(path, scrape_ts=when.astimezone(dt.UTC), pool=pool)
    return ImportResult(pool=pool, origin=str(path), tables={"gpu_samples": parsed.table},
                        rejected={"gpu_samples": parsed.quarantine})
