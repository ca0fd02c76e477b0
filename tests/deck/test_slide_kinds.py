"""The outline mechanics of the 31-slide deck: section bands, subtitles, bullets, diagrams, evidence
placeholders ({bench:ID}, {stage:STAGE:METRIC}, {ratio:STAGE:METRIC}) with tier marks, the 资料来源 footnote.

Each test writes a small outline into tmp_path (the real outline's settings, its own slides)."""

from __future__ import annotations

import datetime as dt
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from deck_warehouse import DATA_STALL, LOST_GPU_HOURS, METRICS, MTTR, WarehouseFactory
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.shapes import MSO_SHAPE
from pptx.oxml.ns import qn
from pptx.slide import Slide
from pptx.util import Pt

from deck_assets import DeckResult, build_deck
from deck_assets.outline import DEFAULT_OUTLINE, Fonts, OutlineError, load_outline
from deck_assets.slides import CONTENT_W, LEFT_COLUMN, MARGIN, short_citation
from deck_assets.style import SECTION_COLORS, Box
from deck_assets.warehouse import Benchmark, WarehouseError, read_snapshot
from orchestration.defs.checks import report
from orchestration.defs.checks.outcome import Outcome

AS_OF = dt.date(2026, 3, 1)
TGS_SOURCE = ("Wu et al. Transparent GPU Sharing in Container Clouds for Deep Learning Workloads (TGS), NSDI 2023, "
              "https://www.usenix.org/conference/nsdi23/presentation/wu [B01-TGS]")
TITLE = {"id": "title", "kind": "title", "title": "测试标题", "subtitle": "副标题", "points": ["截至 {as_of}"],
         "notes": "开场。"}


def _outline(tmp_path: Path, slides: list[dict[str, Any]]) -> Path:
    raw = yaml.safe_load(DEFAULT_OUTLINE.read_text(encoding="utf-8"))
    raw["slides"] = [TITLE, *slides]
    path = tmp_path / "outline.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _build(warehouse: WarehouseFactory, tmp_path: Path, slides: list[dict[str, Any]],
           warehouse_path: Path | None = None) -> DeckResult:
    return build_deck(warehouse_path or warehouse(), tmp_path / "decks", AS_OF,
                      outline_path=_outline(tmp_path, slides))


def _slide(result: DeckResult, number: int) -> Slide:
    return Presentation(str(result.path)).slides[number - 1]


def _shape(slide: Slide, name: str) -> Any:
    found = [s for s in slide.shapes if s.name == name]
    assert len(found) == 1, [s.name for s in slide.shapes]
    return found[0]


def _runs(slide: Slide) -> Iterator[Any]:
    for shape in slide.shapes:
        if shape.has_text_frame:
            for paragraph in shape.text_frame.paragraphs:
                yield from paragraph.runs


@pytest.fixture
def fake_diagrams(monkeypatch: pytest.MonkeyPatch) -> list[Box]:
    """deck_assets.diagrams with one diagram, `fake`, that draws a rectangle filling its box."""
    boxes: list[Box] = []

    def draw(slide: Slide, box: Box, fonts: Fonts) -> None:
        boxes.append(box)
        shape = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *box.emu)
        shape.name = "Fake diagram"

    module = types.ModuleType("deck_assets.diagrams")
    module.DIAGRAMS = {"fake": draw}  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "deck_assets.diagrams", module)
    return boxes


