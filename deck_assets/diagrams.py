"""Diagrams drawn as native, editable PowerPoint shapes and connectors (never pictures).

Every diagram is a function ``fn(slide, box, fonts)`` that draws inside ``box`` (points) and scales to it:
the layouts are computed from the box, and every text gets the largest size from 12 to 18 pt at which it
fits its shape (measured with ``deck_assets.measure``; CJK wraps per character). Texts are Simplified
Chinese with technical names kept in Latin, and carry no numbers except MIG profile names (``1g`` ...).

    from deck_assets.diagrams import DIAGRAMS
    DIAGRAMS["roadmap"](slide, Box(40, 110, 880, 380), fonts)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree
from pptx.dml.color import RGBColor
from pptx.enum.dml import MSO_LINE_DASH_STYLE
from pptx.enum.shapes import MSO_CONNECTOR, MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, MSO_AUTO_SIZE, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.shapes.autoshape import Shape
from pptx.slide import Slide
from pptx.util import Pt

from deck_assets.measure import balanced_wrap, line_height_pt, not_fitting, overlong, text_width_pt
from deck_assets.outline import Fonts
from deck_assets.style import ACCENT, ACCENT_LIGHT, INK, MUTED, WHITE, ZEBRA, Box, write_paragraphs

DiagramFn = Callable[[Slide, Box, Fonts], None]

MIN_PT = 12
MAX_PT = 18
PAD_X = 4.0  # text insets inside diagram shapes, points
PAD_Y = 2.0
SLACK = 5.0  # rounded corners and renderer differences eat a little width
LINE = RGBColor(0xC9, 0xD2, 0xDE)  # band and panel outlines
SOFT = RGBColor(0xD6, 0xE2, 0xEF)  # a second, slightly stronger tint of ACCENT
# Words never broken across lines.
KEEP = ("GPUDirect", "Storage", "PagedAttention", "InfiniBand", "Kubernetes", "Binpack", "Lustre", "RDMA",
        "RoCE", "HAMi", "vGPU", "NVMe-oF", "NVMe", "Prefill", "Decode", "Filter", "Score", "CNCF",
        "Sustainability", "Throughput", "utilization", "throughput", "parallelism", "efficiency",
        "overhead", "Memory", "Decoding", "Cluster", "GPU", "MIG", "MPS", "TTFT", "TBT", "token/sec",
        "Throughput/$", "Throughput/watt",
        # CJK words (as outline.yaml's keep_together)
        "传统", "裸金属", "共享", "虚拟化", "智能", "工作", "负载", "编排", "高性能", "数据", "基础设施",
        "软件定义", "优化", "增强", "弹性", "容错", "战略性", "负载管理", "指标", "推理", "性能", "资源", "利用",
        "成本", "效益", "训练", "开发", "节点", "空闲", "回收", "利用率", "配额", "用量", "反馈", "缓存", "传输",
        "前缀", "显存", "物理", "映射", "预填充", "重复", "命中", "集群", "作业流", "控制面", "调度", "检查点",
        "存储", "服务", "元数据", "对象", "区域", "时区", "迁移", "故障", "快速", "重启", "隔离", "加载",
        "最近", "主机", "内存", "缓冲", "算力", "副本", "节点池", "异步", "跨地域")

ORDINALS = ("基线", "阶段一", "阶段二", "阶段三", "阶段四", "阶段五", "阶段六")
STAGES = (
    ("baseline", "传统裸金属", ("整卡独占", "分散放置", "单请求推理")),
    ("sharing", "GPU共享与虚拟化", ("MIG", "MPS", "HAMi vGPU")),
    ("orchestration", "智能工作负载编排", ("Binpack", "动态批处理", "配额与抢占")),
    ("data_infra", "高性能数据基础设施", ("RDMA", "Lustre", "GPUDirect Storage")),
    ("software", "软件定义优化", ("PagedAttention", "KV缓存复用", "PD分离")),
    ("resilience", "增强弹性与容错", ("异步检查点", "快速恢复", "弹性伸缩")),
    ("load_mgmt", "战略性负载管理", ("白天推理·夜间训练", "跨地域·时区调度")),
)


# ---------------------------------------------------------------- text fitting

def _wrap_all(text: str, size: float, width: float, bold: bool) -> list[str]:
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines += balanced_wrap(paragraph, size, width, bold, KEEP)
    return lines


def _inner(w: float, h: float) -> tuple[float, float]:
    return w - 2 * PAD_X - SLACK, h - 2 * PAD_Y


def _fits(text: str, size: float, w: float, h: float, bold: bool) -> list[str] | None:
    """The wrapped lines of ``text`` when it fits a w x h shape at ``size`` with no word broken, else None."""
    inner_w, inner_h = _inner(w, h)
    if overlong(text, size, inner_w, bold, KEEP):
        return None
    lines = _wrap_all(text, size, inner_w, bold)
    return lines if len(lines) * line_height_pt(size) <= inner_h else None


def fitted(text: str, w: float, h: float, bold: bool = False, max_pt: int = MAX_PT) -> tuple[int, list[str]]:
    """(size, lines): the largest size in MIN_PT..max_pt at which ``text`` fits a w x h shape and its lines;
    a ``TextFitError`` when none does."""
    for size in range(max_pt, MIN_PT - 1, -1):
        lines = _fits(text, size, w, h, bold)
        if lines is not None:
            return size, lines
    raise not_fitting([text], MIN_PT, *_inner(w, h), bold, KEEP)


def best_size(text: str, w: float, h: float, bold: bool = False, max_pt: int = MAX_PT) -> int:
    """Largest size in MIN_PT..max_pt at which ``text`` fits a w x h shape (see ``fitted``)."""
    return fitted(text, w, h, bold, max_pt)[0]


def common_size(items: list[tuple[str, float, float]], bold: bool = False, max_pt: int = MAX_PT) -> int:
    """One size for a family of shapes (text, w, h) so siblings read alike."""
    return min([best_size(t, w, h, bold, max_pt) for t, w, h in items] or [max_pt])


# ---------------------------------------------------------------- shapes

@dataclass(frozen=True)
class Look:
    fill: RGBColor | None
    line: RGBColor | None
    ink: RGBColor
    bold: bool = False
    dashed: bool = False


STRONG = Look(ACCENT, None, WHITE, bold=True)
OUTLINE = Look(WHITE, ACCENT, ACCENT, bold=True)
CHIP = Look(ACCENT_LIGHT, None, INK)
CHIP_EDGE = Look(WHITE, SOFT, INK)
OLD = Look(ZEBRA, MUTED, MUTED, bold=True, dashed=True)
OLD_CHIP = Look(WHITE, MUTED, MUTED, dashed=True)
PANEL = Look(ZEBRA, LINE, INK)


def _style(shape: Shape, look: Look) -> None:
    if look.fill is None:
        shape.fill.background()
    else:
        shape.fill.solid()
        shape.fill.fore_color.rgb = look.fill
    if look.line is None:
        shape.line.fill.background()
    else:
        shape.line.color.rgb = look.line
        shape.line.width = Pt(1)
        if look.dashed:
            shape.line.dash_style = MSO_LINE_DASH_STYLE.DASH
    shape.shadow.inherit = False
    effect = shape._element.find(f"{qn('p:style')}/{qn('a:effectRef')}")
    if effect is not None:  # the theme's effect (a shadow) would still show in some renderers
        effect.set("idx", "0")


def node(slide: Slide, name: str, x: float, y: float, w: float, h: float, text: str, fonts: Fonts,
         look: Look = CHIP, *, max_pt: int = MAX_PT, shape: MSO_SHAPE = MSO_SHAPE.ROUNDED_RECTANGLE,
         anchor: MSO_ANCHOR = MSO_ANCHOR.MIDDLE, align: PP_ALIGN = PP_ALIGN.CENTER) -> Shape:
    """A shape with ``text`` wrapped at the largest size (<= max_pt) that fits it."""
    sp = slide.shapes.add_shape(shape, *Box(x, y, w, h).emu)
    sp.name = name
    if shape == MSO_SHAPE.ROUNDED_RECTANGLE:
        sp.adjustments[0] = min(0.12, 6.0 / max(min(w, h), 1))
    _style(sp, look)
    if text:
        size, lines = fitted(text, w, h, look.bold, max_pt)
        frame = sp.text_frame
        frame.word_wrap = True
        frame.auto_size = MSO_AUTO_SIZE.NONE
        frame.vertical_anchor = anchor
        frame.margin_left = frame.margin_right = Pt(PAD_X)
        frame.margin_top = frame.margin_bottom = Pt(PAD_Y)
        write_paragraphs(frame, lines, fonts, size, bold=look.bold, color=look.ink, align=align)
    return sp


def panel(slide: Slide, name: str, x: float, y: float, w: float, h: float, look: Look = PANEL) -> Shape:
    sp = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *Box(x, y, w, h).emu)
    sp.name = name
    _style(sp, look)
    return sp


TOP, LEFT, BOTTOM, RIGHT = 0, 1, 2, 3


def _site(sp: Shape, site: int) -> tuple[float, float]:
    x, y, w, h = sp.left.pt, sp.top.pt, sp.width.pt, sp.height.pt
    return {TOP: (x + w / 2, y), LEFT: (x, y + h / 2), BOTTOM: (x + w / 2, y + h), RIGHT: (x + w, y + h / 2)}[site]


def arrow(slide: Slide, name: str, a: Shape | tuple[float, float], a_site: int, b: Shape | tuple[float, float],
          b_site: int, *, color: RGBColor = MUTED, dashed: bool = False, both: bool = False,
          width: float = 1.5) -> Shape:
    """A straight connector from a to b (shapes are glued at a connection site; points are free ends)
    with a triangle arrowhead at b (and at a when ``both``)."""
    begin = _site(a, a_site) if isinstance(a, Shape) else a
    end = _site(b, b_site) if isinstance(b, Shape) else b
    cx = slide.shapes.add_connector(MSO_CONNECTOR.STRAIGHT, Pt(begin[0]), Pt(begin[1]), Pt(end[0]), Pt(end[1]))
    if isinstance(a, Shape):
        cx.begin_connect(a, a_site)
    if isinstance(b, Shape):
        cx.end_connect(b, b_site)
    cx.name = name
    cx.line.color.rgb = color
    cx.line.width = Pt(width)
    if dashed:
        cx.line.dash_style = MSO_LINE_DASH_STYLE.DASH
    ln = cx.line._get_or_add_ln()
    for tag, on in (("a:headEnd", both), ("a:tailEnd", True)):
        if on:
            end_el = etree.SubElement(ln, qn(tag))
            end_el.set("type", "triangle")
            end_el.set("w", "med")
            end_el.set("len", "med")
    return cx


def _split(start: float, length: float, weights: list[float], gap: float) -> list[tuple[float, float]]:
    """Cut [start, start+length] into parts proportional to ``weights`` with ``gap`` between them."""
    usable = length - gap * (len(weights) - 1)
    total = sum(weights)
    out, pos = [], start
    for weight in weights:
        size = usable * weight / total
        out.append((pos, size))
        pos += size + gap
    return out


def _bands(slide: Slide, prefix: str, box: Box, labels: list[str], weights: list[float], fonts: Fonts,
           ) -> list[Box]:
    """Horizontal layers: a light band per layer with its label at the left; returns the content areas."""
    gap = max(6.0, box.height * 0.02)
    label_w = max(62.0, min(box.width * 0.085, 80.0))
    rows = _split(box.top, box.height, weights, gap)
    size = common_size([(lab, label_w, h) for lab, (_, h) in zip(labels, rows, strict=True)], True, 16)
    areas = []
    for label, (y, h) in zip(labels, rows, strict=True):
        panel(slide, f"{prefix}/层/{label}", box.left, y, box.width, h)
        node(slide, f"{prefix}/层名/{label}", box.left, y, label_w, h, label, fonts,
             Look(SOFT, None, ACCENT, bold=True), max_pt=size, shape=MSO_SHAPE.RECTANGLE)
        inset = max(5.0, min(h * 0.06, 10.0))
        areas.append(Box(box.left + label_w + inset, y + inset, box.width - label_w - 2 * inset, h - 2 * inset))
    return areas


def _columns(area: Box, n: int, gap: float | None = None, weights: list[float] | None = None,
             ) -> list[tuple[float, float]]:
    gap = max(14.0, area.width * 0.035) if gap is None else gap
    return _split(area.left, area.width, weights or [1.0] * n, gap)


def _row_nodes(slide: Slide, prefix: str, area: Box, texts: list[str], fonts: Fonts, look: Look,
               *, gap: float | None = None, weights: list[float] | None = None, y: float | None = None,
               h: float | None = None, color: RGBColor = MUTED, arrows: bool = True, max_pt: int = 16,
               ) -> list[Shape]:
    """A left-to-right chain of equal-height boxes in ``area`` joined by arrows."""
    cols = _columns(area, len(texts), gap, weights)
    y = area.top if y is None else y
    h = area.height if h is None else h
    size = common_size([(t, w, h) for t, (_, w) in zip(texts, cols, strict=True)], look.bold, max_pt)
    shapes = [node(slide, f"{prefix}/{t.splitlines()[0]}", x, y, w, h, t, fonts, look, max_pt=size)
              for t, (x, w) in zip(texts, cols, strict=True)]
    if arrows:
        for a, b in zip(shapes, shapes[1:], strict=False):
            arrow(slide, f"{prefix}/箭头/{a.name.split('/')[-1]}→{b.name.split('/')[-1]}", a, RIGHT, b, LEFT,
                  color=color)
    return shapes


def _container(slide: Slide, name: str, x: float, y: float, w: float, h: float, title: str, fonts: Fonts,
               look: Look = OUTLINE, title_pt: int = 16) -> tuple[Shape, Box]:
    """A titled frame; returns it and the free area below its title line."""
    size = min(title_pt, best_size(title, w, h, look.bold, title_pt))
    lines = len(_wrap_all(title, size, w - 2 * PAD_X - SLACK, look.bold))
    title_h = lines * line_height_pt(size) + 2 * PAD_Y + 2
    frame = node(slide, name, x, y, w, h, title, fonts, look, max_pt=size, anchor=MSO_ANCHOR.TOP)
    pad = 6.0
    return frame, Box(x + pad, y + title_h + 2, w - 2 * pad, h - title_h - 2 - pad)


# ---------------------------------------------------------------- diagrams

def roadmap(slide: Slide, box: Box, fonts: Fonts) -> None:
    """The baseline and six stages, left to right (or top to bottom in narrow boxes), with key technologies."""
    gap = max(14.0, box.width * 0.018)
    col_w = (box.width - 6 * gap) / 7
    if col_w >= 100:
        _roadmap_columns(slide, box, fonts, gap, col_w)
    else:
        _roadmap_rows(slide, box, fonts)


def _roadmap_columns(slide: Slide, box: Box, fonts: Fonts, gap: float, col_w: float) -> None:
    stage_h = box.height * 0.34
    chips_top = box.top + stage_h + gap * 0.8
    chips_h = box.top + box.height - chips_top
    texts = [f"{o}\n{name}" for o, (_, name, _) in zip(ORDINALS, STAGES, strict=True)]
    stage_pt = common_size([(t, col_w, stage_h) for t in texts], True)
    pad = 5.0
    chip_gap = 7.0
    chip_h = min((chips_h - 2 * pad - 2 * chip_gap) / 3, 48.0)
    chip_w = col_w - 2 * pad
    trend_h = chips_h - (3 * chip_h + 2 * pad + 2 * chip_gap) - gap * 0.8
    if trend_h >= 30:  # room left: a trend arrow under the six stages
        chips_h = 3 * chip_h + 2 * pad + 2 * chip_gap
        trend_h = min(trend_h, 48.0)
        trend_x = box.left + col_w + gap
        node(slide, "roadmap/趋势/效率逐级提升", trend_x, box.top + box.height - trend_h,
             box.left + box.width - trend_x, trend_h, "资源利用率与单位成本产出逐级提升", fonts,
             Look(SOFT, None, ACCENT, bold=True), max_pt=16,
             shape=MSO_SHAPE.PENTAGON)
    chip_pt = common_size([(t, chip_w, chip_h) for _, _, techs in STAGES for t in techs], False, 16)
    prev = None
    for i, ((key, _, techs), text) in enumerate(zip(STAGES, texts, strict=True)):
        x = box.left + i * (col_w + gap)
        old = i == 0
        stage = node(slide, f"roadmap/阶段/{key}", x, box.top, col_w, stage_h, text, fonts,
                     OLD if old else STRONG, max_pt=stage_pt)
        if prev is not None:
            arrow(slide, f"roadmap/箭头/{key}", prev, RIGHT, stage, LEFT, color=MUTED if i == 1 else ACCENT)
        prev = stage
        panel(slide, f"roadmap/技术栏/{key}", x, chips_top, col_w, chips_h,
              Look(WHITE, MUTED, INK, dashed=True) if old else Look(ZEBRA, None, INK))
        for j, tech in enumerate(techs):
            node(slide, f"roadmap/技术/{key}/{tech}", x + pad, chips_top + pad + j * (chip_h + chip_gap), chip_w,
                 chip_h, tech, fonts, OLD_CHIP if old else CHIP, max_pt=chip_pt)


def _roadmap_rows(slide: Slide, box: Box, fonts: Fonts) -> None:
    gap = max(9.0, box.height * 0.026)
    rows = _split(box.top, box.height, [1.0] * 7, gap)
    stage_w = box.width * 0.36
    tech_left = box.left + stage_w + 12
    tech_w = box.left + box.width - tech_left
    texts = [f"{o} {name}" for o, (_, name, _) in zip(ORDINALS, STAGES, strict=True)]
    h = rows[0][1]
    stage_pt = common_size([(t, stage_w, h) for t in texts], True, 16)
    chip_cols = _split(tech_left, tech_w, [1.0] * 3, 6.0)
    chip_pt = common_size([(t, chip_cols[0][1], h) for _, _, techs in STAGES for t in techs], False, 16)
    prev = None
    for i, ((key, _, techs), text, (y, h)) in enumerate(zip(STAGES, texts, rows, strict=True)):
        old = i == 0
        stage = node(slide, f"roadmap/阶段/{key}", box.left, y, stage_w, h, text, fonts, OLD if old else STRONG,
                     max_pt=stage_pt)
        if prev is not None:
            arrow(slide, f"roadmap/箭头/{key}", prev, BOTTOM, stage, TOP, color=MUTED if i == 1 else ACCENT,
                  width=1.25)
        prev = stage
        spans = chip_cols if len(techs) == 3 else _split(tech_left, tech_w, [1.0, 1.0], 6.0)
        for tech, (x, w) in zip(techs, spans, strict=True):
            node(slide, f"roadmap/技术/{key}/{tech}", x, y, w, h, tech, fonts, OLD_CHIP if old else CHIP,
                 max_pt=chip_pt)


METRIC_TREE = (
    ("推理性能指标", ("Throughput token/sec · 吞吐量", "TTFT · 首 token 时延", "TBT · token 间时延",
                      "Prefill efficiency % · 首字时延计算占比", "Decoding parallelism · 解码并行度")),
    ("资源利用指标", ("GPU utilization · GPU利用率", "Memory overhead GB · 显存冗余",
                      "Cluster throughput per Watt · 集群能效")),
    ("成本效益指标", ("Throughput/$ · 单位成本吞吐", "Throughput/watt · 单位能耗吞吐")),
)


def metric_system(slide: Slide, box: Box, fonts: Fonts) -> None:
    """The seed's metric tree: CNCF Sustainability -> three families -> ten metrics, left to right."""
    gap = max(26.0, box.width * 0.045)
    root_w = max(112.0, box.width * 0.16)
    cat_w = max(100.0, box.width * 0.17)
    leaf_w = min(box.width - root_w - cat_w - 2 * gap, 360.0)
    left = box.left + (box.width - (root_w + cat_w + 2 * gap + leaf_w)) / 2
    leaf_x = left + root_w + cat_w + 2 * gap
    n_leaves = sum(len(leaves) for _, leaves in METRIC_TREE)
    group_gap = max(10.0, box.height * 0.04)
    leaf_gap = max(4.0, box.height * 0.014)
    leaf_h = (box.height - 2 * group_gap - (n_leaves - 3) * leaf_gap) / n_leaves
    leaf_pt = common_size([(t, leaf_w, leaf_h) for _, leaves in METRIC_TREE for t in leaves], False, 16)
    cat_x = left + root_w + gap
    root_h = min(box.height * 0.4, 140.0)
    root = node(slide, "metric_system/根/CNCF Sustainability指标", left, box.top + (box.height - root_h) / 2,
                root_w, root_h, "CNCF Sustainability\n指标", fonts, STRONG, max_pt=16)
    cats = []
    y = box.top
    for cat, leaves in METRIC_TREE:
        group_h = len(leaves) * leaf_h + (len(leaves) - 1) * leaf_gap
        cat_h = min(group_h, max(2 * leaf_h + leaf_gap, 56.0))
        cats.append((cat, leaves, y, group_h, cat_h))
        y += group_h + group_gap
    cat_pt = common_size([(c, cat_w, ch) for c, _, _, _, ch in cats], True, 16)
    for cat, leaves, y, group_h, cat_h in cats:
        cat_sp = node(slide, f"metric_system/类别/{cat}", cat_x, y + (group_h - cat_h) / 2, cat_w, cat_h, cat, fonts,
                      OUTLINE, max_pt=cat_pt)
        arrow(slide, f"metric_system/连线/{cat}", root, RIGHT, cat_sp, LEFT, color=ACCENT)
        for j, leaf in enumerate(leaves):
            leaf_sp = node(slide, f"metric_system/指标/{leaf.split(' · ')[0]}", leaf_x, y + j * (leaf_h + leaf_gap),
                           leaf_w, leaf_h, leaf, fonts, CHIP, max_pt=leaf_pt, align=PP_ALIGN.LEFT)
            arrow(slide, f"metric_system/连线/{leaf.split(' · ')[0]}", cat_sp, RIGHT, leaf_sp, LEFT, width=1.0)


