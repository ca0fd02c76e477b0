"""deck_assets.checks: each check passes on a good synthetic deck and fails, naming the slide, on a bad one."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Inches, Pt

from deck_assets import checks
from deck_assets.checks import SeedPage
from deck_assets.outline import Talk

SEED = [SeedPage(1, "开场部分", "标题页", "GPU算力效率提升的技术演进之路",
                 "从传统裸金属到智能化算力管理的六大技术突破"),
        SeedPage(2, "开场部分", "算力效率挑战概述"),
        SeedPage(3, "阶段1：GPU共享与虚拟化", "阶段1效果量化")]
NOTES = "这一页讲清楚现状与证据。" * 10
BODY = "平均GPU利用率 23.4%，H200 上 MIG 3g.40gb 实例"
EVIDENCE = [{"slide": 2, "text": "23.4%", "value": 23.4, "tier": "集群实测",
             "source": "marts.mart_stage_metrics.gpu_utilization_percent"},
            {"slide": 3, "text": "1.8 倍", "value": 1.8, "tier": "行业基准", "source": "industry_benchmarks:B01"}]


def _parse_seed(path: Path) -> list[dict]:
    """The pages of the seed's 「PPT页面结构设计」 section."""
    body = path.read_text(encoding="utf-8").split("### 1. PPT页面结构设计")[1].split("\n## ")[0]
    pages: list[dict] = []
    section = None
    for line in body.splitlines():
        if m := re.match(r"#### (.+?) \(\d+页\)\s*$", line):
            section = m.group(1)
        elif m := re.match(r"- \*\*第(\d+)页：(.+)\*\*\s*$", line):
            pages.append({"page": int(m.group(1)), "section": section, "title": m.group(2)})
        elif m := re.match(r"\s+- (主标题|副标题)：(.+)$", line):
            pages[-1]["main_title" if m.group(1) == "主标题" else "subtitle"] = m.group(2).strip()
    return pages


def test_seed_pages_yaml_is_the_seed(shared: Path) -> None:
    seed = _parse_seed(shared / "seed/deck_design.zh.md")
    raw = yaml.safe_load(checks.SEED_PAGES_PATH.read_text(encoding="utf-8"))["pages"]

    assert raw == seed
    assert [p.page for p in checks.load_seed_pages()] == list(range(1, 32))
    assert seed[1]["title"] == "算力效率挑战概述" and seed[-1]["title"] == "未来技术展望"
    assert seed[0]["main_title"] == "GPU算力效率提升的技术演进之路"


def _deck(tmp_path: Path, *, titles: tuple[str, ...] = ("GPU算力效率提升的技术演进之路", "算力效率挑战概述",
                                                         "阶段1效果量化"),
          body: str = BODY, body_pt: float = 18, notes: tuple[str, ...] = (NOTES, NOTES, NOTES),
          off_slide: bool = False, table_text: str = "1.8 倍", chart_labels: bool = False) -> Path:
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    for number, (title, note) in enumerate(zip(titles, notes, strict=True), start=1):
        slide = prs.slides.add_slide(prs.slide_layouts[5])  # title only
        slide.shapes.title.left, slide.shapes.title.top = Inches(0.5), Inches(0.3)
        slide.shapes.title.width, slide.shapes.title.height = Inches(12), Inches(1.2)
        slide.shapes.title.text_frame.text = title
        slide.shapes.title.text_frame.paragraphs[0].runs[0].font.size = Pt(32)
        if number == 1:
            box = slide.shapes.add_textbox(Inches(0.5), Inches(2), Inches(12), Inches(1))
            box.name = "Subtitle"
            box.text_frame.word_wrap = True
            box.text_frame.text = SEED[0].subtitle
            box.text_frame.paragraphs[0].runs[0].font.size = Pt(24)
        if number == 2:
            box = slide.shapes.add_textbox(Inches(0.5), Inches(2), Inches(6), Inches(1))
            box.name = "Body"
            box.text_frame.word_wrap = True
            box.text_frame.text = body
            box.text_frame.paragraphs[0].runs[0].font.size = Pt(body_pt)
        if number == 3:
            table = slide.shapes.add_table(2, 2, Inches(0.5), Inches(2), Inches(6), Inches(1.2)).table
            for r, row in enumerate([("指标", "阶段1"), ("GPU承载能力", table_text)]):
                for c, text in enumerate(row):
                    table.cell(r, c).text = text
                    table.cell(r, c).text_frame.paragraphs[0].runs[0].font.size = Pt(14)
            data = CategoryChartData()
            data.categories = ["基线", "阶段1"]
            data.add_series("倍数", (1.0 if chart_labels else 1.8, 1.8))
            chart = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, Inches(7), Inches(2), Inches(5),
                                           Inches(4), data).chart
            chart.plots[0].has_data_labels = chart_labels
            chart.font.size = Pt(12)
        if off_slide and number == 3:
            slide.shapes.add_textbox(Inches(12.5), Inches(6.8), Inches(2), Inches(1)).name = "Stray box"
        if note:
            slide.notes_slide.notes_text_frame.text = note
        page = slide.shapes.add_textbox(Inches(12), Inches(7), Inches(1), Inches(0.4))
        page.name = "Page number"
        page.text_frame.text = f"{number} / {len(titles)}"
        page.text_frame.paragraphs[0].runs[0].font.size = Pt(12)
    path = tmp_path / "deck.pptx"
    prs.save(str(path))
    return path


