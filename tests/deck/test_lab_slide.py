"""The lab slide cites marts.mart_lab_comparisons (实验室实测); without lab data it says so, with no numbers."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest
from deck_warehouse import LAB_EXPERIMENT, LAB_OLD_EXPERIMENT, WarehouseFactory
from pptx import Presentation
from pptx.slide import Slide
from pptx.table import Table
from pptx.util import Emu, Inches, Pt

from deck_assets import DeckResult, build_deck
from deck_assets.outline import load_outline
from deck_assets.text import format_number
from deck_assets.warehouse import WarehouseError

AS_OF = dt.date(2026, 3, 1)
SUBTITLE = "实验室实测：H200 受控实验"
LAB = "实验室实测"
MART = "marts.mart_lab_comparisons"
# factor -> (label, comparison, unit) as the slide should read them
FACTORS = {
    "batching": ("批处理", "batch 128 vs 1", "tokens/s"),
    "precision": ("混合精度", "bf16 vs fp32", "samples/s"),
    "time_slicing": ("时间片共享", "4 进程 vs 1 进程", "tokens/s"),
    "data_loading": ("数据加载", "预取到GPU vs 慢加载器", "samples/s"),
}
CHROME = {"Footer", "Page number", "Section band", "Subtitle"}  # outline text, not data


def _build(path: Path, tmp_path: Path) -> DeckResult:
    return build_deck(path, tmp_path / "decks", AS_OF)


def _lab_number() -> int:
    """The lab slide's place in the real outline (1-based)."""
    return [s.kind for s in load_outline().slides].index("lab_evidence") + 1


def _lab_slide(result: DeckResult) -> tuple[Slide, int]:
    prs = Presentation(str(result.path))
    number = _lab_number()
    slide = prs.slides[number - 1]
    assert slide.shapes.title.text_frame.text == load_outline().slides[number - 1].title
    return slide, number


def _table(slide: Slide) -> Table:
    tables = [s.table for s in slide.shapes if s.has_table]
    assert len(tables) == 1
    return tables[0]