def arch_sharing(slide: Slide, box: Box, fonts: Fonts) -> None:
    """MIG (hardware partitions), MPS (shared SMs) and HAMi vGPU (limits per container) side by side."""
    areas = _bands(slide, "arch_sharing", box, ["工作负载", "共享机制", "物理资源"], [0.8, 1.6, 0.8], fonts)
    cols = _columns(areas[0], 3)
    tops = ["租户容器\n（独立实例）", "多个推理进程\n（同一用户）", "容器 Pod\n显存与算力配额"]
    gpus = ["物理GPU\n硬件级切分", "物理GPU\nSM 并发共享", "物理GPU\n显存与算力软限额"]
    top_pt = common_size([(t, w, areas[0].height) for t, (_, w) in zip(tops, cols, strict=True)], False, 16)
    gpu_pt = common_size([(t, w, areas[2].height) for t, (_, w) in zip(gpus, cols, strict=True)], True, 16)
    mid = areas[1]
    titles = ["MIG 实例", "MPS 服务", "HAMi vGPU"]
    title_pt = common_size([(t, w, 40.0) for t, (_, w) in zip(titles, cols, strict=True)], True, 16)
    for (x, w), top_text, gpu_text, title, key in zip(cols, tops, gpus, titles, ("MIG", "MPS", "HAMi"),
                                                      strict=True):
        top = node(slide, f"arch_sharing/负载/{key}", x, areas[0].top, w, areas[0].height, top_text, fonts, CHIP_EDGE,
                   max_pt=top_pt)
        frame, inner = _container(slide, f"arch_sharing/机制/{key}", x, mid.top, w, mid.height, title, fonts,
                                  title_pt=title_pt)
        gpu = node(slide, f"arch_sharing/GPU/{key}", x, areas[2].top, w, areas[2].height, gpu_text, fonts, STRONG,
                   max_pt=gpu_pt)
        arrow(slide, f"arch_sharing/箭头/{key}/负载", top, BOTTOM, frame, TOP)
        arrow(slide, f"arch_sharing/箭头/{key}/GPU", frame, BOTTOM, gpu, TOP, color=ACCENT)
        if key == "MIG":
            (t1, h1), (t2, h2) = _split(inner.top, inner.height, [1.0, 1.0], 5.0)
            node(slide, "arch_sharing/MIG/硬件隔离", inner.left, t1, inner.width, h1, "硬件隔离\n独立显存与计算单元",
                 fonts, CHIP, max_pt=16)
            chips = _split(inner.left, inner.width, [1.0] * 4, 4.0)
            size = common_size([(p, cw, h2) for p, (_, cw) in zip(("1g", "2g", "3g", "7g"), chips, strict=True)],
                               True, 16)
            for profile, (cx, cw) in zip(("1g", "2g", "3g", "7g"), chips, strict=True):
                node(slide, f"arch_sharing/MIG实例/{profile}", cx, t2, cw, h2, profile, fonts,
                     Look(SOFT, None, ACCENT, bold=True), max_pt=size)
        else:
            texts = (["进程共享 SM", "统一调度上下文"] if key == "MPS" else ["设备插件", "调度扩展器"])
            rows = _split(inner.top, inner.height, [1.0, 1.0], 5.0)
            size = common_size([(t, inner.width, h) for t, (_, h) in zip(texts, rows, strict=True)], False, 16)
            for t, (cy, ch) in zip(texts, rows, strict=True):
                node(slide, f"arch_sharing/{key}/{t}", inner.left, cy, inner.width, ch, t, fonts, CHIP, max_pt=size)


