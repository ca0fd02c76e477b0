"""build_deck reads the marts and writes a zh-CN deck whose every number is the warehouse's."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from deck_warehouse import ALLOCATION, METRICS, STAGES, WarehouseFactory, five_slide_outline
from pptx import Presentation
from pptx.enum.chart import XL_CHART_TYPE
from pptx.oxml.ns import qn
from pptx.shapes.base import BaseShape
from pptx.table import Table
from pptx.text.text import _Run
from pptx.util import Emu, Inches, Pt

from deck_assets import DeckResult, build_deck, checks
from deck_assets.outline import load_outline
from deck_assets.slides import RENDERERS
from deck_assets.text import format_number, zh_scale
from deck_assets.warehouse import WarehouseError

AS_OF = dt.date(2026, 3, 1)
TEN = list(METRICS)


def _build(warehouse: WarehouseFactory, tmp_path: Path, **kwargs: object) -> DeckResult:
    return build_deck(warehouse(**kwargs), tmp_path / "decks", AS_OF, outline_path=five_slide_outline(tmp_path))


def _texts(shape: BaseShape) -> Iterator[str]:
    if shape.has_text_frame:
        yield shape.text_frame.text
    if shape.has_table:
        for row in shape.table.rows:
            for cell in row.cells:
                yield cell.text


def _deck_text(path: Path) -> str:
    prs = Presentation(str(path))
    return "\n".join(t for slide in prs.slides for shape in slide.shapes for t in _texts(shape))


def _table(path: Path) -> Table:
    prs = Presentation(str(path))
    tables = [s.table for s in prs.slides[1].shapes if s.has_table]
    assert len(tables) == 1
    return tables[0]


def _runs(path: Path) -> Iterator[_Run]:
    prs = Presentation(str(path))
    for slide in prs.slides:
        for shape in slide.shapes:
            frames = [shape.text_frame] if shape.has_text_frame else []
            if shape.has_table:
                frames += [c.text_frame for row in shape.table.rows for c in row.cells]
            for frame in frames:
                for paragraph in frame.paragraphs:
                    yield from paragraph.runs


def test_writes_dated_deck_latest_copy_and_evidence(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path)

    assert result.path == tmp_path / "decks" / "gpu_efficiency_2026-03-01.pptx"
    assert result.latest_path == tmp_path / "decks" / "latest.pptx"
    assert result.evidence_path == tmp_path / "decks" / "gpu_efficiency_2026-03-01.pptx.evidence.json"
    assert result.latest_path.read_bytes() == result.path.read_bytes()
    assert result.slide_count == len(load_outline(five_slide_outline(tmp_path)).slides) == 5
    prs = Presentation(str(result.path))
    assert len(prs.slides) == 5
    assert (prs.slide_width, prs.slide_height) == (Inches(13.333), Inches(7.5))
    assert not [p for p in result.path.parent.iterdir() if p.name.endswith(".tmp")]


def test_title_slide_names_title_period_pool_and_source(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path)
    slide = Presentation(str(result.path)).slides[0]
    text = "\n".join(t for shape in slide.shapes for t in _texts(shape))

    assert slide.shapes.title.text_frame.text == "GPU算力效率提升的技术演进之路"
    assert "从传统裸金属到智能化算力管理的六大技术突破" in text
    assert "数据区间：2026-01-01 至 2026-02-26（56 天）" in text
    assert "资源池：pool-a（64 GPU）" in text
    assert "数据来源：模拟集群（非生产数据）" in text


def test_simulated_source_is_stated_plainly(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path, sources="simulator")
    prs = Presentation(str(result.path))
    title_text = "\n".join(t for shape in prs.slides[0].shapes for t in _texts(shape))

    assert "本演示全部数据来自模拟集群，非生产数据" in title_text
    for slide in list(prs.slides)[1:]:  # the footer of every content slide keeps the caveat
        assert any("模拟集群" in t for shape in slide.shapes for t in _texts(shape))
    assert result.simulated
    assert "模拟数据**：是" in result.evidence_path.with_suffix(".md").read_text(encoding="utf-8")
    pool_items = [i for i in result.evidence if i.get("value_source") == "measured" or "coverage" in i["source"]]
    assert pool_items and {i["tier"] for i in pool_items} == {"仿真"}  # never 集群实测
    assert "集群实测" not in _deck_text(result.path)
    tier_labels = checks.run_checks(result.path, result.evidence, load_outline(), [])["tier_labels"]
    assert tier_labels.passed and tier_labels.summary["tier_labels_checked"] > 0


def test_real_telemetry_is_not_called_simulated(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path, sources="dcgm-exporter,prometheus")
    text = _deck_text(result.path)

    assert "模拟" not in text
    assert "数据来源：DCGM Exporter 遥测、Prometheus 指标" in text
    assert not result.simulated
    pool_items = [i for i in result.evidence if i.get("value_source") == "measured" or "coverage" in i["source"]]
    assert pool_items and {i["tier"] for i in pool_items} == {"集群实测"}
    assert "仿真" not in text


def test_table_shows_every_warehouse_value_formatted(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path)
    table = _table(result.path)
    outline = load_outline()

    header = [c.text.replace("\n", "") for c in table.rows[0].cells]
    assert header[2:] == [name for _, _, name in STAGES]  # no binds.stage_labels: the marts' stage names
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True)
    try:
        for r_i, metric in enumerate(TEN, start=1):
            row = [c.text for c in table.rows[r_i].cells]
            spec = outline.metrics[metric]
            assert row[0] == spec.label
            values = [v for (v,) in con.execute(
                "select value from marts.mart_stage_comparison where metric = ? order by stage_id", [metric]
            ).fetchall()]
            divisor, prefix = zh_scale(values) if spec.zh_scale else (1.0, "")
            assert row[1] == (f"{prefix} {spec.unit}" if prefix else spec.unit)
            for value, cell in zip(values, row[2:], strict=True):
                shown = format_number(None if value is None else value / divisor, spec.format, "无数据")
                assert cell.split(" ")[0] == shown, (metric, value, cell)
    finally:
        con.close()


def test_table_values_read_as_a_presenter_expects(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    table = _table(_build(warehouse, tmp_path).path)
    rows = {table.cell(r, 0).text: [c.text for c in table.rows[r].cells] for r in range(1, len(table.rows))}

    assert rows["GPU利用率"][1:4] == ["%", "23.4", "35.7"]
    assert rows["首token时延 TTFT"][2] == "851"
    assert rows["每美元token数"][1:3] == ["万 tokens/$", "123"]  # 1,234,000 tokens/$
    assert rows["集群能效"][2] == "0.913"
    assert rows["首字时延计算占比"][5] == "70.9 ▲"  # industry benchmark, marked
    assert rows["token间时延 TBT"][6] == "21.8 ◆"  # lab measurement, marked
    assert rows["显存冗余"][5] == "无数据 ○"  # missing: labelled, never blank
    assert len(table.columns) == 2 + 7  # no tier column: every value carries its own mark


def test_chart_is_native_and_holds_per_stage_values(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    prs = Presentation(str(_build(warehouse, tmp_path).path))
    charts = [s.chart for s in prs.slides[2].shapes if s.has_chart]
    pictures = [s for s in prs.slides[2].shapes if s.shape_type == 13]  # MSO_SHAPE_TYPE.PICTURE

    assert len(charts) == 1 and not pictures
    chart = charts[0]
    assert chart.chart_type == XL_CHART_TYPE.COLUMN_CLUSTERED
    assert list(chart.plots[0].categories) == [name for _, _, name in STAGES]
    series = {s.name: list(s.values) for s in chart.plots[0].series}
    assert series["GPU利用率"] == pytest.approx(METRICS["gpu_utilization_percent"][2])
    assert series["GPU分配率"] == pytest.approx(ALLOCATION)


def test_evidence_lists_every_number_with_tier_and_source(
    warehouse: WarehouseFactory, tmp_path: Path
) -> None:
    result = _build(warehouse, tmp_path)
    items = json.loads(result.evidence_path.read_text(encoding="utf-8"))

    assert items == json.loads(json.dumps(result.evidence, ensure_ascii=False))
    assert all({"slide", "text", "value", "tier", "source"} <= item.keys() for item in items)
    tiers = {t.name for t in load_outline().tiers}
    assert all(item["tier"] in tiers for item in items)
    table_items = [i for i in items if i["slide"] == 2]
    assert len(table_items) == len(TEN) * len(STAGES)
    by_key = {(i["metric"], i["stage_key"]): i for i in table_items}
    benchmark = by_key[("prefill_efficiency_percent", "data_infra")]
    assert (benchmark["value"], benchmark["tier"], benchmark["source"]) == (
        70.9, "行业基准", "industry_benchmarks:B03-EXAMPLE")
    assert by_key[("gpu_utilization_percent", "baseline")]["value"] == 23.4
    assert by_key[("memory_overhead_gb", "data_infra")]["value"] is None
    chart_items = [i for i in items if i["slide"] == 3]
    assert sorted(i["value"] for i in chart_items) == sorted(
        METRICS["gpu_utilization_percent"][2] + ALLOCATION)
    delta = [i for i in items if i["slide"] == 4 and i["source"].endswith("change_vs_baseline_percent")]
    assert len(delta) == len(load_outline(five_slide_outline(tmp_path)).slides[3].binds["metrics"])


def test_control_characters_in_pool_name_do_not_break_the_file(
    warehouse: WarehouseFactory, tmp_path: Path
) -> None:
    result = _build(warehouse, tmp_path, pool="pool\x00-b\x1f\x0b\u0085")
    prs = Presentation(str(result.path))  # parses every XML part

    assert prs.slides[1].shapes.title.text_frame.text == "七阶段核心指标对比 · pool-b"
    assert "资源池：pool-b（64 GPU）" in _deck_text(result.path)
    items = json.loads(result.evidence_path.read_text(encoding="utf-8"))
    assert "pool\x00-b\x1f\x0b\u0085" in {i.get("pool") for i in items}


def test_first_pool_alphabetically_is_detailed_and_named(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path, pool="pool-z", extra_pools=("pool-m",))
    text = _deck_text(result.path)

    assert result.pool == "pool-m"
    assert "pool-m（64 GPU，本版详细展示）、pool-z（64 GPU）" in text
    assert Presentation(str(result.path)).slides[1].shapes.title.text_frame.text.endswith("pool-m")


def test_no_text_under_12pt_and_east_asian_font_is_named(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path)
    runs = list(_runs(result.path))

    assert runs
    for run in runs:
        assert run.font.size is not None and run.font.size >= Pt(12), run.text
        ea = run._r.find(qn("a:rPr")).find(qn("a:ea"))
        assert ea is not None and ea.get("typeface") == "Noto Sans CJK SC", run.text
    prs = Presentation(str(result.path))
    chart = next(s.chart for s in prs.slides[2].shapes if s.has_chart)
    assert chart.font.size >= Pt(12)
    theme = prs.slide_master.part.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/theme").blob.decode()
    assert '<a:ea typeface="Noto Sans CJK SC"/>' in theme
    assert '<a:font script="Hans" typeface="Microsoft YaHei"/>' in theme


def test_shapes_stay_on_the_slide(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    prs = Presentation(str(_build(warehouse, tmp_path).path))
    for number, slide in enumerate(prs.slides, start=1):
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0, (number, shape.name)
            assert shape.left + shape.width <= prs.slide_width, (number, shape.name)
            assert shape.top + shape.height <= prs.slide_height - Emu(Inches(0.1)), (number, shape.name)


def test_every_slide_has_speaker_notes(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    prs = Presentation(str(_build(warehouse, tmp_path).path))
    for slide in prs.slides:
        assert slide.has_notes_slide and slide.notes_slide.notes_text_frame.text.strip()


def test_warehouse_is_only_read(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    path = warehouse()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    build_deck(path, tmp_path / "decks", AS_OF)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_failed_build_leaves_previous_deck_untouched(
    warehouse: WarehouseFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _build(warehouse, tmp_path)
    before = first.latest_path.read_bytes()

    def boom(*_: object) -> None:
        raise RuntimeError("renderer crashed")

    monkeypatch.setitem(RENDERERS, "bar_chart", boom)
    with pytest.raises(RuntimeError, match="renderer crashed"):
        build_deck(tmp_path / "warehouse.duckdb", tmp_path / "decks", AS_OF,
                   outline_path=five_slide_outline(tmp_path))
    assert first.latest_path.read_bytes() == before
    assert sorted(p.name for p in first.path.parent.iterdir()) == sorted(
        [first.path.name, first.latest_path.name, first.evidence_path.name,
         first.evidence_path.with_suffix(".md").name])


def test_missing_mart_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "empty.duckdb"
    duckdb.connect(str(path)).close()
    with pytest.raises(WarehouseError, match="mart_"):
        build_deck(path, tmp_path / "decks", AS_OF)
    assert not (tmp_path / "decks").exists() or not list((tmp_path / "decks").iterdir())


def test_pool_without_stage_rows_is_a_clear_error(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    path = warehouse()
    con = duckdb.connect(str(path))
    con.execute("delete from marts.mart_stage_metrics")
    con.close()
    with pytest.raises(WarehouseError, match="no rows for pool 'pool-a'"):
        build_deck(path, tmp_path / "decks", AS_OF)


def test_stages_or_metrics_missing_from_the_marts_show_as_missing(
    warehouse: WarehouseFactory, tmp_path: Path
) -> None:
    path = warehouse()
    con = duckdb.connect(str(path))
    con.execute("delete from marts.mart_stage_metrics where stage_id > 2")
    con.execute("delete from marts.mart_stage_comparison where stage_id > 2 or metric = 'ttft_milliseconds'")
    con.close()
    result = build_deck(path, tmp_path / "decks", AS_OF, outline_path=five_slide_outline(tmp_path))
    table = _table(result.path)

    assert len(table.columns) == 2 + 3
    ttft = next(r for r in table.rows if r.cells[0].text == "首token时延 TTFT")
    assert [c.text.split(" ")[0] for c in ttft.cells][2:5] == ["无数据"] * 3
