"""The deck: a zh-CN PowerPoint whose every number is read from the warehouse marts; its checks; its preview."""


import datetime as dt
import os
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb

from deck_assets import build_deck, checks, preview
from deck_assets.evidence import evidence_paths, read_evidence
from deck_assets.outline import load_outline
from ingestion import paths
from orchestration.defs.assets import deck_metadata
from orchestration.defs.checks import labels
from orchestration.defs.partitions import WAREHOUSE_POOL

MARTS = ("mart_stage_metrics", "mart_stage_comparison", "mart_data_coverage", "mart_lab_comparisons",
         "mart_lab_experiments")
DECK_KEY, PREVIEW_KEY = dg.AssetKey("deck"), dg.AssetKey("deck_preview")
FINDINGS_SHOWN = 50
# A failed blocking check fails its step, so the run fails (`dagster job execute` exits 1) and deck_preview is
# skipped. GPU_EFF_DECK_CHECKS_BLOCKING=0 turns every deck check into a non-blocking one (still ERROR severity).
BLOCKING = os.environ.get("GPU_EFF_DECK_CHECKS_BLOCKING", "1").strip().lower() not in ("0", "false", "no")


@dg.asset(
    deps=[dg.AssetKey(m) for m in MARTS],
    group_name="deck",
    kinds={"pptx", "python"},
    owners=["team:gpu-platform"],
    pool=WAREHOUSE_POOL,
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def deck(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The efficiency deck, written to `data/deck/gpu_efficiency_YYYY-MM-DD.pptx` and `data/deck/latest.pptx`,
    with its evidence appendix (`gpu_efficiency_YYYY-MM-DD.pptx.evidence.json`, a list, and its Markdown twin
    `.evidence.md`). Its page shows the headline numbers and the checks of the run; `deck_preview` its slides."""
    result = build_deck(paths.warehouse_path(), paths.deck_dir(), as_of=dt.date.today())
    tiers: dict[str, int] = {}
    for item in result.evidence:
        tiers[item["tier"]] = tiers.get(item["tier"], 0) + 1
    context.log.info(f"deck written to {result.path}")
    with duckdb.connect(str(paths.warehouse_path()), read_only=True) as con:
        headline = deck_metadata.headline(con, result.pool)
        checks_summary = deck_metadata.check_summary(con)
    return dg.MaterializeResult(
        metadata={
            **headline,
            "checks": checks_summary,
            "preview": dg.MetadataValue.asset(PREVIEW_KEY),
            "path": dg.MetadataValue.path(str(result.path)),
            "latest": dg.MetadataValue.path(str(result.latest_path)),
            "evidence": dg.MetadataValue.path(str(result.evidence_path)),
            "evidence_md": dg.MetadataValue.path(str(evidence_paths(result.path)[1])),
            "slides": result.slide_count,
            "pool": result.pool,
            "simulated_data": result.simulated,
            "numbers_by_tier": dg.MetadataValue.json(tiers),
        }
    )


def latest_deck_path(instance: dg.DagsterInstance | None) -> Path:
    """The deck of the latest `deck` materialization (its `path` metadata); without one, the newest dated deck
    in paths.deck_dir()."""
    if instance is not None:
        event = instance.get_latest_materialization_event(DECK_KEY)
        materialization = event.asset_materialization if event is not None else None
        if materialization is not None and "path" in materialization.metadata:
            path = Path(str(materialization.metadata["path"].value))
            if path.exists():
                return path
    decks = sorted(paths.deck_dir().glob("gpu_efficiency_*.pptx"))
    if not decks:
        raise FileNotFoundError(f"no deck in {paths.deck_dir()}: materialize `deck` first")
    return decks[-1]


# (check name, description, blocking, severity when it fails)
CHECKS: tuple[tuple[str, str, bool, dg.AssetCheckSeverity], ...] = (
    ("structure", "31 slides in the seed's order, slide 1 with the 主标题/副标题, slides 2–31 titled verbatim",
     True, dg.AssetCheckSeverity.ERROR),
    ("titles_and_notes", "every slide has a title and speaker notes", True, dg.AssetCheckSeverity.ERROR),
    ("text_overflow", checks.OVERFLOW_DESCRIPTION, True, dg.AssetCheckSeverity.ERROR),
    ("shapes_on_slide", "no shape outside the slide", True, dg.AssetCheckSeverity.ERROR),
    ("min_font", "no font below 12 pt", True, dg.AssetCheckSeverity.ERROR),
    ("numbers_in_evidence", "every number on a slide is in the evidence appendix", True,
     dg.AssetCheckSeverity.ERROR),
    ("tier_labels", checks.TIER_LABELS_DESCRIPTION, True, dg.AssetCheckSeverity.ERROR),
    ("claim_forms", "every cited figure keeps the form its source states it in: 至多 / 不少于 / 不超过 / 均值 / 中位数 "
     "right before the number (industry_benchmarks.claim_form)", True, dg.AssetCheckSeverity.ERROR),
    ("talk_time", "the speaker notes last the target time ±tolerance", False, dg.AssetCheckSeverity.WARN),
    ("status_currency", checks.STATUS_CURRENCY_DESCRIPTION, False, dg.AssetCheckSeverity.WARN),
)


def _check_metadata(result: checks.CheckResult, deck_path: Path) -> dict[str, Any]:
    metadata: dict[str, Any] = {"deck": dg.MetadataValue.path(str(deck_path)), "findings": len(result.findings)}
    if result.slides:
        metadata["slides"] = dg.MetadataValue.text(", ".join(str(s) for s in result.slides))
    if result.findings:
        shown = result.findings[:FINDINGS_SHOWN]
        more = f"\n\n… and {len(result.findings) - len(shown)} more" if len(result.findings) > len(shown) else ""
        metadata["details"] = dg.MetadataValue.md("\n".join(f"- {f.line()}" for f in shown) + more)
        metadata["findings_json"] = dg.MetadataValue.json([f.as_dict() for f in shown])
    for key, value in result.summary.items():
        metadata[key] = dg.MetadataValue.json(value) if isinstance(value, (list, dict)) else value
    return metadata


@dg.multi_asset_check(
    specs=[dg.AssetCheckSpec(name, asset=DECK_KEY, description=labels.deck_check(description, blocking and BLOCKING),
                             blocking=blocking and BLOCKING)
           for name, description, blocking, _ in CHECKS],
    can_subset=False,
)
def deck_checks(context: dg.AssetCheckExecutionContext):  # noqa: ANN201 (a generator of AssetCheckResult)
    """The deck checks of deck_assets.checks over the latest materialized deck and its evidence appendix."""
    deck_path = latest_deck_path(context.instance)
    results = checks.run_checks(deck_path, read_evidence(deck_path), load_outline(), checks.load_seed_pages())
    for name, _description, _blocking, severity in CHECKS:
        result = results[name]
        if not result.passed:
            context.log.warning(f"deck check {name} failed: {len(result.findings)} findings; "
                                + "; ".join(f.line() for f in result.findings[:5]))
        yield dg.AssetCheckResult(asset_key=DECK_KEY, check_name=name, passed=result.passed, severity=severity,
                                  description=result.description, metadata=_check_metadata(result, deck_path))


@dg.asset(
    deps=[deck],
    group_name="deck",
    kinds={"png", "libreoffice"},
    owners=["team:gpu-platform"],
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def deck_preview(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """Every slide of the deck as a PNG in `data/deck/preview/` (LibreOffice headless → PDF → pdftoppm), and one
    contact sheet of all of them, shown on this page. Skipped, with a message, where LibreOffice is not installed.
    A deck whose parts are those the PNGs were rendered from (a run with nothing new, the same day) keeps them."""
    deck_path = latest_deck_path(context.instance)
    missing = preview.missing_tools()
    if missing:
        tools = "LibreOffice" if missing == [preview.SOFFICE_PACKAGE] else (
            "pdftoppm" if missing == [preview.PDFTOPPM_PACKAGE] else "LibreOffice and pdftoppm")
        message = (f"{tools} not installed; the deck is built, only its thumbnails need them "
                   f"(Debian/Ubuntu: apt-get install {' '.join(missing)})")
        context.log.warning(f"deck preview skipped: {message}")
        return dg.MaterializeResult(metadata={"skipped": message, "deck": dg.MetadataValue.path(str(deck_path))})
    out_dir = paths.deck_dir() / "preview"
    kept = preview.rendered(deck_path, out_dir)
    pngs = kept or preview.render_pngs(deck_path, out_dir)
    sheet = deck_metadata.contact_sheet(pngs, out_dir / "contact_sheet.png")
    context.log.info(f"{len(pngs)} slide thumbnails and their contact sheet in {out_dir}"
                     + (" (the slides are those of the last preview: kept, not rendered again)" if kept else ""))
    url = deck_metadata.served_image(context.instance, sheet, context.op_execution_context.run_id)
    shown = (f"![every slide of {deck_path.name}]({url})" if url
             else f"contact sheet: `{sheet}` (this instance does not store compute logs locally)")
    table = "| slide | file |\n|---|---|\n" + "\n".join(f"| {i} | `{p}` |" for i, p in enumerate(pngs, start=1))
    return dg.MaterializeResult(metadata={
        "slides": dg.MetadataValue.md(shown),
        "pages": len(pngs),
        "rendered_again": kept is None,
        "deck": dg.MetadataValue.path(str(deck_path)),
        "preview_dir": dg.MetadataValue.path(str(out_dir)),
        "contact_sheet": dg.MetadataValue.path(str(sheet)),
        "pdf": dg.MetadataValue.path(str(out_dir / "deck.pdf")),
        "files": dg.MetadataValue.md(table),
    })