def arch_orchestration(slide: Slide, box: Box, fonts: Fonts) -> None:
    """Job submission -> multi-level queues -> scheduler extender -> GPU nodes, with the quota controller."""
    areas = _bands(slide, "arch_orchestration", box, ["作业流", "控制面"], [2.0, 1.0], fonts)
    flow = areas[0]
    cols = _columns(flow, 4, weights=[0.8, 1.0, 1.15, 1.0])
    titles = ["作业提交", "多级队列", "调度器扩展", "GPU节点"]
    inner_items = [
        [],
        ["高优先级", "普通", "低优先级"],
        ["Filter 过滤", "Score 打分", "Binpack 紧凑装箱"],
        ["已装满节点", "已装满节点", "空闲节点\n可释放"],
    ]
    title_pt = common_size([(t, w, 40.0) for t, (_, w) in zip(titles, cols, strict=True)], True, 16)
    frames: list[Shape] = []
    chip_specs = []
    for (x, w), title, items in zip(cols, titles, inner_items, strict=True):
        if not items:
            sp = node(slide, "arch_orchestration/组件/作业提交", x, flow.top + flow.height * 0.25, w,
                      flow.height * 0.5, "作业提交\n训练·推理·开发", fonts, STRONG, max_pt=16)
            frames.append(sp)
            continue
        frame, inner = _container(slide, f"arch_orchestration/组件/{title}", x, flow.top, w, flow.height, title,
                                  fonts, title_pt=title_pt)
        frames.append(frame)
        rows = _split(inner.top, inner.height, [1.0] * len(items), 5.0)
        chip_specs.append((title, items, inner, rows))
    size = common_size([(t, inner.width, h) for _, items, inner, rows in chip_specs
                        for t, (_, h) in zip(items, rows, strict=True)], False, 16)
    for title, items, inner, rows in chip_specs:
        for i, (t, (cy, ch)) in enumerate(zip(items, rows, strict=True)):
            look = CHIP_EDGE if "空闲" in t else CHIP
            node(slide, f"arch_orchestration/{title}/{t}{i}", inner.left, cy, inner.width, ch, t, fonts, look,
                 max_pt=size)
    for a, b in zip(frames, frames[1:], strict=False):
        arrow(slide, f"arch_orchestration/箭头/{a.name.split('/')[-1]}→{b.name.split('/')[-1]}", a, RIGHT, b, LEFT,
              color=ACCENT)
    ctrl_area = areas[1]
    q_x, q_w = cols[1]
    s_x, s_w = cols[2]
    ctrl_x, ctrl_w = q_x, s_x + s_w - q_x
    ctrl = node(slide, "arch_orchestration/组件/配额与公平控制器", ctrl_x, ctrl_area.top, ctrl_w, ctrl_area.height,
                "配额与公平控制器\n借用 · 回收 · 抢占", fonts, STRONG, max_pt=16)
    for (x, w), target, label in ((cols[1], frames[1], "配额"), (cols[2], frames[2], "抢占")):
        arrow(slide, f"arch_orchestration/箭头/控制器→{label}", (x + w / 2, ctrl_area.top), 0, target, BOTTOM,
              color=ACCENT)
    g_x, g_w = cols[3]
    mon = node(slide, "arch_orchestration/组件/利用率反馈", g_x, ctrl_area.top, g_w, ctrl_area.height,
               "利用率与配额用量反馈", fonts, CHIP_EDGE, max_pt=16)
    arrow(slide, "arch_orchestration/箭头/节点→反馈", frames[3], BOTTOM, mon, TOP)
    arrow(slide, "arch_orchestration/箭头/反馈→控制器", mon, LEFT, ctrl, RIGHT)