def test_bullets_with_sub_points_band_subtitle_and_page_number(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path, [{
        "id": "mig", "kind": "bullets", "section": "stage1", "title": "MIG多实例GPU",
        "subtitle": "硬件级隔离的切分方式",
        "points": ["第一条要点", {"text": "第二条要点", "sub": ["子要点甲", "子要点乙"]}, "第三条要点"],
        "notes": "讲解要点。"}])
    slide = _slide(result, 2)

    assert slide.shapes.title.text_frame.text == "MIG多实例GPU"  # nothing appended to the page name
    band = _shape(slide, "Section band")
    assert band.text_frame.text == "阶段1 · GPU共享与虚拟化"
    assert band.fill.fore_color.rgb == RGBColor.from_string(SECTION_COLORS["stage1"])
    assert _shape(slide, "Subtitle").text_frame.text == "硬件级隔离的切分方式"
    assert _shape(slide, "Page number").text_frame.text == "2 / 2"
    assert "截至 2026-03-01" in _shape(slide, "Footer").text_frame.text
    paragraphs = _shape(slide, "Points").text_frame.paragraphs
    assert [(p.text, p.level) for p in paragraphs] == [
        ("第一条要点", 0), ("第二条要点", 0), ("子要点甲", 1), ("子要点乙", 1), ("第三条要点", 0)]
    chars = [p._p.pPr.find(qn("a:buChar")).get("char") for p in paragraphs]
    assert chars == ["•", "•", "–", "–", "•"]
    sizes = [p.runs[0].font.size for p in paragraphs]
    assert sizes[2] < sizes[1] and min(sizes) >= Pt(12)
    assert not [s for s in slide.shapes if s.name == "Sources footnote"]


def test_existing_kinds_take_section_band_and_subtitle(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path, [
        {"id": "table", "kind": "metric_table", "section": "baseline", "title": "基线指标",
         "subtitle": "七阶段核心指标对比 · {pool}", "binds": {"metrics": ["gpu_utilization_percent"]},
         "points": ["说明"], "notes": "表。"},
        {"id": "chart", "kind": "bar_chart", "section": "stage6", "title": "利用率",
         "binds": {"series": [{"column": "gpu_utilization_percent", "label": "GPU利用率"}]},
         "points": ["参考：{bench:B06-LYRA}%"], "notes": "图。"},
    ])
    table, chart = _slide(result, 2), _slide(result, 3)

    assert table.shapes.title.text_frame.text == "基线指标"
    assert _shape(table, "Section band").text_frame.text == "基线分析"
    assert _shape(table, "Subtitle").text_frame.text == "七阶段核心指标对比 · pool-a"
    subtitle_bottom = _shape(table, "Subtitle").top + _shape(table, "Subtitle").height
    assert _shape(table, "Stage comparison table").top >= subtitle_bottom
    assert _shape(chart, "Section band").text_frame.text == "阶段6 · 战略性负载管理"
    footnote = _shape(chart, "Sources footnote")
    assert footnote.text_frame.text == "资料来源：▲ Li et al. Lyra, EuroSys 2023"
    assert _shape(chart, "Stage chart").top + _shape(chart, "Stage chart").height <= footnote.top
    assert _shape(chart, "Points").top + _shape(chart, "Points").height <= footnote.top