def _mart_rows(path: Path) -> dict[str, dict[str, object]]:
    """The latest experiment's row of each factor, read straight from the mart."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(f"select * from {MART} order by experiment_id")
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]
    finally:
        con.close()
    return {str(r["factor"]): r for r in rows}  # later experiment_id wins


def test_outline_binds_the_lab_slide_to_the_lab_mart() -> None:
    outline = load_outline()
    lab = outline.slides[_lab_number() - 1]
    assert "{lab_tier}" in lab.subtitle and "tier" not in lab.binds  # the tier comes from the mart's rows
    assert lab.binds["mart"] == "mart_lab_comparisons"
    assert "{lab_pool}" in lab.binds["footer"]  # not the cluster's footer: the lab's data is not the pool's


def test_lab_slide_table_holds_the_mart_values(
    warehouse: WarehouseFactory, tmp_path: Path
) -> None:
    path = warehouse()
    slide, number = _lab_slide(_build(path, tmp_path))
    table = _table(slide)
    mart = _mart_rows(path)

    header = [re.sub(r"\s", "", c.text) for c in table.rows[0].cells]  # headers wrap
    expected = ("实验因素", "对比（实验组 vs 基线）", "吞吐提升 (×)", "能效提升 (×)", "功耗比 (×)",
                "吞吐 基线 → 实验组", "证据等级")
    assert header == [re.sub(r"\s", "", h) for h in expected]
    assert len(table.rows) == 1 + len(FACTORS)
    for r_i, (factor, (label, comparison, unit)) in enumerate(FACTORS.items(), start=1):
        row = mart[factor]
        assert row["experiment_id"] == LAB_EXPERIMENT
        cells = [c.text for c in table.rows[r_i].cells]
        assert cells[:2] == [label, comparison]
        ratios = [format_number(row[c], "sig3") + " ◆" for c in ("throughput_ratio", "work_per_joule_ratio",
                                                                   "power_ratio")]
        assert cells[2:5] == ratios, factor
        rates = (f"{format_number(row['baseline_work_per_s'], 'sig3')} → "
                 f"{format_number(row['treatment_work_per_s'], 'sig3')} {unit} ◆")
        assert cells[5] == rates, factor
        assert cells[6] == LAB


def test_lab_table_reads_as_a_presenter_expects(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    slide, _ = _lab_slide(_build(warehouse(), tmp_path))
    rows = {r.cells[0].text: [c.text for c in r.cells] for r in list(_table(slide).rows)[1:]}

    assert rows["批处理"][2:6] == ["110 ◆", "46.5 ◆", "2.37 ◆", "60.1 → 6,617 tokens/s ◆"]
    assert rows["混合精度"][2:4] == ["6.46 ◆", "6.21 ◆"]
    assert rows["时间片共享"][2:4] == ["2.67 ◆", "2.00 ◆"]
    assert rows["数据加载"][2:6] == ["3.34 ◆", "1.42 ◆", "2.35 ◆", "187 → 624 samples/s ◆"]
    text = "\n".join(s.text_frame.text for s in slide.shapes if s.has_text_frame)
    assert "5,000" not in text and "55.5" not in text  # the older experiment is not shown
    assert f"1 块 NVIDIA H200 上的受控运行（实验室实测，资源池 lab-h200，实验 {LAB_EXPERIMENT}）" in text
    assert "◆ 实验室实测" in text  # the tier legend


def test_lab_evidence_names_tier_mart_column_and_experiment(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    path = warehouse()
    result = _build(path, tmp_path)
    _, number = _lab_slide(result)
    items = [i for i in result.evidence if i["slide"] == number]
    mart = _mart_rows(path)

    assert items and all(i["tier"] == LAB for i in items)
    table_items = [i for i in items if i["source"].startswith(MART + ".")]
    columns = {"treatment_variant", "baseline_variant", "throughput_ratio", "work_per_joule_ratio", "power_ratio",
               "baseline_work_per_s", "treatment_work_per_s"}
    assert len(table_items) == len(FACTORS) * len(columns)
    for item in table_items:
        column = item["source"].removeprefix(MART + ".")
        assert column in columns
        row = mart[item["factor"]]
        assert item["experiment_id"] == row["experiment_id"] == LAB_EXPERIMENT
        assert item["value"] == row[column], item
        assert item["pool"] == "lab-h200"
    notes = {i["source"]: i for i in items if i.get("place") == "notes"}
    assert set(notes) == {"marts.mart_lab_experiments.gpu_util_pct", "marts.mart_lab_experiments.sm_active_pct"}
    assert all(i["phase"] == "decode_batch_1" and i["experiment_id"] == LAB_EXPERIMENT for i in notes.values())
    assert LAB_OLD_EXPERIMENT not in str(items)


def test_lab_notes_explain_the_measurement_and_the_util_caveat_from_the_mart(
    warehouse: WarehouseFactory, tmp_path: Path
) -> None:
    path = warehouse()
    slide, _ = _lab_slide(_build(path, tmp_path))
    notes = slide.notes_slide.notes_text_frame.text
    con = duckdb.connect(str(path), read_only=True)
    try:
        util, sm = con.execute(
            "select gpu_util_pct, sm_active_pct from marts.mart_lab_experiments "
            "where phase = 'decode_batch_1' and experiment_id = ?", [LAB_EXPERIMENT]).fetchone()
    finally:
        con.close()

    assert "NVIDIA H200" in notes and "NVML 能量计数器" in notes and "测量窗口" in notes
    assert "不是模拟集群" in notes and "真实运行" in notes
    assert f"GPU利用率为 {format_number(util, 'd1')}%" in notes
    assert f"SM活跃度仅 {format_number(sm, 'd1')}%" in notes
    assert (util, sm) == (12.3, 3.7)


@pytest.mark.parametrize("case", ["absent", "empty"])
def test_without_lab_data_the_slide_says_so_with_no_numbers(
    warehouse: WarehouseFactory, tmp_path: Path, case: str
) -> None:
    path = warehouse(lab=case != "absent")
    if case == "empty":
        con = duckdb.connect(str(path))
        con.execute(f"delete from {MART}")
        con.execute("delete from marts.mart_lab_experiments")
        con.close()
    result = _build(path, tmp_path)
    slide, number = _lab_slide(result)
    prs = Presentation(str(result.path))

    assert result.slide_count == len(load_outline().slides)
    assert not [s for s in slide.shapes if s.has_table or s.has_chart]
    body = [s.text_frame.text for s in slide.shapes
            if s.has_text_frame and s.name not in CHROME and s != slide.shapes.title]
    assert any(t.startswith("无实验室数据") for t in body)
    assert not re.search(r"\d", "\n".join(body))
    notes = slide.notes_slide.notes_text_frame.text
    assert notes.strip() and not re.search(r"\d", notes)
    assert not [i for i in result.evidence if i["slide"] == number]  # no numbers, no 估算 stand-ins
    for shape in slide.shapes:
        assert shape.left >= 0 and shape.top >= 0, shape.name
        assert shape.left + shape.width <= prs.slide_width, shape.name
        assert shape.top + shape.height <= prs.slide_height - Emu(Inches(0.1)), shape.name
        if shape.has_text_frame:
            for paragraph in shape.text_frame.paragraphs:
                assert all(run.font.size >= Pt(12) for run in paragraph.runs), shape.name


def test_lab_mart_missing_a_column_is_a_clear_error(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    path = warehouse()
    con = duckdb.connect(str(path))
    con.execute(f"alter table {MART} drop column power_ratio")
    con.close()
    with pytest.raises(WarehouseError, match=r"mart_lab_comparisons lacks columns \['power_ratio'\]"):
        _build(path, tmp_path)