def arch_data(slide: Slide, box: Box, fonts: Fonts) -> None:
    """RDMA fabric to Lustre, and GPUDirect Storage's direct path against the CPU bounce-buffer path."""
    areas = _bands(slide, "arch_data", box, ["集群网络", "传统路径", "直通路径"], [1.5, 1.0, 1.0], fonts)
    net = areas[0]
    cols = _columns(net, 3, weights=[0.8, 1.0, 1.3])
    gx, gw = cols[0]
    gpu = node(slide, "arch_data/网络/GPU节点", gx, net.top + net.height * 0.15, gw, net.height * 0.7,
               "GPU节点\n计算与显存", fonts, STRONG, max_pt=16)
    rx, rw = cols[1]
    rdma = node(slide, "arch_data/网络/RDMA", rx, net.top + net.height * 0.15, rw, net.height * 0.7,
                "RDMA 网络\nInfiniBand / RoCE", fonts, OUTLINE, max_pt=16)
    lx, lw = cols[2]
    lustre, inner = _container(slide, "arch_data/网络/Lustre", lx, net.top, lw, net.height, "Lustre 并行文件系统",
                               fonts)
    parts = _split(inner.left, inner.width, [1.0, 1.0], 6.0)
    size = common_size([(t, w, inner.height) for t, (_, w) in zip(("MDS\n元数据服务", "OSS\n对象存储服务"), parts,
                                                                   strict=True)], False, 16)
    for t, (px, pw) in zip(("MDS\n元数据服务", "OSS\n对象存储服务"), parts, strict=True):
        node(slide, f"arch_data/Lustre/{t.splitlines()[0]}", px, inner.top, pw, inner.height, t, fonts, CHIP,
             max_pt=size)
    arrow(slide, "arch_data/箭头/GPU↔RDMA", gpu, RIGHT, rdma, LEFT, color=ACCENT, both=True)
    arrow(slide, "arch_data/箭头/RDMA↔Lustre", rdma, RIGHT, lustre, LEFT, color=ACCENT, both=True)

    old_texts = ["NVMe 存储", "CPU 主机内存\n回弹缓冲区", "GPU 显存"]
    new_texts = ["NVMe / NVMe-oF", "GPUDirect Storage\nDMA 直达\n绕过CPU", "GPU 显存"]
    pt = min(common_size([(t, w, areas[1].height) for t, (_, w) in zip(old_texts, _columns(areas[1], 3),
                                                                        strict=True)], False, 16),
             common_size([(t, w, areas[2].height) for t, (_, w) in zip(new_texts, _columns(areas[2], 3),
                                                                        strict=True)], True, 16))
    old = _row_nodes(slide, "arch_data/传统", areas[1], old_texts, fonts, OLD_CHIP, arrows=False, max_pt=pt)
    for a, b in zip(old, old[1:], strict=False):
        arrow(slide, f"arch_data/传统/箭头/{b.name.split('/')[-1]}", a, RIGHT, b, LEFT, dashed=True)
    _row_nodes(slide, "arch_data/直通", areas[2], new_texts, fonts, STRONG, color=ACCENT, max_pt=pt)


