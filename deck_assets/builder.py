"""Build the zh-CN deck from the warehouse: ``build_deck(warehouse_path, deck_dir, as_of)``."""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pptx import Presentation

from deck_assets.evidence import with_basis, write_evidence
from deck_assets.files import atomic_write
from deck_assets.outline import DEFAULT_OUTLINE, Outline, load_outline
from deck_assets.slides import Context, Evidence, render_slide
from deck_assets.status_claims import claim_uses, used_claims
from deck_assets.text import format_number, sanitize
from deck_assets.warehouse import BASIS_MART, MART_SCHEMA, Snapshot, WarehouseError, read_snapshot

TEMPLATE_PATH = Path(__file__).with_name("template.pptx")  # made by `python -m deck_assets.template`
POOL_NAME_MAX = 40


@dataclass(frozen=True)
class DeckResult:
    path: Path  # deck_dir / gpu_efficiency_<as_of>.pptx
    latest_path: Path  # deck_dir / latest.pptx, a copy of path
    slide_count: int
    evidence: list[dict[str, Any]]  # every number on the deck: slide, text, value, tier, source, ...
    evidence_path: Path  # <deck>.pptx.evidence.json
    pool: str  # the pool the detail slides show
    simulated: bool  # any data came from the simulated cluster


def _sources(snapshot: Snapshot) -> list[str]:
    """Every landing source of every pool, those of simulated pools first."""
    simulated = {s for c in snapshot.coverage if c.simulated for s in c.sources}
    return sorted({s for c in snapshot.coverage for s in c.sources}, key=lambda s: (s not in simulated, s))


def is_simulated(snapshot: Snapshot) -> bool:
    """Whether any pool's data is simulated (the warehouse says so from the landed data's source)."""
    return any(c.simulated for c in snapshot.coverage)


def _template_values(outline: Outline, snapshot: Snapshot, pool: str, as_of: dt.date) -> dict[str, str]:
    """The {placeholders} the outline's text may use, all from the warehouse (and as_of)."""
    coverage = sorted(snapshot.coverage, key=lambda c: c.pool)
    sources = _sources(snapshot)
    labels = [outline.sources[s].label if s in outline.sources else sanitize(s) for s in sources]
    firsts = [c.first_ts for c in coverage if c.first_ts]
    lasts = [c.last_ts for c in coverage if c.last_ts]
    pools = []
    for c in coverage:
        name = sanitize(c.pool, max_len=POOL_NAME_MAX)
        details = [f"{format_number(c.gpus, 'int')} GPU"] if c.gpus is not None else []
        if len(coverage) > 1 and c.pool == pool and outline.focus_pool_note:
            details.append(outline.focus_pool_note)
        pools.append(f"{name}（{'，'.join(details)}）" if details else name)
    days = [c.days for c in coverage if c.days is not None]
    stages = snapshot.stages(pool)
    return {
        "pool": sanitize(pool, max_len=POOL_NAME_MAX),
        "tier": snapshot.measured_tier(pool),
        "caveat": outline.simulated_caveat if any(c.simulated for c in coverage if c.pool == pool) else "",
        "pools": "、".join(pools),
        "sources": "、".join(labels) or outline.missing_value,
        "period_start": min(firsts).date().isoformat() if firsts else outline.missing_value,
        "period_end": max(lasts).date().isoformat() if lasts else outline.missing_value,
        "days": format_number(max(days), "int" if max(days).is_integer() else "d1")
        if days else outline.missing_value,
        "gpus": format_number(sum(c.gpus or 0 for c in coverage), "int"),
        "as_of": as_of.isoformat(),
        "baseline_name": sanitize(stages[0].name_zh) if stages else outline.missing_value,
        "last_name": sanitize(stages[-1].name_zh) if stages else outline.missing_value,
    }


def build_deck(warehouse_path: Path, deck_dir: Path, as_of: dt.date, *,
               outline_path: Path = DEFAULT_OUTLINE, template_path: Path = TEMPLATE_PATH) -> DeckResult:
    """Read the marts (read-only), render the outline's slides, write deck, copy and evidence atomically."""
    outline = load_outline(outline_path)
    snapshot = read_snapshot(Path(warehouse_path))
    pool = snapshot.pools[0]
    if not snapshot.stages(pool):
        raise WarehouseError(f"{warehouse_path}: {MART_SCHEMA}.mart_stage_metrics has no rows for pool {pool!r}")
    values = _template_values(outline, snapshot, pool, as_of)
    simulated = is_simulated(snapshot)

    prs = Presentation(str(template_path))
    props = prs.core_properties
    props.title = sanitize(outline.slides[0].title) if outline.slides else "GPU efficiency"
    props.subject = f"{values['pool']} · {values['as_of']}"
    props.language = "zh-CN"
    props.author = props.last_modified_by = "gpu-efficiency deck_assets"
    props.revision = 1
    stamp = dt.datetime(as_of.year, as_of.month, as_of.day)
    props.created = props.modified = stamp

    evidence = Evidence()
    ctx = Context(prs, outline, snapshot, pool, values, evidence, slide_total=len(outline.slides),
                  simulated=simulated)
    for number, spec in enumerate(outline.slides, start=1):
        render_slide(ctx, spec, number)

    buffer = io.BytesIO()
    prs.save(buffer)
    deck_dir = Path(deck_dir)
    deck_dir.mkdir(parents=True, exist_ok=True)
    path = deck_dir / f"gpu_efficiency_{as_of:%Y-%m-%d}.pptx"
    evidence_path = path.with_name(path.name + ".evidence.json")
    latest_path = deck_dir / "latest.pptx"
    meta = {
        "deck": path.name,
        "as_of": as_of.isoformat(),
        "warehouse": str(warehouse_path),
        "engine": snapshot.engine,
        "pool": pool,
        "pools": snapshot.pools,
        "sources": values["sources"],
        "simulated": simulated,
        "tiers": [{"name": t.name, "mark": t.mark, "note": t.note} for t in outline.tiers],
        "status_claims": used_claims(outline.status_claims, claim_uses(outline.slides)),
    }
    # Evidence first (a JSON list + its Markdown twin), then the deck: a deck on disk always has its evidence.
    write_evidence(path, with_basis(evidence.items, snapshot.marts.get(BASIS_MART, ())), meta)
    atomic_write(path, buffer.getvalue())
    atomic_write(latest_path, buffer.getvalue())
    return DeckResult(path=path, latest_path=latest_path, slide_count=len(prs.slides),
                      evidence=evidence.items, evidence_path=evidence_path, pool=pool,
                      simulated=simulated)
