"""The deck: a zh-CN PowerPoint whose every number is read from the warehouse marts."""


import datetime as dt

import dagster as dg

from deck_assets import build_deck
from ingestion import paths
from orchestration.defs.partitions import WAREHOUSE_POOL

MARTS = ("mart_stage_metrics", "mart_stage_comparison", "mart_data_coverage", "mart_lab_comparisons",
         "mart_lab_experiments")


@dg.asset(
    deps=[dg.AssetKey(m) for m in MARTS],
    group_name="deck",
    kinds={"pptx", "python"},
    owners=["team:gpu-platform"],
    pool=WAREHOUSE_POOL,
)
def deck(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The efficiency deck, written to data/deck/gpu_efficiency_<date>.pptx and data/deck/latest.pptx,
    with its evidence appendix (`<deck>.pptx.evidence.json`) beside it."""
    result = build_deck(paths.warehouse_path(), paths.deck_dir(), as_of=dt.date.today())
    tiers: dict[str, int] = {}
    for item in result.evidence:
        tiers[item["tier"]] = tiers.get(item["tier"], 0) + 1
    context.log.info(f"deck written to {result.path}")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "latest": dg.MetadataValue.path(str(result.latest_path)),
            "evidence": dg.MetadataValue.path(str(result.evidence_path)),
            "slides": result.slide_count,
            "pool": result.pool,
            "simulated_data": result.simulated,
            "numbers_by_tier": dg.MetadataValue.json(tiers),
        }
    )