def arch_inference(slide: Slide, box: Box, fonts: Fonts) -> None:
    """Request path with prefill/decode disaggregation; PagedAttention block table and prefix KV reuse."""
    areas = _bands(slide, "arch_inference", box, ["请求链路", "显存管理"], [1.0, 1.25], fonts)
    flow = _row_nodes(slide, "arch_inference/链路", areas[0],
                      ["请求", "路由与\n动态批处理", "Prefill 集群", "KV缓存传输", "Decode 集群"], fonts, STRONG,
                      weights=[0.7, 1.1, 1.0, 1.0, 1.0], color=ACCENT)
    flow[3].fill.fore_color.rgb = SOFT
    for p in flow[3].text_frame.paragraphs:
        for r in p.runs:
            r.font.color.rgb = ACCENT
    mem = areas[1]
    cols = _columns(mem, 5, weights=[0.7, 1.1, 1.0, 1.0, 1.0])
    left_x, right_x = cols[0][0], cols[3][0]
    left_w = cols[2][0] + cols[2][1] - left_x
    right_w = cols[4][0] + cols[4][1] - right_x
    prefix, p_inner = _container(slide, "arch_inference/前缀KV复用", left_x, mem.top, left_w, mem.height,
                                 "前缀KV复用", fonts)
    paged, g_inner = _container(slide, "arch_inference/PagedAttention", right_x, mem.top, right_w, mem.height,
                                "PagedAttention 块表", fonts)
    p_items = ["相同前缀", "命中已缓存KV", "跳过重复预填充"]
    g_items = ["逻辑块", "块表映射", "物理显存块"]
    chip_h = min(p_inner.height, 64.0)
    p_inner = Box(p_inner.left, p_inner.top + (p_inner.height - chip_h) / 2, p_inner.width, chip_h)
    g_inner = Box(g_inner.left, g_inner.top + (g_inner.height - chip_h) / 2, g_inner.width, chip_h)
    p_cols = _split(p_inner.left, p_inner.width, [1.0] * 3, 16.0)
    g_cols = _split(g_inner.left, g_inner.width, [1.0] * 3, 16.0)
    size = common_size([(t, w, p_inner.height) for t, (_, w) in zip(p_items, p_cols, strict=True)]
                       + [(t, w, g_inner.height) for t, (_, w) in zip(g_items, g_cols, strict=True)], False, 16)
    for items, spans, inner, key in ((p_items, p_cols, p_inner, "前缀"), (g_items, g_cols, g_inner, "块表")):
        chips = [node(slide, f"arch_inference/{key}/{t}", x, inner.top, w, inner.height, t, fonts, CHIP, max_pt=size)
                 for t, (x, w) in zip(items, spans, strict=True)]
        for a, b in zip(chips, chips[1:], strict=False):
            arrow(slide, f"arch_inference/{key}/箭头/{b.name.split('/')[-1]}", a, RIGHT, b, LEFT, width=1.25)
    p_x = _site(flow[2], BOTTOM)[0]
    arrow(slide, "arch_inference/箭头/前缀复用→Prefill", (p_x, prefix.top.pt), 0, flow[2], BOTTOM, color=ACCENT)
    d_x = _site(flow[4], BOTTOM)[0]
    arrow(slide, "arch_inference/箭头/Decode→块表", flow[4], BOTTOM, (d_x, paged.top.pt), 0, color=ACCENT, both=True)


def arch_resilience(slide: Slide, box: Box, fonts: Fonts) -> None:
    """Autoscaling from monitoring and forecasts; async checkpoints and fast recovery for training."""
    areas = _bands(slide, "arch_resilience", box, ["弹性伸缩", "异步检查点", "故障恢复"], [1.0, 1.0, 1.0], fonts)
    gap = max(18.0, areas[0].width * 0.04)
    rows = [
        ["监控指标", "负载预测", "自动扩缩容", "推理副本与节点池"],
        ["训练作业", "GPU 显存快照", "主机内存缓冲", "持久存储"],
        ["故障检测", "隔离故障节点", "快速重启训练", "加载最近检查点"],
    ]
    cols = _columns(areas[0], 4, gap)
    pt = common_size([(t, w, a.height) for a, row in zip(areas, rows, strict=True)
                      for t, (_, w) in zip(row, cols, strict=True)], True, 16)
    _row_nodes(slide, "arch_resilience/伸缩", areas[0], rows[0], fonts, STRONG, gap=gap, color=ACCENT,
                       max_pt=pt)
    ckpt = _row_nodes(slide, "arch_resilience/检查点", areas[1], rows[1], fonts, OUTLINE, gap=gap, color=ACCENT,
                      max_pt=pt)
    cols2 = _columns(areas[2], 4, gap)
    rec = [node(slide, f"arch_resilience/恢复/{t}", x, areas[2].top, w, areas[2].height, t, fonts,
                Look(WHITE, ACCENT, ACCENT, bold=True), max_pt=pt) for t, (x, w) in zip(rows[2], cols2, strict=True)]
    arrow(slide, "arch_resilience/恢复/箭头/检测→隔离", rec[0], RIGHT, rec[1], LEFT, color=ACCENT)
    arrow(slide, "arch_resilience/恢复/箭头/隔离→重启", rec[1], RIGHT, rec[2], LEFT, color=ACCENT)
    arrow(slide, "arch_resilience/恢复/箭头/加载→重启", rec[3], LEFT, rec[2], RIGHT, color=ACCENT)
    arrow(slide, "arch_resilience/箭头/存储→加载", ckpt[3], BOTTOM, rec[3], TOP, color=ACCENT)
    arrow(slide, "arch_resilience/箭头/训练→检测", ckpt[0], BOTTOM, rec[0], TOP, dashed=True)