def test_placeholders_record_evidence_and_mark_the_tier(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path, [{
        "id": "numbers", "kind": "bullets", "section": "stage6", "title": "数字",
        "subtitle": "利用率达到 {stage:load_mgmt:gpu_utilization_percent}",
        "points": [
            "TGS 机会性吞吐提升 {bench:B01-TGS} 倍",
            {"text": "本资源池", "sub": ["利用率为基线的 {ratio:load_mgmt:gpu_utilization_percent} 倍",
                                        "预填充效率 {stage:data_infra:prefill_efficiency_percent}",
                                        "TBT {stage:software:tbt_milliseconds}"]},
        ],
        "notes": "Llama 3 训练中意外中断 {bench:B05-LLAMA3-INT} 次；吞吐 {stage:stage6:throughput_tokens_per_sec}。"}])
    slide = _slide(result, 2)
    items = [i for i in result.evidence if i["slide"] == 2]
    by_placeholder = {i["placeholder"]: i for i in items if "placeholder" in i}

    bench = by_placeholder["{bench:B01-TGS}"]
    assert (bench["text"], bench["value"], bench["tier"], bench["source"], bench["place"]) == (
        "15", 15.0, "行业基准", TGS_SOURCE, "points")
    util = by_placeholder["{stage:load_mgmt:gpu_utilization_percent}"]
    assert (util["text"], util["value"], util["tier"], util["source"], util["place"]) == (
        "78.6%", 78.6, "仿真", "marts.mart_stage_metrics.gpu_utilization_percent", "subtitle")  # simulator's pool
    ratio = by_placeholder["{ratio:load_mgmt:gpu_utilization_percent}"]
    assert (ratio["text"], ratio["tier"], ratio["source"]) == (
        "3.36", "仿真", "marts.mart_stage_comparison.ratio_to_baseline")
    assert ratio["value"] == pytest.approx(78.6 / 23.4)
    prefill = by_placeholder["{stage:data_infra:prefill_efficiency_percent}"]
    assert (prefill["text"], prefill["tier"]) == ("70.9%", "行业基准")  # a benchmark-filled mart cell
    tbt = by_placeholder["{stage:software:tbt_milliseconds}"]
    assert (tbt["text"], tbt["tier"]) == ("21.8 ms", "实验室实测")
    llama = by_placeholder["{bench:B05-LLAMA3-INT}"]
    assert (llama["text"], llama["value"], llama["place"]) == ("419", 419.0, "notes")
    tput = by_placeholder["{stage:stage6:throughput_tokens_per_sec}"]
    assert (tput["text"], tput["value"], tput["place"]) == ("2.49 万 tokens/s", 24870.0, "notes")

    points = _shape(slide, "Points").text_frame
    assert points.paragraphs[0].text == "TGS 机会性吞吐提升 至多 15 倍▲"  # the unit written after it precedes the mark
    assert [p.text for p in points.paragraphs[2:]] == [
        "利用率为基线的 3.36 倍（逐日区间 3.10–3.64）", "预填充效率 70.9%▲", "TBT 21.8 ms◆"]  # the gain's spread
    bounds = [i for i in items if i.get("spread_of") == "{ratio:load_mgmt:gpu_utilization_percent}"]
    assert [(i["value"], i["source"]) for i in bounds] == [
        (pytest.approx(78.6 * 0.96 / (23.4 * 1.04)), "marts.mart_stage_comparison.ratio_low"),
        (pytest.approx(78.6 * 1.04 / (23.4 * 0.96)), "marts.mart_stage_comparison.ratio_high")]
    marks = {r.text: r.font.color.rgb for r in _runs(slide) if r.text in ("▲", "◆")}
    assert marks == {"▲": RGBColor.from_string("B26A00"), "◆": RGBColor.from_string("1F5FA8")}
    assert _shape(slide, "Subtitle").text_frame.text == "利用率达到 78.6%"  # the pool's own tier: no mark
    notes = slide.notes_slide.notes_text_frame.text
    assert "意外中断 419 次▲" in notes and "2.49 万 tokens/s" in notes
    footnote = _shape(slide, "Sources footnote").text_frame.text
    assert footnote == "资料来源：▲ Wu et al. (TGS), NSDI 2023"  # a benchmark cited only in the notes is not listed