def _run(path: Path, evidence: list[dict] = EVIDENCE, talk: Talk | None = None) -> dict[str, checks.CheckResult]:
    talk = talk or Talk(target_minutes=len(NOTES.replace(" ", "")) * 3 / 100, chars_per_minute=100, tolerance=0.15)
    prs = Presentation(str(path))
    return {r.name: r for r in (
        checks.check_structure(prs, SEED), checks.check_titles_and_notes(prs), checks.check_overflow(prs),
        checks.check_bounds(prs), checks.check_min_font(prs), checks.check_numbers_in_evidence(prs, evidence, SEED),
        checks.check_talk_time(prs, talk))}


def _failed(results: dict[str, checks.CheckResult]) -> set[str]:
    return {name for name, r in results.items() if not r.passed}


def test_a_good_deck_passes_every_check(tmp_path: Path) -> None:
    results = _run(_deck(tmp_path))

    assert _failed(results) == set(), {n: [f.line() for f in r.findings] for n, r in results.items()}
    assert results["numbers_in_evidence"].summary["numbers_checked"] == 2  # 23.4 and the table's 1.8
    assert results["text_overflow"].summary["frames_measured"] >= 8


def test_wrong_title_order_fails_structure(tmp_path: Path) -> None:
    result = _run(_deck(tmp_path, titles=("GPU算力效率提升的技术演进之路", "阶段1效果量化", "算力效率挑战概述")))

    assert _failed(result) == {"structure"}
    findings = result["structure"].findings
    assert [f.slide for f in findings] == [2, 3]
    assert findings[0].measured == "阶段1效果量化" and findings[0].allowed == "算力效率挑战概述"
    assert "slide 3" in findings[0].problem


def test_extra_title_text_and_missing_slides_fail_structure(tmp_path: Path) -> None:
    seed = [*SEED, SeedPage(4, "总结部分", "未来技术展望")]
    prs = Presentation(str(_deck(tmp_path, titles=("GPU算力效率提升的技术演进之路", "算力效率挑战概述 · pool-a",
                                                   "阶段1效果量化"))))
    result = checks.check_structure(prs, seed)

    assert not result.passed
    assert {(f.slide, f.problem.split(" (")[0]) for f in result.findings} == {
        (None, "slide count differs from the seed"), (2, "title differs from the seed"), (4, "missing slide")}


def test_a_slide_without_notes_fails(tmp_path: Path) -> None:
    result = _run(_deck(tmp_path, notes=(NOTES, "", NOTES)))

    assert "titles_and_notes" in _failed(result)
    assert [(f.slide, f.problem) for f in result["titles_and_notes"].findings] == [(2, "no speaker notes")]


def test_overflowing_text_fails_with_measured_and_allowed_height(tmp_path: Path) -> None:
    long_body = "资源碎片化严重，多租户场景下的资源冲突频繁出现，" * 6  # CJK: wraps per character, no spaces
    result = _run(_deck(tmp_path, body=long_body))

    assert _failed(result) == {"text_overflow"}
    finding = result["text_overflow"].findings[0]
    assert (finding.slide, finding.shape) == (2, "Body")
    assert finding.measured > finding.allowed
    assert finding.text.startswith("资源碎片化严重")


def test_overflowing_table_cell_fails(tmp_path: Path) -> None:
    result = _run(_deck(tmp_path, table_text="1.8 倍" + "，依据行业基准" * 12))

    assert "text_overflow" in _failed(result)
    assert result["text_overflow"].findings[0].shape.endswith("[2,2]")


