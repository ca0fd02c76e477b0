"""What the `deck` and `deck_preview` assets show on their pages in the Dagster UI.

The deck's headline numbers come from the marts it was built from (`mart_stage_comparison`: the pool on its
detail slides, baseline against its last stage) and the quality report its slide 29 states, read after the
deck is written.

Thumbnails: Dagster 1.13 has no image metadata type, and its Markdown renderer keeps only http(s) or relative
image sources (no `data:` URIs) and shows Markdown over 1,000 characters only behind "[Show Markdown]". The
webserver does serve files of the instance's local compute-log storage (`/logs/<key>/<ext>`, the route of its
log downloads), so the preview copies one contact sheet of every slide there and links it with a short relative
Markdown image, which the asset page shows inline. Where the storage is not local, the sheet's path is shown.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager
from PIL import Image

from deck_assets.quality import quality_summary

# The metrics the deck's headline slides lead with (mart_stage_comparison.metric).
HEADLINE_METRICS = ("gpu_utilization_percent", "throughput_per_watt", "throughput_per_dollar",
                    "throughput_tokens_per_sec")
SHEET_COLUMNS, THUMB_WIDTH = 6, 240


def headline(con: duckdb.DuckDBPyConnection, pool: str) -> dict[str, Any]:
    """Baseline and last stage of the headline metrics of `pool`, as one inline table and as numbers."""
    rows = con.execute("""
        select metric, unit, stage_id, stage_name_zh, baseline_value, value, ratio_to_baseline, evidence_tier
        from marts.mart_stage_comparison
        where pool = $pool and stage_id = (select max(stage_id) from marts.mart_stage_comparison where pool = $pool)
          and metric in (select unnest($metrics))
        order by list_position($metrics, metric)""", {"pool": pool, "metrics": list(HEADLINE_METRICS)}).fetchall()
    if not rows:
        return {}
    records = [dg.TableRecord({"metric": metric, "unit": unit, "baseline": _round(base), f"stage {stage}": _round(last),
                               "x baseline": _round(ratio), "evidence": tier})
               for metric, unit, stage, _name, base, last, ratio, tier in rows]
    stage, name = rows[0][2], rows[0][3]
    columns = ["metric", "unit", "baseline", f"stage {stage}", "x baseline", "evidence"]
    metadata: dict[str, Any] = {
        "headline": dg.MetadataValue.table(records, schema=dg.TableSchema(
            columns=[dg.TableColumn(c, "number" if c in ("baseline", f"stage {stage}", "x baseline") else "string")
                     for c in columns])),
        "last_stage": f"{stage} {name}",
    }
    for metric, _unit, _stage, _name, base, last, _ratio, _tier in rows:
        metadata[f"{metric}_baseline"] = dg.MetadataValue.float(_round(base)) if base is not None else None
        metadata[f"{metric}_last_stage"] = dg.MetadataValue.float(_round(last)) if last is not None else None
    return {k: v for k, v in metadata.items() if v is not None}


def check_summary(con: duckdb.DuckDBPyConnection) -> str:
    """The latest run's checks as the deck's slide 29 counts them (quality.check_results)."""
    summary = quality_summary(con)
    if summary is None:
        return "no checks recorded yet"
    return (f"{summary['passed']} of {summary['checks']} checks passed, {summary['warnings']} warning(s), "
            f"{summary['failed_blocking']} blocking failure(s) (run {summary['run_id'][:8]})")


def contact_sheet(pngs: list[Path], target: Path) -> Path:
    """Every slide, THUMB_WIDTH pixels wide, SHEET_COLUMNS to a row, in one PNG."""
    thumbs = []
    for png in pngs:
        with Image.open(png) as image:
            thumbs.append(image.convert("RGB").resize(
                (THUMB_WIDTH, round(image.height * THUMB_WIDTH / image.width)), Image.Resampling.LANCZOS))
    height = max(t.height for t in thumbs)
    rows = math.ceil(len(thumbs) / SHEET_COLUMNS)
    sheet = Image.new("RGB", (SHEET_COLUMNS * (THUMB_WIDTH + 4), rows * (height + 4)), "white")
    for i, thumb in enumerate(thumbs):
        sheet.paste(thumb, ((i % SHEET_COLUMNS) * (THUMB_WIDTH + 4), (i // SHEET_COLUMNS) * (height + 4)))
    target.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(target, optimize=True)
    return target


def served_image(instance: dg.DagsterInstance, image: Path, run_id: str) -> str | None:
    """A relative URL under which the webserver serves a copy of `image` (the compute-log download route), or
    None where the instance's compute logs are not stored locally."""
    manager = instance.compute_log_manager
    if not isinstance(manager, LocalComputeLogManager):
        return None
    key = ["gpu_eff_deck_preview", run_id, image.stem]
    copy = Path(manager.get_captured_local_path(key, image.suffix.lstrip(".")))
    copy.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image, copy)
    return "/logs/" + "/".join(key) + "/" + image.suffix.lstrip(".")


def _round(value: float | None) -> float | None:
    return None if value is None else float(f"{value:.4g}")