def arch_load_mgmt(slide: Slide, box: Box, fonts: Fonts) -> None:
    """A day in one cluster (inference by day, training backfill by night) and follow-the-sun across regions."""
    areas = _bands(slide, "arch_load_mgmt", box, ["昼夜分时", "跨地域"], [1.0, 1.25], fonts)
    day = areas[0]
    seg_h = day.height * 0.62
    segs = _split(day.left, day.width, [1.0, 2.0, 1.0], 0.0)
    texts = ["夜间\n训练回填", "白天\n推理优先，训练让出资源", "夜间\n训练回填"]
    looks = [Look(ACCENT, None, WHITE, bold=True), Look(SOFT, None, ACCENT, bold=True),
             Look(ACCENT, None, WHITE, bold=True)]
    pt = common_size([(t, w, seg_h) for t, (_, w) in zip(texts, segs, strict=True)], True, 16)
    for i, (t, (x, w), look) in enumerate(zip(texts, segs, looks, strict=True)):
        node(slide, f"arch_load_mgmt/时段/{i}-{t.splitlines()[0]}", x, day.top, w, seg_h, t, fonts, look,
             max_pt=pt, shape=MSO_SHAPE.RECTANGLE)
    note_y = day.top + seg_h + 5
    node(slide, "arch_load_mgmt/时段/效果", day.left, note_y, day.width, day.top + day.height - note_y,
         "推理峰谷与训练回填互补，GPU全天候保持忙碌", fonts, CHIP_EDGE, max_pt=16)

    geo = areas[1]
    sched_h = geo.height * 0.36
    sched_w = min(geo.width * 0.6, 360.0)
    sched = node(slide, "arch_load_mgmt/全局调度器", geo.left + (geo.width - sched_w) / 2, geo.top, sched_w, sched_h,
                 "全局调度器\n跟随时区迁移训练负载", fonts, STRONG, max_pt=16)
    reg_top = geo.top + sched_h + max(16.0, geo.height * 0.12)
    regions = ["亚太区域\n白天：推理优先", "欧洲区域\n傍晚：混合负载", "美洲区域\n夜间：训练回填"]
    looks = [Look(SOFT, None, ACCENT, bold=True), Look(WHITE, ACCENT, ACCENT, bold=True),
             Look(ACCENT, None, WHITE, bold=True)]
    cols = _columns(geo, 3)
    h = geo.top + geo.height - reg_top
    pt = common_size([(t, w, h) for t, (_, w) in zip(regions, cols, strict=True)], True, 16)
    for t, (x, w), look in zip(regions, cols, looks, strict=True):
        reg = node(slide, f"arch_load_mgmt/地域/{t.splitlines()[0]}", x, reg_top, w, h, t, fonts, look, max_pt=pt)
        arrow(slide, f"arch_load_mgmt/箭头/调度→{t.splitlines()[0]}", sched, BOTTOM, reg, TOP, color=ACCENT)


def _clamp(value: float, low: float, high: float) -> float:
    return max(low, min(value, high))


RAIL_NAMES = ("一", "二", "三", "四")


def _variant(width: float, wide: str, narrow: str, size: int = 16, bold: bool = True) -> str:
    """``wide`` when each of its lines fits ``width`` at ``size``, else ``narrow`` (with its own line breaks)."""
    inner = width - 2 * PAD_X - SLACK
    return wide if all(text_width_pt(line, size, bold) <= inner for line in wide.split("\n")) else narrow
TAG = Look(SOFT, None, ACCENT, bold=True)


def arch_rdma(slide: Slide, box: Box, fonts: Fonts) -> None:
    """Rail-optimised fabric: GPU i of every server has its own NIC on leaf switch 'rail i'; leaves to spines."""
    servers, rails = ("A", "B"), RAIL_NAMES
    spine_h = _clamp(box.height * 0.09, 28.0, 40.0)
    leaf_h = _clamp(box.height * 0.1, 30.0, 44.0)
    gap_spine = _clamp(box.height * 0.08, 24.0, 40.0)
    gap_leaf = _clamp(box.height * 0.11, 34.0, 56.0)
    legend_h = _clamp(box.height * 0.15, 50.0, 62.0)
    gap_legend = 10.0
    spine_y = box.top
    leaf_y = spine_y + spine_h + gap_spine
    srv_y = leaf_y + leaf_h + gap_leaf
    srv_h = box.top + box.height - legend_h - gap_legend - srv_y
    legend_y = srv_y + srv_h + gap_legend

    spine_w = min(box.width * 0.3, 220.0)
    spine_pt = common_size([("Spine 交换机", spine_w, spine_h)], True, 16)
    spines = [node(slide, f"arch_rdma/Spine/{s}", box.left + box.width * c - spine_w / 2, spine_y, spine_w, spine_h,
                   "Spine 交换机", fonts, STRONG, max_pt=spine_pt)
              for s, c in (("甲", 0.3), ("乙", 0.7))]
    leaf_cols = _columns(Box(box.left, leaf_y, box.width, leaf_h), len(rails), gap=max(14.0, box.width * 0.03))
    leaf_texts = [f"轨道{r} Leaf" for r in rails]
    leaf_pt = common_size([(t, w, leaf_h) for t, (_, w) in zip(leaf_texts, leaf_cols, strict=True)], True, 16)
    leaves = [node(slide, f"arch_rdma/Leaf/轨道{r}", x, leaf_y, w, leaf_h, t, fonts, OUTLINE, max_pt=leaf_pt)
              for r, t, (x, w) in zip(rails, leaf_texts, leaf_cols, strict=True)]
    for leaf, r in zip(leaves, rails, strict=True):
        for k, spine in enumerate(spines):
            sx = spine.left.pt + spine.width.pt * (0.2 + 0.6 * rails.index(r) / (len(rails) - 1))
            arrow(slide, f"arch_rdma/连线/轨道{r}→Spine{'甲乙'[k]}", leaf, TOP, (sx, spine.top.pt + spine.height.pt),
                  0, color=MUTED, width=1.0)

    srv_cols = _columns(Box(box.left, srv_y, box.width, srv_h), len(servers), gap=max(18.0, box.width * 0.04))
    pad = 6.0
    frames = []
    for s, (x, w) in zip(servers, srv_cols, strict=True):
        panel(slide, f"arch_rdma/服务器/{s}", x, srv_y, w, srv_h, Look(WHITE, ACCENT, INK))
        frames.append((s, Box(x + pad, srv_y + pad, w - 2 * pad, srv_h - 2 * pad)))
    inner0 = frames[0][1]
    link_gap = _clamp(inner0.height * 0.16, 12.0, 24.0)
    (nic_y, nic_h), (gpu_y, gpu_h), (bar_y, bar_h) = _split(inner0.top, inner0.height, [1.0, 1.0, 1.0], link_gap)
    pair_gap = max(4.0, inner0.width * 0.03)
    pairs = _split(inner0.left, inner0.width, [1.0] * len(rails), pair_gap)
    nic_texts = [f"网卡{r}" for r in rails]
    chip_pt = common_size([(t, w, nic_h) for t, (_, w) in zip(nic_texts, pairs, strict=True)]
                          + [("GPU", w, gpu_h) for _, w in pairs], True, 16)
    bar_texts = [f"GPU 服务器 {s}：NVSwitch 机内全互联" for s in servers]
    bar_pt = common_size([(t, inner0.width, bar_h) for t in bar_texts], True, 16)
    for si, ((s, inner), bar_text) in enumerate(zip(frames, bar_texts, strict=True)):
        spans = _split(inner.left, inner.width, [1.0] * len(rails), pair_gap)
        node(slide, f"arch_rdma/{s}/NVSwitch", inner.left, bar_y, inner.width, bar_h, bar_text, fonts, TAG,
                   max_pt=bar_pt)
        for r, (x, w), leaf in zip(rails, spans, leaves, strict=True):
            nic = node(slide, f"arch_rdma/{s}/网卡{r}", x, nic_y, w, nic_h, f"网卡{r}", fonts, STRONG, max_pt=chip_pt)
            gpu = node(slide, f"arch_rdma/{s}/GPU{r}", x, gpu_y, w, gpu_h, "GPU", fonts, OUTLINE, max_pt=chip_pt)
            arrow(slide, f"arch_rdma/{s}/GPUDirect/{r}", gpu, TOP, nic, BOTTOM, color=ACCENT, both=True, width=1.25)
            arrow(slide, f"arch_rdma/{s}/NVLink/{r}", gpu, BOTTOM, (x + w / 2, bar_y), 0, color=MUTED, both=True,
                  width=1.0)
            lx = leaf.left.pt + leaf.width.pt * (0.3 + 0.4 * si / max(len(servers) - 1, 1))
            arrow(slide, f"arch_rdma/连线/{s}网卡{r}→轨道{r}", nic, TOP, (lx, leaf.top.pt + leaf.height.pt), 0,
                  color=ACCENT, both=True, width=1.25)

    legend = [
        ("机内：NVLink\nNVSwitch 直连", TAG),
        ("GPUDirect RDMA\nConnectX 网卡直读显存", CHIP_EDGE),
        ("机间 RDMA：IB 或 RoCE\nPFC + ECN/DCQCN", STRONG),
    ]
    cols = _columns(Box(box.left, legend_y, box.width, legend_h), 3, gap=max(10.0, box.width * 0.02),
                    weights=[1.0, 1.0, 1.35])
    pt = min(common_size([(t, w, legend_h) for (t, _), (_, w) in zip(legend, cols, strict=True)], False, 14),
             common_size([(t, w, legend_h) for (t, _), (_, w) in zip(legend, cols, strict=True)], True, 14))
    for (t, look), (x, w) in zip(legend, cols, strict=True):
        node(slide, f"arch_rdma/图例/{t.splitlines()[0]}", x, legend_y, w, legend_h, t, fonts, look, max_pt=pt)