def test_ten_point_run_fails_min_font(tmp_path: Path) -> None:
    result = _run(_deck(tmp_path, body_pt=10))

    assert _failed(result) == {"min_font"}
    finding = result["min_font"].findings[0]
    assert (finding.slide, finding.shape, finding.measured, finding.allowed) == (2, "Body", 10.0, 12.0)


def test_shape_off_the_slide_fails(tmp_path: Path) -> None:
    result = _run(_deck(tmp_path, off_slide=True))

    assert _failed(result) == {"shapes_on_slide"}
    assert [(f.slide, f.shape) for f in result["shapes_on_slide"].findings] == [(3, "Stray box")]


def test_a_number_missing_from_the_evidence_fails(tmp_path: Path) -> None:
    result = _run(_deck(tmp_path, body="平均GPU利用率 23.4%，碎片率 41%"))

    assert _failed(result) == {"numbers_in_evidence"}
    assert [(f.slide, f.problem) for f in result["numbers_in_evidence"].findings] == [
        (2, "number 41 is not in the evidence")]


def test_evidence_of_another_slide_does_not_count(tmp_path: Path) -> None:
    moved = [{**EVIDENCE[0], "slide": 3}, EVIDENCE[1]]

    assert "numbers_in_evidence" in _failed(_run(_deck(tmp_path), evidence=moved))


def test_chart_data_labels_must_be_in_the_evidence(tmp_path: Path) -> None:
    result = _run(_deck(tmp_path, chart_labels=True))  # shows 1.0 (not in the evidence) and 1.8

    assert _failed(result) == {"numbers_in_evidence"}
    assert [f.problem for f in result["numbers_in_evidence"].findings] == ["chart data label 1 is not in the evidence"]


@pytest.mark.parametrize(("text", "numbers"), [
    ("H200 上 MIG 3g.40gb，bf16 与 fp32", []),
    ("截至 2026-03-01，白天 08:00–20:00 推理", []),
    ("阶段1 到 第6阶段，P99 时延，pool-2，CUDA 12.4，24/7", []),
    ("MIG 实例 1g / 3g / 7g", []),
    ("Kwon et al. 提出 PagedAttention\n资料来源：▲ Kwon et al., SOSP 2023", []),
    ("数据来源：模拟集群 · 截至 2026-03-01 · 资源池：pool-a", []),
    ("利用率 23.4%，节省 1,200 GPU小时，-5.5 个百分点，80GB 显存", ["23.4", "1,200", "-5.5", "80"]),
])
def test_what_counts_as_a_number(text: str, numbers: list[str]) -> None:
    assert checks.number_tokens(text) == numbers


def test_value_matches_to_the_precision_shown(tmp_path: Path) -> None:
    evidence = [{**EVIDENCE[0], "text": "GPU利用率", "value": 23.4123}, EVIDENCE[1]]

    assert "numbers_in_evidence" not in _failed(_run(_deck(tmp_path), evidence=evidence))


def test_talk_time_outside_the_tolerance_fails(tmp_path: Path) -> None:
    path = _deck(tmp_path)
    chars = 3 * len(NOTES)
    within = Talk(target_minutes=chars / 100 * 1.1, chars_per_minute=100, tolerance=0.15)
    too_short = replace(within, target_minutes=chars / 100 * 2)

    assert "talk_time" not in _failed(_run(path, talk=within))
    result = _run(path, talk=too_short)["talk_time"]
    assert not result.passed
    assert result.summary["minutes"] == pytest.approx(chars / 100, abs=0.1)
    assert result.findings[0].allowed == f"{too_short.target_minutes * 0.85:.1f}–{too_short.target_minutes * 1.15:.1f}"


def test_run_checks_reads_a_built_deck(tmp_path: Path) -> None:
    from deck_assets.outline import load_outline

    outline = replace(load_outline(), talk=Talk(target_minutes=1, chars_per_minute=100, tolerance=10))
    results = checks.run_checks(_deck(tmp_path), EVIDENCE, outline, SEED)

    assert set(results) == {"structure", "titles_and_notes", "text_overflow", "shapes_on_slide", "min_font",
                            "numbers_in_evidence", "tier_labels", "claim_forms", "talk_time", "status_currency"}
    assert all(r.passed for r in results.values()), {n: [f.line() for f in r.findings] for n, r in results.items()}
