"""Every gain over the baseline shows its day-to-day spread, and one inside it reads "no measurable change"
(issue 19, point 3): {ratio:...} in text and the KPI cards, from mart_stage_comparison.ratio_low / ratio_high."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import yaml
from deck_warehouse import METRICS, WarehouseFactory
from pptx import Presentation

from deck_assets import build_deck, checks
from deck_assets.outline import DEFAULT_OUTLINE, load_outline

AS_OF = dt.date(2026, 3, 1)
FLAT = "throughput_tokens_per_sec"  # made flat: stage 6 within the baseline's day-to-day range
MOVED = "gpu_utilization_percent"   # the deck_warehouse series: 23.4 -> 78.6 %, ±4 % a day
SLIDES = [
    {"id": "title", "kind": "title", "title": "标题", "points": ["截至 {as_of}"], "notes": "开场。"},
    {"id": "gains", "kind": "bullets", "title": "收益",
     "points": ["利用率为基线的 {ratio:load_mgmt:gpu_utilization_percent} 倍",
                "吞吐为基线的 {ratio:load_mgmt:throughput_tokens_per_sec} 倍"],
     "notes": "说明。"},
    {"id": "cards", "kind": "delta_cards", "title": "卡片", "points": ["{baseline_name} → {last_name}"],
     "binds": {"value_text": "{baseline} → {value} {unit}", "ratio_text": "为基线的 {ratio} 倍",
               "metrics": [MOVED, FLAT]},
     "notes": "卡片。"},
]


def _flat_warehouse(warehouse: WarehouseFactory) -> Path:
    """The fixture warehouse with FLAT's last stage at its baseline's value: daily values overlap, the interval
    holds 1, as the dbt model gives a metric that did not move (tests/dbt/test_dbt_intervals.py)."""
    path = warehouse()
    base = METRICS[FLAT][2][0]
    con = duckdb.connect(str(path))
    con.execute("""update marts.mart_stage_comparison
                   set value = ?, ratio_to_baseline = 1.004, change_vs_baseline_percent = 0.4,
                       ratio_low = 0.93, ratio_high = 1.09, measurable_change = false
                   where metric = ? and stage_id = 6""", [base * 1.004, FLAT])
    con.close()
    return path


def _build(path: Path, tmp_path: Path) -> Any:
    raw = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))
    raw["slides"] = SLIDES
    outline = tmp_path / "outline.yaml"
    outline.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return build_deck(path, tmp_path / "decks", AS_OF, outline_path=outline)


def _texts(slide: Any) -> list[str]:
    return [p.text for s in slide.shapes if s.has_text_frame for p in s.text_frame.paragraphs]


def test_a_flat_metric_reads_no_measurable_change_and_a_real_gain_its_range(warehouse: WarehouseFactory,
                                                                            tmp_path: Path) -> None:
    result = _build(_flat_warehouse(warehouse), tmp_path)
    prs = Presentation(str(result.path))

    bullets = _texts(prs.slides[1])
    assert "利用率为基线的 3.36 倍（逐日区间 3.10–3.64）" in bullets
    assert "吞吐为基线的 1.00 倍（逐日区间 0.93–1.09，无可测变化）" in bullets

    cards = {s.name: s for s in prs.slides[2].shapes}
    flat_card = [t for s in prs.slides[2].shapes if s.has_text_frame for t in [s.text_frame.text]
                 if s.top > cards[f"Delta {FLAT}"].top and s.left >= cards[f"Delta {FLAT}"].left
                 and s.left < cards[f"Delta {FLAT}"].left + cards[f"Delta {FLAT}"].width]
    assert "无可测变化" in flat_card and "+0.4%" not in flat_card  # the change is not claimed
    assert any("（逐日区间 0.93–1.09）" in t for t in flat_card)
    moved = " ".join(_texts(prs.slides[2]))
    assert "（逐日区间 3.10–3.64）" in moved and "+236%" in moved

    spread = [i for i in result.evidence if i.get("spread_of")]
    assert {i["source"].rsplit(".", 1)[1] for i in spread} == {"ratio_low", "ratio_high"}
    assert all(i["measurable_change"] is False for i in spread if i["metric"] == FLAT)
    results = checks.run_checks(result.path, result.evidence, load_outline(tmp_path / "outline.yaml"), [])
    assert results["numbers_in_evidence"].passed, [f.line() for f in results["numbers_in_evidence"].findings]


def test_a_gain_with_under_two_days_says_so(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    path = warehouse()
    con = duckdb.connect(str(path))
    con.execute("update marts.mart_stage_comparison set ratio_low = null, ratio_high = null, "
                "measurable_change = null, days = 1 where stage_id = 6")
    con.close()
    bullets = _texts(Presentation(str(_build(path, tmp_path).path)).slides[1])
    assert "利用率为基线的 3.36 倍（不足两天，无区间）" in bullets