def arch_lustre(slide: Slide, box: Box, fonts: Fonts) -> None:
    """Lustre: clients over LNet (RDMA) to MDS/MDTs (DNE) for metadata and to OSS/OSTs holding a file's stripes."""
    note_h = _clamp(box.height * 0.12, 38.0, 50.0)
    gap_y = 10.0
    main = Box(box.left, box.top, box.width, box.height - note_h - gap_y)
    cols = _columns(main, 3, gap=max(24.0, box.width * 0.04), weights=[0.9, 0.6, 1.85])
    (cx, cw), (lx, lw), (rx, rw) = cols
    clients, c_inner = _container(slide, "arch_lustre/计算节点", cx, main.top, cw, main.height, "计算节点", fonts)
    c_items = ["GPU 节点\nLustre 客户端", "GPU 节点\nLustre 客户端", "本地缓存\n预取下一批数据"]
    rows = _split(c_inner.top, c_inner.height, [1.0] * 3, 6.0)
    size = common_size([(t, c_inner.width, h) for t, (_, h) in zip(c_items, rows, strict=True)], False, 16)
    for i, (t, (y, h)) in enumerate(zip(c_items, rows, strict=True)):
        node(slide, f"arch_lustre/客户端/{t.splitlines()[0]}{'甲乙丙'[i]}", c_inner.left, y, c_inner.width, h, t,
             fonts, CHIP_EDGE if i == 2 else CHIP, max_pt=size)
    lnet_h = main.height * 0.62
    lnet_text = "LNet\nRDMA 网络\nIB 或 RoCE"
    lnet_pt = next((size for size in range(16, MIN_PT, -1)  # keep its own line breaks, add none
                    if all(text_width_pt(line, size, True) <= lw - 2 * PAD_X - SLACK
                           for line in lnet_text.split("\n"))), MIN_PT)
    lnet = node(slide, "arch_lustre/LNet", lx, main.top + (main.height - lnet_h) / 2, lw, lnet_h, lnet_text, fonts,
                OUTLINE, max_pt=lnet_pt)
    arrow(slide, "arch_lustre/箭头/客户端↔LNet", clients, RIGHT, lnet, LEFT, color=ACCENT, both=True)

    (my, mh), (oy, oh) = _split(main.top, main.height, [1.0, 1.3], max(10.0, main.height * 0.04))
    mds, m_inner = _container(slide, "arch_lustre/MDS", rx, my, rw, mh,
                              _variant(rw, "MDS / MDT 元数据（DNE 分区命名空间）",
                                       "MDS / MDT 元数据\nDNE 分区命名空间"), fonts)
    oss, o_inner = _container(slide, "arch_lustre/OSS", rx, oy, rw, oh,
                              _variant(rw, "OSS / OST 对象存储：文件按条带分布", "OSS / OST 对象存储\n文件按条带分布"),
                              fonts)
    (r1, h1), (r2, h2) = _split(m_inner.top, m_inner.height, [1.0, 0.8], 5.0)
    mdts = _split(m_inner.left, m_inner.width, [1.0, 1.0], 6.0)
    m_texts = ["MDT 甲：目录子树", "MDT 乙：目录子树"]
    layout_text = "打开文件时返回布局：条带位于哪些 OST"
    size = min(common_size([(t, w, h1) for t, (_, w) in zip(m_texts, mdts, strict=True)], False, 16),
               best_size(layout_text, m_inner.width, h2, False, 16))
    for t, (x, w) in zip(m_texts, mdts, strict=True):
        node(slide, f"arch_lustre/MDS/{t.split('：')[0]}", x, r1, w, h1, t, fonts, CHIP, max_pt=size)
    node(slide, "arch_lustre/MDS/布局", m_inner.left, r2, m_inner.width, h2, layout_text, fonts, CHIP_EDGE,
         max_pt=size)
    (s_y, s_h), (t_y, t_h) = _split(o_inner.top, o_inner.height, [0.7, 1.0], 14.0)
    spans = _split(o_inner.left, o_inner.width, [1.0] * 3, 8.0)
    osts = [f"OST\n条带{r}" for r in RAIL_NAMES[:3]]
    size = common_size([("OSS 服务器", w, s_h) for _, w in spans] + [(t, w, t_h) for t, (_, w) in
                                                                      zip(osts, spans, strict=True)], True, 16)
    for i, (t, (x, w)) in enumerate(zip(osts, spans, strict=True)):
        server = node(slide, f"arch_lustre/OSS/服务器{'甲乙丙'[i]}", x, s_y, w, s_h, "OSS 服务器", fonts, OUTLINE,
                      max_pt=size)
        target = node(slide, f"arch_lustre/OST/条带{RAIL_NAMES[i]}", x, t_y, w, t_h, t, fonts, STRONG, max_pt=size)
        arrow(slide, f"arch_lustre/OSS/箭头/{'甲乙丙'[i]}", server, BOTTOM, target, TOP, color=ACCENT, width=1.25)
    ex = lnet.left.pt + lnet.width.pt
    for frame, key in ((mds, "元数据"), (oss, "数据")):
        y = frame.top.pt + frame.height.pt / 2
        y = _clamp(y, lnet.top.pt + 8, lnet.top.pt + lnet.height.pt - 8)  # leave LNet's side, not its corner
        arrow(slide, f"arch_lustre/箭头/LNet↔{key}", (ex, y), 0, frame, LEFT, color=ACCENT, both=True)
    node(slide, "arch_lustre/小文件", box.left, box.top + box.height - note_h, box.width, note_h,
         "小文件打包成分片（WebDataset / TFRecord），减少元数据操作，大块顺序读", fonts, CHIP_EDGE, max_pt=16)