def test_mart_placeholder_quotes_a_stage_mart_value(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    result = _build(warehouse, tmp_path, [{
        "id": "stalls", "kind": "bullets", "title": "数据等待",
        "points": ["数据等待 {mart:mart_data_stalls:data_infra:data_stall_percent}，"
                   "损失 {mart:mart_reliability:stage5:lost_gpu_hours}；参考 {bench:B00-PAI-UTIL}%"],
        "notes": "平均恢复 {mart:mart_reliability:resilience:mttr_minutes}。"}])
    items = {i["placeholder"]: i for i in result.evidence if i["slide"] == 2}

    stall = items["{mart:mart_data_stalls:data_infra:data_stall_percent}"]
    assert (stall["value"], stall["tier"], stall["source"], stall["stage_key"]) == (
        DATA_STALL[3], "仿真", "marts.mart_data_stalls.data_stall_percent", "data_infra")
    lost = items["{mart:mart_reliability:stage5:lost_gpu_hours}"]
    assert lost["value"] == LOST_GPU_HOURS[5] and lost["text"] == f"{LOST_GPU_HOURS[5]:,.0f} GPU·小时"
    points = _shape(_slide(result, 2), "Points").text_frame.text
    assert points == (f"数据等待 {DATA_STALL[3]:.1f}%，损失 {LOST_GPU_HOURS[5]:,.0f} GPU·小时；参考 均值 10.5%▲")
    assert f"平均恢复 {MTTR[5]:,.0f} 分钟" in _slide(result, 2).notes_slide.notes_text_frame.text


def test_coverage_placeholder_states_gpus_days_missing_minutes_and_checks(warehouse: WarehouseFactory,
                                                                          tmp_path: Path) -> None:
    path = warehouse()
    con = duckdb.connect(str(path))
    con.execute("alter table marts.mart_stage_metrics add column gpu_minutes double")
    con.execute("alter table marts.mart_stage_metrics add column missing_gpu_minutes double")
    con.execute("update marts.mart_stage_metrics set gpu_minutes = 1000, missing_gpu_minutes = stage_id")  # 21/7000
    con.close()
    slide = {"id": "cov", "kind": "bullets", "title": "覆盖",
             "points": ["{coverage:gpus} 块GPU · {coverage:days} 天 · 缺失 {coverage:missing_gpu_minutes_percent} · "
                        "检查 {coverage:checks_passed}/{coverage:checks}"], "notes": "无。"}
    (tmp_path / "before").mkdir()
    before = _build(warehouse, tmp_path / "before", [slide], warehouse_path=path)  # no pipeline run recorded yet
    assert _shape(_slide(before, 2), "Points").text_frame.text == "64 块GPU · 56 天 · 缺失 0.3% · 检查 无数据/无数据"

    outcomes = [Outcome("mart_stage_metrics", f"check_{i}", passed=i != 3, blocking=False, severity="WARN",
                        message="") for i in range(5)]
    report.write(path, "run-a", outcomes[:2], dt.datetime(2026, 3, 1, 5))
    report.write(path, "run-b", outcomes, dt.datetime(2026, 3, 1, 6))  # the latest run
    (tmp_path / "after").mkdir()
    after = _build(warehouse, tmp_path / "after", [slide], warehouse_path=path)
    assert _shape(_slide(after, 2), "Points").text_frame.text == "64 块GPU · 56 天 · 缺失 0.3% · 检查 4/5"
    items = {i["placeholder"]: i for i in after.evidence if i["slide"] == 2}
    assert items["{coverage:checks}"]["source"] == "quality.check_results (run run-b)"
    assert items["{coverage:missing_gpu_minutes_percent}"]["value"] == pytest.approx(100 * 21 / 7000)
    assert items["{coverage:gpus}"]["source"] == "marts.mart_data_coverage.gpus"


@pytest.mark.parametrize(("text", "message"), [
    ("{coverage:gpu_count}", r"unknown coverage key 'gpu_count'"),
    ("{mart:mart_data_stalls:data_infra:training_jobs}", r"mart_data_stalls.training_jobs is not in the outline's "
                                                         r"mart_values"),
    ("{mart:mart_data_stalls:data_stall_percent}", r"expected \{mart:MART:STAGE:COLUMN\}"),
    ("{mart:mart_data_stalls:stage9x:data_stall_percent}", r"unknown stage 'stage9x'"),
])
def test_a_bad_mart_placeholder_fails_the_build(warehouse: WarehouseFactory, tmp_path: Path, text: str,
                                                message: str) -> None:
    with pytest.raises(OutlineError, match=message):
        _build(warehouse, tmp_path, [{"id": "typo", "kind": "bullets", "title": "错字", "points": [text],
                                      "notes": "无。"}])


def test_a_missing_value_reads_missing_and_is_not_recorded(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    path = warehouse()
    con = duckdb.connect(str(path))
    con.execute("delete from marts.mart_stage_metrics where stage_id = 6")
    con.execute("delete from marts.mart_stage_comparison where stage_id = 6")
    con.close()
    result = _build(warehouse, tmp_path, [{
        "id": "gaps", "kind": "bullets", "title": "缺失",
        "points": ["阶段6 利用率 {stage:load_mgmt:gpu_utilization_percent}，倍数 {ratio:stage6:ttft_milliseconds}",
                   "阶段3 显存冗余 {stage:data_infra:memory_overhead_gb}"],
        "notes": "无。"}], warehouse_path=path)
    slide = _slide(result, 2)

    assert [p.text for p in _shape(slide, "Points").text_frame.paragraphs] == [
        "阶段6 利用率 无数据，倍数 无数据", "阶段3 显存冗余 无数据"]
    assert not [i for i in result.evidence if i["slide"] == 2]


@pytest.mark.parametrize(("text", "message"), [
    ("{bench:B99-NOPE}", r"slide typo: \{bench:B99-NOPE\}: unknown benchmark id 'B99-NOPE'"),
    ("{stage:load_mgmt:gpu_utilisation}", r"slide typo: \{stage:load_mgmt:gpu_utilisation\}: unknown metric"),
    ("{ratio:stage9x:ttft_milliseconds}", r"slide typo: \{ratio:stage9x:ttft_milliseconds\}: unknown stage"),
    ("{stage:load_mgmt}", r"slide typo: \{stage:load_mgmt\}: expected"),
])
def test_a_typo_in_a_placeholder_fails_the_build(warehouse: WarehouseFactory, tmp_path: Path, text: str,
                                                 message: str) -> None:
    with pytest.raises(OutlineError, match=message):
        _build(warehouse, tmp_path, [{"id": "typo", "kind": "bullets", "title": "错字", "points": ["ok"],
                                      "notes": f"注释 {text}"}])
    assert not (tmp_path / "decks").exists() or not list((tmp_path / "decks").iterdir())


def test_points_that_cannot_fit_at_12pt_are_an_error(warehouse: WarehouseFactory, tmp_path: Path) -> None:
    with pytest.raises(OutlineError, match=r"slide long: the points do not fit"):
        _build(warehouse, tmp_path, [{"id": "long", "kind": "bullets", "title": "太长",
                                      "points": ["很长的要点" * 60] * 12, "notes": "无。"}])


def test_diagram_layouts_call_the_registry(warehouse: WarehouseFactory, tmp_path: Path,
                                          fake_diagrams: list[Box]) -> None:
    result = _build(warehouse, tmp_path, [
        {"id": "arch", "kind": "diagram", "section": "stage2", "title": "架构", "points": ["左栏要点一", "左栏要点二"],
         "binds": {"diagram": "fake", "layout": "right"}, "notes": "图。"},
        {"id": "road", "kind": "diagram", "section": "opening", "title": "路线图", "subtitle": "七个阶段",
         "points": ["底部要点 {bench:B01-MIG-MAX}"], "binds": {"diagram": "fake", "layout": "full"},
         "notes": "图。"},
    ])
    right, full = fake_diagrams

    assert right.left >= MARGIN + CONTENT_W * LEFT_COLUMN and right.left + right.width <= MARGIN + CONTENT_W + 0.01
    points = _shape(_slide(result, 2), "Points")
    assert points.left + points.width <= Pt(right.left)
    assert full.left == MARGIN and full.width == CONTENT_W
    slide = _slide(result, 3)
    strip = _shape(slide, "Points")
    assert strip.text_frame.text == "底部要点 7▲"
    assert strip.top >= Pt(full.top + full.height)
    assert _shape(slide, "Fake diagram").top >= _shape(slide, "Subtitle").top + _shape(slide, "Subtitle").height
    assert strip.top + strip.height <= _shape(slide, "Sources footnote").top


def test_unknown_diagram_names_the_slide(warehouse: WarehouseFactory, tmp_path: Path,
                                         fake_diagrams: list[Box]) -> None:
    with pytest.raises(OutlineError, match=r"slide arch: unknown diagram 'nope'"):
        _build(warehouse, tmp_path, [{"id": "arch", "kind": "diagram", "title": "架构",
                                      "binds": {"diagram": "nope"}, "notes": "图。"}])


@pytest.mark.parametrize(("slide", "message"), [
    ({"id": "x", "kind": "diagram", "title": "t", "binds": {"layout": "right"}},
     r"\(id x\)\.binds: missing field 'diagram'"),
    ({"id": "x", "kind": "diagram", "title": "t", "binds": {"diagram": "a", "layout": "left"}}, r"binds\.layout"),
    ({"id": "x", "kind": "diagram", "title": "t", "points": ["1", "2", "3"],
      "binds": {"diagram": "a", "layout": "full"}},
     r"at most 2 points"),
    ({"id": "x", "kind": "bullets", "title": "t", "section": "stage7"}, r"\(id x\)\.section: 'stage7'"),
    ({"id": "x", "kind": "bullets", "title": "t", "points": [{"txt": "a"}]}, r"points\[0\]: unknown keys"),
])
def test_outline_errors_name_the_slide(tmp_path: Path, slide: dict[str, Any], message: str) -> None:
    with pytest.raises(OutlineError, match=message):
        load_outline(_outline(tmp_path, [slide]))


def test_binds_are_optional_and_sub_points_parse(tmp_path: Path) -> None:
    outline = load_outline(_outline(tmp_path, [{"id": "b", "kind": "bullets", "title": "t", "section": "summary",
                                                "points": ["a", {"text": "b", "sub": ["c"]}]}]))
    spec = outline.slides[1]
    assert spec.binds == {} and spec.section == "summary"
    assert spec.items() == [("a", ()), ("b", ("c",))]
    assert outline.sections["stage3"] == "阶段3 · 高性能数据基础设施"


def test_every_run_is_12pt_or_more_and_shapes_stay_on_the_slide(
    warehouse: WarehouseFactory, tmp_path: Path, fake_diagrams: list[Box]
) -> None:
    long_point = "连续批处理在每次迭代时把新请求并入正在解码的批次，" * 3
    result = _build(warehouse, tmp_path, [
        {"id": "b", "kind": "bullets", "section": "stage4", "title": "软件定义优化", "subtitle": "从算子到调度",
         "points": [{"text": long_point + "{bench:B04-VLLM-TPUT}", "sub": [long_point] * 2}] * 2,
         "notes": "无。"},
        {"id": "d", "kind": "diagram", "section": "stage5", "title": "弹性", "points": [long_point] * 4,
         "binds": {"diagram": "fake"}, "notes": "无。"},
    ])
    prs = Presentation(str(result.path))
    for number, slide in enumerate(prs.slides, start=1):
        for run in _runs(slide):
            assert run.font.size is not None and run.font.size >= Pt(12), (number, run.text)
        for shape in slide.shapes:
            assert shape.left >= 0 and shape.top >= 0, (number, shape.name)
            assert shape.left + shape.width <= prs.slide_width, (number, shape.name)
            assert shape.top + shape.height <= prs.slide_height, (number, shape.name)
    range_item = next(i for i in result.evidence if i.get("bench_id") == "B04-VLLM-TPUT")
    assert (range_item["text"], range_item["value"]) == ("2-4", "2-4")  # a published range stays as text


def test_short_citations() -> None:
    def bench(source: str, venue: str) -> Benchmark:
        return Benchmark("X", "m", "1", "x", source, venue, "")

    assert short_citation(bench("Kwon et al. Efficient Memory Management for LLM Serving with PagedAttention",
                                "SOSP 2023")) == "Kwon et al., SOSP 2023"
    assert short_citation(bench("Yu et al. Orca", "OSDI 2022")) == "Yu et al. Orca, OSDI 2022"
    assert short_citation(bench("Llama Team. The Llama 3 Herd of Models (Table 5)", "arXiv 2024")) == \
        "Llama Team (Table 5), arXiv 2024"
    assert short_citation(bench("NVIDIA blog: Boosting Data Ingest Throughput", "NVIDIA 2021")) == \
        "NVIDIA blog, NVIDIA 2021"


def test_warehouse_without_benchmarks_is_a_clear_error(warehouse: WarehouseFactory) -> None:
    path = warehouse()
    con = duckdb.connect(str(path))
    con.execute("drop table reference.industry_benchmarks")
    con.close()
    with pytest.raises(WarehouseError, match=r"reference\.industry_benchmarks is missing"):
        read_snapshot(path)


def test_benchmarks_seed_is_read_verbatim(warehouse: WarehouseFactory) -> None:
    benchmarks = read_snapshot(warehouse()).benchmarks
    assert benchmarks["B02-ORCA"].number == 36.9 and benchmarks["B03-GDS-BW"].number is None
    assert len(METRICS) == 10 and len(benchmarks) >= 30
