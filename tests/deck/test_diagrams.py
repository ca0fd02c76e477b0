"""Diagrams: native shapes and connectors inside their box, readable Chinese text that fits, no numbers."""

from __future__ import annotations

import re

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.oxml.ns import qn
from pptx.util import Inches

from deck_assets.diagrams import DIAGRAMS
from deck_assets.measure import line_height_pt, text_width_pt, wrap
from deck_assets.outline import Fonts
from deck_assets.style import Box

FONTS = Fonts(latin="Arial", east_asian="Noto Sans CJK SC", east_asian_fallback="Microsoft YaHei", min_size_pt=12)
BOXES = {"full": Box(40, 110, 880, 380), "half": Box(360, 110, 560, 380)}
NAMES = ("roadmap", "metric_system", "arch_sharing", "arch_orchestration", "arch_data", "arch_inference",
         "arch_resilience", "arch_load_mgmt", "arch_rdma", "arch_lustre", "arch_geo", "future_outlook")
MIG_PROFILE = re.compile(r"\b[1-7]g(\.\d+gb)?\b")
EPS = 0.01  # points


def _draw(name: str, box: Box):
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    DIAGRAMS[name](slide, box, FONTS)
    return slide


def test_the_names_are_exactly_the_agreed_ones() -> None:
    assert tuple(DIAGRAMS) == NAMES


@pytest.mark.parametrize("box_name", list(BOXES))
@pytest.mark.parametrize("name", NAMES)
def test_diagram_is_native_inside_its_box_and_readable(name: str, box_name: str) -> None:
    box = BOXES[box_name]
    slide = _draw(name, box)
    shapes = list(slide.shapes)
    autoshapes = [s for s in shapes if s.shape_type == MSO_SHAPE_TYPE.AUTO_SHAPE]
    connectors = [s for s in shapes if s._element.tag == qn("p:cxnSp")]
    assert len(autoshapes) >= 5
    assert connectors, "a diagram shows its flow with connectors"
    assert len(autoshapes) + len(connectors) == len(shapes), "only autoshapes and connectors, no pictures"
    assert not slide._element.findall(f".//{qn('p:pic')}")
    names = [s.name for s in shapes]
    assert all(n.startswith(f"{name}/") for n in names), names

    right, bottom = box.left + box.width, box.top + box.height
    for s in shapes:
        x, y, w, h = s.left.pt, s.top.pt, s.width.pt, s.height.pt
        assert x >= box.left - EPS and y >= box.top - EPS, s.name
        assert x + w <= right + EPS and y + h <= bottom + EPS, s.name

    for c in connectors:
        for px, py in ((c.begin_x.pt, c.begin_y.pt), (c.end_x.pt, c.end_y.pt)):
            assert box.left - EPS <= px <= right + EPS and box.top - EPS <= py <= bottom + EPS, c.name
        assert c._element.find(f".//{qn('a:tailEnd')}").get("type") == "triangle", c.name
        glued = c._element.find(f".//{qn('a:stCxn')}") is not None or \
            c._element.find(f".//{qn('a:endCxn')}") is not None
        assert glued, f"{c.name} is connected to a shape"

    texts = []
    for s in autoshapes:
        if not s.has_text_frame or not s.text_frame.text.strip():
            continue
        frame = s.text_frame
        inner_w = s.width.pt - frame.margin_left.pt - frame.margin_right.pt
        inner_h = s.height.pt - frame.margin_top.pt - frame.margin_bottom.pt
        lines = 0
        size = None
        for paragraph in frame.paragraphs:
            for run in paragraph.runs:
                assert run.font.size is not None and run.font.size.pt >= 12, (s.name, run.text)
                rpr = run._r.find(qn("a:rPr"))
                ea = rpr.find(qn("a:ea"))
                assert ea is not None and ea.get("typeface"), (s.name, run.text)
                assert rpr.find(qn("a:latin")) is not None, (s.name, run.text)
                size = run.font.size.pt
                bold = bool(run.font.bold)
                wrapped = wrap(run.text, size, inner_w, bold)
                assert all(text_width_pt(line, size, bold) <= inner_w + EPS for line in wrapped), (s.name, run.text)
                lines += len(wrapped)
                texts.append(run.text)
        assert size is not None
        assert lines * line_height_pt(size) <= inner_h + EPS, f"{s.name}: text does not fit"

    joined = "\n".join(texts)
    assert re.search(r"[\u4e00-\u9fff]", joined), "Simplified Chinese text"
    assert not re.search(r"\d", MIG_PROFILE.sub("", joined)), f"numbers in {name}: {joined!r}"


def test_roadmap_shows_all_stages_and_the_baseline_differs() -> None:
    slide = _draw("roadmap", BOXES["full"])
    stages = [s for s in slide.shapes if s.name.startswith("roadmap/阶段/")]
    assert len(stages) == 7
    text = " ".join(s.text_frame.text.replace("\n", "") for s in stages)
    for stage in ("传统裸金属", "GPU共享与虚拟化", "智能工作负载编排", "高性能数据基础设施", "软件定义优化",
                  "增强弹性与容错", "战略性负载管理"):
        assert stage in text
    base, first = stages[0], stages[1]
    assert base.fill.fore_color.rgb != first.fill.fore_color.rgb
    for key in ("sharing", "orchestration", "data_infra", "software", "resilience", "load_mgmt"):
        techs = [s for s in slide.shapes if s.name.startswith(f"roadmap/技术/{key}/")]
        assert 2 <= len(techs) <= 3, key


def test_metric_system_has_the_seed_tree() -> None:
    slide = _draw("metric_system", BOXES["half"])
    text = " ".join(s.text_frame.text.replace("\n", "") for s in slide.shapes if s.has_text_frame)
    for label in ("CNCF", "Sustainability", "推理性能指标", "资源利用指标", "成本效益指标", "Throughput token/sec",
                  "TTFT", "TBT",
                  "Prefill efficiency %", "Decoding parallelism", "GPU utilization", "Memory overhead GB",
                  "Cluster throughput per Watt", "Throughput/$", "Throughput/watt"):
        assert label in text, label
    connectors = [s for s in slide.shapes if s._element.tag == qn("p:cxnSp")]
    assert len(connectors) == 3 + 10