def arch_geo(slide: Slide, box: Box, fonts: Fonts) -> None:
    """Multi-region dispatch: a global queue weighs signals and sends training to the region in local night;
    inference stays near its users through global load balancing."""
    top_h = box.height * 0.36
    lb_h = _clamp(box.height * 0.12, 38.0, 50.0)
    gap_a = _clamp(box.height * 0.09, 26.0, 40.0)
    gap_b = _clamp(box.height * 0.06, 18.0, 28.0)
    reg_y = box.top + top_h + gap_a
    reg_h = box.top + box.height - lb_h - gap_b - reg_y
    cols = _columns(Box(box.left, box.top, box.width, top_h), 3, gap=max(22.0, box.width * 0.035),
                    weights=[1.55, 1.0, 0.7])
    (sx, sw), (qx, qw), (jx, jw) = cols
    signals, s_inner = _container(slide, "arch_geo/调度信号", sx, box.top, sw, top_h, "调度信号", fonts)
    sig = ["各地域本地时间\n与空闲算力", "碳强度", "分时电价", "数据位置与合规"]
    (y1, h1), (y2, h2) = _split(s_inner.top, s_inner.height, [1.0, 1.0], 5.0)
    (x1, w1), (x2, w2) = _split(s_inner.left, s_inner.width, [1.0, 1.0], 5.0)
    cells = [(x1, y1, w1, h1), (x2, y1, w2, h1), (x1, y2, w1, h2), (x2, y2, w2, h2)]
    size = common_size([(t, w, h) for t, (_, _, w, h) in zip(sig, cells, strict=True)], False, 16)
    for t, (x, y, w, h) in zip(sig, cells, strict=True):
        label = t.replace("\n", "")
        node(slide, f"arch_geo/信号/{label}", x, y, w, h, t, fonts, CHIP, max_pt=size)
    q_h = top_h * 0.8
    queue = node(slide, "arch_geo/全局队列", qx, box.top + (top_h - q_h) / 2, qw, q_h,
                 _variant(qw, "全局队列 · 多集群调度\nKueue MultiKueue / Karmada",
                          "全局队列\n多集群调度\nMultiKueue\nKarmada"), fonts, STRONG, max_pt=16)
    j_h = top_h * 0.6
    jobs = node(slide, "arch_geo/训练作业", jx, box.top + (top_h - j_h) / 2, jw, j_h, "训练与批处理\n作业提交", fonts,
                OUTLINE, max_pt=16)
    arrow(slide, "arch_geo/箭头/信号→队列", signals, RIGHT, queue, LEFT, color=ACCENT)
    arrow(slide, "arch_geo/箭头/作业→队列", jobs, LEFT, queue, RIGHT, color=ACCENT)

    regions = [("亚太区域 · 白天", "推理高峰", "训练让出资源", False),
               ("欧洲区域 · 傍晚", "推理回落", "训练开始回填", False),
               ("美洲区域 · 夜间", "推理低谷", "训练回填（派往此处）", True)]
    r_cols = _columns(Box(box.left, reg_y, box.width, reg_h), 3, gap=max(16.0, box.width * 0.03))
    title_pt = common_size([(t, w, reg_h) for (t, _, _, _), (_, w) in zip(regions, r_cols, strict=True)], True, 16)
    frames = []
    chip_specs = []
    for (title, inf, train, night), (x, w) in zip(regions, r_cols, strict=True):
        frame, inner = _container(slide, f"arch_geo/地域/{title.split(' ')[0]}", x, reg_y, w, reg_h, title, fonts,
                                  Look(WHITE, ACCENT, ACCENT, bold=True) if night else
                                  Look(WHITE, MUTED, INK, bold=True), title_pt=title_pt)
        frames.append(frame)
        chip_specs.append((title, inf, train, night, inner))
    inner0 = chip_specs[0][4]
    (ay, ah), (by, bh) = _split(inner0.top, inner0.height, [1.0, 1.0], 5.0)
    size = common_size([(t, inner.width, ah) for _, inf, train, _, inner in chip_specs for t in (inf, train)],
                       True, 16)
    for title, inf, train, night, inner in chip_specs:
        key = title.split(" ")[0]
        busy = "高峰" in inf
        node(slide, f"arch_geo/{key}/推理", inner.left, ay, inner.width, ah, inf, fonts,
             STRONG if busy else Look(WHITE, SOFT, MUTED, bold=True), max_pt=size)
        node(slide, f"arch_geo/{key}/训练", inner.left, by, inner.width, bh, train, fonts,
             STRONG if night else (TAG if "回填" in train else Look(WHITE, SOFT, MUTED, bold=True)), max_pt=size)
    for frame, (title, _, _, night, _) in zip(frames, chip_specs, strict=True):
        key = title.split(" ")[0]
        arrow(slide, f"arch_geo/箭头/派发→{key}", queue, BOTTOM, frame, TOP, color=ACCENT if night else MUTED,
              dashed=not night, width=2.25 if night else 1.0)
    lb_y = box.top + box.height - lb_h
    lb = node(slide, "arch_geo/全局负载均衡", box.left, lb_y, box.width, lb_h,
              "全局负载均衡：推理请求就近路由到本地域", fonts, TAG, max_pt=16)
    for frame, (title, _, _, _, _) in zip(frames, chip_specs, strict=True):
        fx = frame.left.pt + frame.width.pt / 2
        arrow(slide, f"arch_geo/箭头/就近→{title.split(' ')[0]}", (fx, lb.top.pt), 0, frame, BOTTOM, color=ACCENT,
              width=1.25)


OUTLOOK = (
    ("近期落地", "新一代GPU架构", ("更大显存\n与带宽", "八位、四位\n浮点低精度", "更大的\nNVLink 域")),
    ("近期落地", "动态资源分配 DRA", ("按设备属性\n申领 GPU", "共享与分片\n按需声明", "Kubernetes\n原生资源申领")),
    ("中期", "AI原生调度", ("预测作业\n时长与显存", "自动选择\nMIG 规格与队列", "依据遥测\n持续学习")),
    ("探索", "量子-经典混合", ("GPU 模拟\n量子线路", "量子处理器\n与 GPU 协同", "探索阶段\n尚未规模落地")),
)


def future_outlook(slide: Slide, box: Box, fonts: Fonts) -> None:
    """Four directions ordered from near to far, each with a maturity tag and what it brings."""
    n = len(OUTLOOK)
    gap = max(16.0, box.width * 0.03)
    cols = _columns(box, n, gap)
    trend_h = _clamp(box.height * 0.1, 32.0, 44.0)
    tag_h = _clamp(box.height * 0.08, 26.0, 34.0)
    head_h = _clamp(box.height * 0.17, 52.0, 70.0)
    tag_y = box.top
    head_y = tag_y + tag_h + 8
    chips_y = head_y + head_h + 14
    chips_h = box.top + box.height - trend_h - 12 - chips_y
    tag_w = min(cols[0][1], 110.0)
    tag_pt = common_size([(t, tag_w, tag_h) for t, _, _ in OUTLOOK], True, 14)
    head_pt = common_size([(h, w, head_h) for (_, h, _), (_, w) in zip(OUTLOOK, cols, strict=True)], True, 16)
    pad, chip_gap = 5.0, 6.0
    rows = _split(chips_y + pad, chips_h - 2 * pad, [1.0] * 3, chip_gap)
    chip_pt = common_size([(t, w - 2 * pad, rows[0][1]) for (_, _, techs), (_, w) in zip(OUTLOOK, cols, strict=True)
                           for t in techs], False, 16)
    tag_looks = {"近期落地": STRONG, "中期": TAG, "探索": Look(WHITE, MUTED, MUTED, bold=True, dashed=True)}
    prev = None
    for (tag, head, techs), (x, w) in zip(OUTLOOK, cols, strict=True):
        far = tag == "探索"
        node(slide, f"future_outlook/成熟度/{head}", x + (w - tag_w) / 2, tag_y, tag_w, tag_h, tag, fonts,
             tag_looks[tag], max_pt=tag_pt)
        hd = node(slide, f"future_outlook/方向/{head}", x, head_y, w, head_h, head, fonts,
                  OUTLINE if far else STRONG, max_pt=head_pt)
        if prev is not None:
            arrow(slide, f"future_outlook/箭头/{head}", prev, RIGHT, hd, LEFT, color=ACCENT)
        prev = hd
        panel(slide, f"future_outlook/要点栏/{head}", x, chips_y, w, chips_h,
              Look(WHITE, MUTED, INK, dashed=True) if far else Look(ZEBRA, None, INK))
        for t, (y, h) in zip(techs, rows, strict=True):
            label = t.replace("\n", "")
            node(slide, f"future_outlook/要点/{head}/{label}", x + pad, y, w - 2 * pad, h, t, fonts,
                 OLD_CHIP if far else CHIP, max_pt=chip_pt)
    node(slide, "future_outlook/趋势", box.left, box.top + box.height - trend_h, box.width, trend_h,
         "由近及远：从可落地的硬件与调度能力，到仍在探索的量子-经典协同", fonts, TAG, max_pt=16,
         shape=MSO_SHAPE.PENTAGON)


DIAGRAMS: dict[str, DiagramFn] = {
    "roadmap": roadmap,
    "metric_system": metric_system,
    "arch_sharing": arch_sharing,
    "arch_orchestration": arch_orchestration,
    "arch_data": arch_data,
    "arch_inference": arch_inference,
    "arch_resilience": arch_resilience,
    "arch_load_mgmt": arch_load_mgmt,
    "arch_rdma": arch_rdma,
    "arch_lustre": arch_lustre,
    "arch_geo": arch_geo,
    "future_outlook": future_outlook,
}
