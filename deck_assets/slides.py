"""One renderer per slide kind. Each reads the snapshot, draws the slide and records evidence."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.presentation import Presentation
from pptx.shapes.graphfrm import GraphicFrame
from pptx.slide import Slide, SlideLayout
from pptx.util import Pt

from deck_assets import measure
from deck_assets.outline import Fonts, MetricSpec, Outline, SlideSpec
from deck_assets.style import (
    ACCENT,
    ACCENT_LIGHT,
    BAD,
    GOOD,
    INK,
    INSET_X,
    INSET_Y,
    MUTED,
    WARN_FILL,
    WARN_INK,
    WHITE,
    ZEBRA,
    Box,
    add_run,
    add_text,
    hex_color,
    set_fonts,
    write_paragraphs,
)
from deck_assets.text import fill, format_change, format_number, format_ratio, sanitize, zh_scale
from deck_assets.warehouse import MART_SCHEMA, MetricValue, Snapshot, Stage

SLIDE_W, SLIDE_H = 960.0, 540.0  # points (13.333 x 7.5 in)
MARGIN = 36.0
CONTENT_W = SLIDE_W - 2 * MARGIN
BODY_TOP = 92.0
FOOTER = Box(MARGIN, 508, CONTENT_W - 90, 24)
PAGE_NO = Box(SLIDE_W - MARGIN - 90, 508, 90, 24)


@dataclass
class Evidence:
    """Every number placed on a slide, with its tier and provenance."""

    items: list[dict[str, Any]] = field(default_factory=list)

    def add(self, slide: int, text: str, value: Any, tier: str, source: str, **extra: Any) -> None:
        item = {"slide": slide, "text": text, "value": value, "tier": tier, "source": source}
        item.update(extra)
        self.items.append(item)


@dataclass
class Context:
    """What a renderer needs: the deck's data, the pool it details, and shared text values."""

    prs: Presentation
    outline: Outline
    snapshot: Snapshot
    pool: str
    values: dict[str, str]  # template placeholders
    evidence: Evidence
    slide_total: int
    simulated: bool  # any source is the simulated cluster: say so on the title slide

    @property
    def fonts(self) -> Fonts:
        return self.outline.fonts


def _layout(prs: Presentation, name: str, index: int) -> SlideLayout:
    for layout in prs.slide_layouts:
        if layout.name == name:
            return layout
    return prs.slide_layouts[index]


def _place_title(ctx: Context, slide: Slide, text: str, box: Box, max_pt: int, min_pt: int,
                 color: RGBColor = ACCENT, align: PP_ALIGN = PP_ALIGN.LEFT) -> None:
    shape = slide.shapes.title
    if shape is None:
        raise ValueError(f"layout {slide.slide_layout.name!r} has no title placeholder")
    shape.left, shape.top, shape.width, shape.height = box.emu
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame.margin_left = frame.margin_right = Pt(INSET_X)
    frame.margin_top = frame.margin_bottom = Pt(INSET_Y)
    size = measure.fit_size([text], box.width - 2 * INSET_X, box.height - 2 * INSET_Y, max_pt, min_pt,
                            bold=True)
    write_paragraphs(frame, [text], ctx.fonts, size, bold=True, color=color, align=align)


def _content_slide(ctx: Context, spec: SlideSpec, number: int) -> Slide:
    slide = ctx.prs.slides.add_slide(_layout(ctx.prs, "Title Only", 5))
    _place_title(ctx, slide, fill(spec.title, ctx.values), Box(MARGIN, 18, CONTENT_W, 58), 28, 20)
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *Box(MARGIN + INSET_X, 78, 64, 3).emu)
    bar.fill.solid()
    bar.fill.fore_color.rgb = ACCENT
    bar.line.fill.background()
    footer = measure.truncate(fill(ctx.outline.footer, ctx.values), 12, FOOTER.width - 2 * INSET_X - 4)
    add_text(slide, FOOTER, [footer], ctx.fonts, 12, color=MUTED,
             anchor=MSO_ANCHOR.MIDDLE, name="Footer")
    add_text(slide, PAGE_NO, [f"{number} / {ctx.slide_total}"], ctx.fonts, 12, color=MUTED,
             align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE, name="Page number")
    return slide


def _notes(ctx: Context, slide: Slide, spec: SlideSpec) -> None:
    if spec.notes:
        frame = slide.notes_slide.notes_text_frame
        if frame is None:
            raise ValueError("the template's notes master has no body placeholder")
        write_paragraphs(frame, [fill(spec.notes, ctx.values)], ctx.fonts, 14)


def _points(ctx: Context, slide: Slide, spec: SlideSpec, top: float, bottom: float,
            size: int = 14) -> None:
    lines = [fill(p, ctx.values) for p in spec.points]
    if not lines:
        return
    box = Box(MARGIN, top, CONTENT_W, bottom - top)
    fit = measure.fit_size(["\n".join(lines)], box.width - 2 * INSET_X, box.height - 2 * INSET_Y, size,
                           ctx.fonts.min_size_pt)
    add_text(slide, box, lines, ctx.fonts, fit, color=MUTED, name="Points")


# --- title -------------------------------------------------------------------------------------


def render_title(ctx: Context, spec: SlideSpec, number: int) -> None:
    slide = ctx.prs.slides.add_slide(_layout(ctx.prs, "Title Slide", 0))
    _place_title(ctx, slide, fill(spec.title, ctx.values), Box(60, 110, 840, 84), 40, 28)
    subtitle = next((s for s in slide.placeholders if s.placeholder_format.idx == 1), None)
    sub_box = Box(60, 196, 840, 48)
    if subtitle is not None:
        subtitle.left, subtitle.top, subtitle.width, subtitle.height = sub_box.emu
        subtitle.text_frame.word_wrap = True
        write_paragraphs(subtitle.text_frame, [fill(spec.subtitle, ctx.values)], ctx.fonts, 22, color=MUTED)
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *Box(60 + INSET_X, 256, 96, 4).emu)
    bar.fill.solid()
    bar.fill.fore_color.rgb = ACCENT
    bar.line.fill.background()
    lines = [fill(p, ctx.values) for p in spec.points]
    info = Box(60, 276, 840, 150)
    size = measure.fit_size(["\n".join(lines)], info.width - 2 * INSET_X, info.height - 2 * INSET_Y, 18,
                            ctx.fonts.min_size_pt)
    add_text(slide, info, lines, ctx.fonts, size, color=INK, space_after=4, name="Data scope")
    if ctx.simulated:
        box = Box(60, 440, 840, 44)
        banner = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, *box.emu)
        banner.name = "Simulated data notice"
        banner.fill.solid()
        banner.fill.fore_color.rgb = WARN_FILL
        banner.line.color.rgb = WARN_INK
        frame = banner.text_frame
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        write_paragraphs(frame, [ctx.outline.simulated_notice], ctx.fonts, 18, bold=True, color=WARN_INK,
                         align=PP_ALIGN.CENTER)
    slide_no = number
    for cov in ctx.snapshot.coverage:
        if cov.days is not None:
            ctx.evidence.add(slide_no, f"{cov.pool}: {format_number(cov.days, 'sig3')} 天", cov.days,
                             ctx.outline.tiers[0].name, "mart_data_coverage.days", pool=cov.pool)
        if cov.gpus is not None:
            ctx.evidence.add(slide_no, f"{cov.pool}: {format_number(cov.gpus, 'int')} GPU", cov.gpus,
                             ctx.outline.tiers[0].name, "mart_data_coverage.gpus", pool=cov.pool)
    for key, column in (("period_start", "first_ts"), ("period_end", "last_ts")):
        ctx.evidence.add(slide_no, ctx.values[key], ctx.values[key], ctx.outline.tiers[0].name,
                         f"mart_data_coverage.{column}")
    _notes(ctx, slide, spec)


# --- metric table ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    text: str
    mark: str = ""
    mark_color: str = "000000"
    bold: bool = False


def _best_stage(values: list[MetricValue | None]) -> int | None:
    known = [v for v in values if v is not None and v.value is not None and v.higher_is_better is not None]
    if len(known) < 2:
        return None
    pick = max if known[0].higher_is_better else min
    return pick(known, key=lambda v: v.value or 0.0).stage.stage_id


def _scaled(metric: MetricSpec, values: list[float | None]) -> tuple[float, str]:
    return zh_scale(values) if metric.zh_scale else (1.0, "")


def render_metric_table(ctx: Context, spec: SlideSpec, number: int) -> None:
    slide = _content_slide(ctx, spec, number)
    stages = ctx.snapshot.stages(ctx.pool)
    headers = {"metric": "指标", "unit": "单位", "tier": "证据等级", **spec.binds.get("headers", {})}
    rows: list[list[_Cell]] = [
        [_Cell(headers["metric"]), _Cell(headers["unit"])]
        + [_Cell(sanitize(s.name_zh, max_len=24)) for s in stages] + [_Cell(headers["tier"])]
    ]
    for key in spec.binds["metrics"]:
        found = [ctx.snapshot.value(ctx.pool, key, s.stage_id) for s in stages]
        unit_hint = next((v.unit for v in found if v is not None), "")
        metric = ctx.outline.metric(key, unit_hint)
        divisor, prefix = _scaled(metric, [v.value if v else None for v in found])
        unit = f"{prefix} {metric.unit}".strip() if prefix else metric.unit
        best = _best_stage(found) if spec.binds.get("bold_best") else None
        row = [_Cell(metric.label), _Cell(unit)]
        tiers: list[str] = []
        for stage, mv in zip(stages, found, strict=True):
            tier_name = mv.evidence_tier if mv else ctx.outline.tiers[-1].name
            tier = ctx.outline.tier(tier_name)
            tiers.append(tier_name)
            raw = mv.value if mv else None
            text = format_number(None if raw is None else raw / divisor, metric.format,
                                 ctx.outline.missing_value)
            row.append(_Cell(text, tier.mark, tier.color, bold=best == stage.stage_id))
            source = mv.source_ref if mv and mv.source_ref else f"mart_stage_comparison.{key}"
            ctx.evidence.add(number, f"{metric.label} · {stage.name_zh}: {text} {unit}".strip(), raw,
                             tier_name, source,
                             pool=ctx.pool, stage_key=stage.stage_key, metric=key,
                             value_source=mv.value_source if mv else "missing")
        present = [t.name for t in ctx.outline.tiers if t.name in tiers]
        present += [t for t in dict.fromkeys(tiers) if t not in present]
        row.append(_Cell("、".join(present)))
        rows.append(row)
    table_bottom = _draw_table(ctx, slide, rows, bottom=FOOTER.top - 64)
    _tier_legend(ctx, slide, Box(MARGIN, table_bottom + 8, CONTENT_W, 26))
    _points(ctx, slide, spec, table_bottom + 34, FOOTER.top - 2, size=12)
    _notes(ctx, slide, spec)


def _draw_table(ctx: Context, slide: Slide, rows: list[list[_Cell]], bottom: float, *,
                name: str = "Stage comparison table", fit_cols: tuple[int, ...] = (0, 1)) -> float:
    """Draw the table at the largest font size whose rows fit above ``bottom``; return its bottom edge.

    The ``fit_cols`` (label and unit) take their measured width, the last (tier) column the widest
    single tier name (several tiers wrap), and the other (value) columns share the rest; headers wrap
    to two lines. Columns 2.. except the last are right-aligned values.
    """
    fonts = ctx.fonts
    keep = ctx.outline.keep_together
    n_cols = len(rows[0])
    shared = [c for c in range(n_cols - 1) if c not in fit_cols]
    pad = 2 * INSET_X + 4  # insets plus slack for renderer differences

    def cell_text(cell: _Cell) -> str:
        return cell.text + (" " + cell.mark if cell.mark else "")

    def col_width(col: int, size: int) -> float:
        return max(measure.text_width_pt(cell_text(r[col]), size, bold=True) for r in rows[1:]) + pad

    layout: tuple[int, list[float], list[float]] | None = None
    for size in range(15, fonts.min_size_pt - 1, -1):
        tier_names = [t.name for t in ctx.outline.tiers] + [rows[0][-1].text]
        tier_w = max(measure.text_width_pt(n, size, bold=True) for n in tier_names) + pad
        fixed = {c: col_width(c, size) for c in fit_cols}
        share_w = (CONTENT_W - sum(fixed.values()) - tier_w) / max(len(shared), 1)
        widths = [fixed.get(c, share_w) for c in range(n_cols - 1)] + [tier_w]
        heights = []
        for r_i, row in enumerate(rows):
            lines = max(len(measure.wrap(cell_text(c), size, w - pad, r_i == 0 or c.bold, keep))
                        for c, w in zip(row, widths, strict=True))
            heights.append(lines * measure.line_height_pt(size) + 2 * INSET_Y + 2)
        layout = (size, widths, heights)
        # a value never wraps inside its cell: the shared columns must hold the widest one
        values_fit = not shared or share_w >= max(col_width(c, size) for c in shared)
        if BODY_TOP + sum(heights) <= bottom and values_fit:
            break
    assert layout is not None
    chosen, widths, heights = layout
    table_box = Box(MARGIN, BODY_TOP, sum(widths), sum(heights))
    graphic = slide.shapes.add_table(len(rows), len(rows[0]), *table_box.emu)
    graphic.name = name
    table = graphic.table
    table.first_row = True
    table.horz_banding = False
    for i, w in enumerate(widths):
        table.columns[i].width = Pt(w)
    for r_i, h in enumerate(heights):
        table.rows[r_i].height = Pt(h)
    for r_i, row in enumerate(rows):
        for c_i, cell_data in enumerate(row):
            cell = table.cell(r_i, c_i)
            cell.margin_left = cell.margin_right = Pt(INSET_X)
            cell.margin_top = cell.margin_bottom = Pt(INSET_Y)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            cell.fill.solid()
            header = r_i == 0
            cell.fill.fore_color.rgb = ACCENT if header else (ZEBRA if r_i % 2 == 0 else WHITE)
            frame = cell.text_frame
            frame.word_wrap = True
            is_value = not header and 2 <= c_i < len(row) - 1
            text_lines = measure.balanced_wrap(cell_data.text, chosen, widths[c_i] - pad, True, keep) \
                if header else [cell_data.text]
            write_paragraphs(frame, text_lines, fonts, chosen, bold=header or cell_data.bold,
                             color=WHITE if header else (MUTED if c_i == 1 else INK),
                             align=PP_ALIGN.RIGHT if is_value else (PP_ALIGN.CENTER if header and c_i >= 2
                                                                    else PP_ALIGN.LEFT))
            if cell_data.mark:
                add_run(frame.paragraphs[0], " " + cell_data.mark, fonts, chosen,
                        color=hex_color(cell_data.mark_color))
    return BODY_TOP + sum(heights)


def _tier_legend(ctx: Context, slide: Slide, box: Box) -> None:
    shape = add_text(slide, box, [ctx.outline.tier_legend_title + "："], ctx.fonts, 12, color=MUTED,
                     name="Tier legend")
    paragraph = shape.text_frame.paragraphs[0]
    for tier in ctx.outline.tiers:
        if tier.mark:
            add_run(paragraph, f"{tier.mark} ", ctx.fonts, 12, bold=True, color=hex_color(tier.color))
        note = "，".join(n for n in (tier.note, "" if tier.mark else ctx.outline.no_mark) if n)
        add_run(paragraph, tier.name, ctx.fonts, 12, bold=True, color=hex_color(tier.color))
        add_run(paragraph, f"（{note}）　" if note else "　", ctx.fonts, 12, color=MUTED)


# --- bar chart ---------------------------------------------------------------------------------


def _tier_for(ctx: Context, column: str, stage: Stage) -> tuple[str, str]:
    mv = ctx.snapshot.value(ctx.pool, column, stage.stage_id)
    if mv is not None:
        return mv.evidence_tier, mv.source_ref or f"mart_stage_metrics.{column}"
    return ctx.outline.tiers[0].name, f"mart_stage_metrics.{column}"


def render_bar_chart(ctx: Context, spec: SlideSpec, number: int) -> None:
    slide = _content_slide(ctx, spec, number)
    stages = ctx.snapshot.stages(ctx.pool)
    rows = ctx.snapshot.stage_metrics.get(ctx.pool, {})
    number_format = str(spec.binds.get("number_format", "0.0"))
    data = CategoryChartData(number_format=number_format)
    data.categories = [sanitize(s.name_zh, max_len=24) for s in stages]
    for series in spec.binds["series"]:
        column = str(series["column"])
        metric = ctx.outline.metric(column)
        values: list[float | None] = []
        for stage in stages:
            raw = rows.get(stage.stage_id, {}).get(column)
            value = None if raw is None or (isinstance(raw, float) and math.isnan(raw)) else float(raw)
            values.append(value)
            tier, source = _tier_for(ctx, column, stage)
            shown = format_number(value, metric.format, ctx.outline.missing_value)
            ctx.evidence.add(number, f"{series['label']} · {stage.name_zh}: {shown} {metric.unit}".strip(),
                             value, tier, source, pool=ctx.pool, stage_key=stage.stage_key, metric=column)
        data.add_series(sanitize(series["label"]), values)
    box = Box(MARGIN, BODY_TOP, CONTENT_W, 340)
    # python-pptx's annotations say add_chart takes ChartData and returns a Chart; it accepts any
    # chart data and returns the GraphicFrame.
    added = slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, *box.emu, data)  # type: ignore[arg-type]
    graphic = cast(GraphicFrame, added)
    graphic.name = "Stage chart"
    chart = graphic.chart
    chart.font.size = Pt(max(12, ctx.fonts.min_size_pt))
    set_fonts(chart._chartSpace.txPr.find(qn("a:p")).find(qn("a:pPr")).find(qn("a:defRPr")), ctx.fonts)
    chart.has_legend = True
    chart.legend.position = XL_LEGEND_POSITION.TOP
    chart.legend.include_in_layout = False
    plot = chart.plots[0]
    plot.gap_width = 60
    plot.overlap = -10
    plot.has_data_labels = True
    labels = plot.data_labels
    labels.number_format = number_format
    labels.number_format_is_linked = False
    labels.position = XL_LABEL_POSITION.OUTSIDE_END
    labels.font.size = Pt(max(12, ctx.fonts.min_size_pt))
    axis_spec = spec.binds.get("value_axis") or {}
    value_axis = chart.value_axis
    if "min" in axis_spec:
        value_axis.minimum_scale = float(axis_spec["min"])
    if "max" in axis_spec:
        value_axis.maximum_scale = float(axis_spec["max"])
    value_axis.has_major_gridlines = True
    value_axis.major_gridlines.format.line.color.rgb = ACCENT_LIGHT
    value_axis.tick_labels.number_format = "0"
    value_axis.tick_labels.number_format_is_linked = False
    if axis_spec.get("title"):
        value_axis.has_title = True
        frame = value_axis.axis_title.text_frame
        write_paragraphs(frame, [str(axis_spec["title"])], ctx.fonts, 12, color=MUTED)
    chart.category_axis.tick_labels.font.size = Pt(max(12, ctx.fonts.min_size_pt))
    _points(ctx, slide, spec, BODY_TOP + 348, 500)
    _notes(ctx, slide, spec)


# --- delta cards -------------------------------------------------------------------------------


def render_delta_cards(ctx: Context, spec: SlideSpec, number: int) -> None:
    slide = _content_slide(ctx, spec, number)
    _points(ctx, slide, spec, BODY_TOP - 6, BODY_TOP + 24, size=16)
    stages = ctx.snapshot.stages(ctx.pool)
    last = stages[-1] if stages else None
    keys = list(spec.binds["metrics"])
    cols = 3 if len(keys) > 4 else max(len(keys), 1)
    n_rows = math.ceil(len(keys) / cols)
    gap, top, bottom = 16.0, BODY_TOP + 32, 496.0
    card_w = (CONTENT_W - gap * (cols - 1)) / cols
    card_h = (bottom - top - gap * (n_rows - 1)) / max(n_rows, 1)
    for i, key in enumerate(keys):
        box = Box(MARGIN + (i % cols) * (card_w + gap), top + (i // cols) * (card_h + gap), card_w, card_h)
        mv = ctx.snapshot.value(ctx.pool, key, last.stage_id) if last else None
        _delta_card(ctx, slide, spec, box, key, mv, number)
    _notes(ctx, slide, spec)


def _delta_card(ctx: Context, slide: Slide, spec: SlideSpec, box: Box, key: str, mv: MetricValue | None,
                number: int) -> None:
    metric = ctx.outline.metric(key, mv.unit if mv else "")
    card = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, *box.emu)
    card.name = f"Delta {key}"
    card.adjustments[0] = 0.06
    card.fill.solid()
    card.fill.fore_color.rgb = ZEBRA
    card.line.color.rgb = ACCENT_LIGHT
    inner = Box(box.left + 10, box.top + 8, box.width - 20, box.height - 16)
    missing = ctx.outline.missing_value
    change = mv.change_vs_baseline_percent if mv else None
    improved = None
    if mv is not None and change is not None and mv.higher_is_better is not None and change != 0:
        improved = (change > 0) == mv.higher_is_better
    colour = MUTED if improved is None else (GOOD if improved else BAD)
    divisor, prefix = _scaled(metric, [mv.baseline_value, mv.value] if mv else [])
    unit = f"{prefix} {metric.unit}".strip() if prefix else metric.unit

    def shown(v: float | None) -> str:
        return format_number(None if v is None else v / divisor, metric.format, missing)

    values_line = fill(str(spec.binds.get("value_text", "{baseline} → {value} {unit}")),
                       {"baseline": shown(mv.baseline_value if mv else None),
                        "value": shown(mv.value if mv else None), "unit": unit})
    ratio = format_ratio(mv.ratio_to_baseline if mv else None, missing)
    ratio_line = fill(str(spec.binds.get("ratio_text", "{ratio}")), {"ratio": ratio})
    tier_name = mv.evidence_tier if mv else ctx.outline.tiers[-1].name
    baseline_mv = ctx.snapshot.value(ctx.pool, key, 0)
    if baseline_mv is not None:
        tier_name = ctx.outline.weakest_tier([tier_name, baseline_mv.evidence_tier])
    tier = ctx.outline.tier(tier_name)

    label = measure.fit_size([metric.label], inner.width - 2 * INSET_X, 30, 18, 12, bold=True, max_lines=1)
    add_text(slide, Box(inner.left, inner.top, inner.width, 30), [metric.label], ctx.fonts, label, bold=True)
    big = change_text = format_change(change, missing)
    big_size = measure.fit_size([big], inner.width - 2 * INSET_X, inner.height * 0.42, 40, 20, bold=True,
                                max_lines=1)
    add_text(slide, Box(inner.left, inner.top + 30, inner.width, inner.height * 0.42), [big], ctx.fonts,
             big_size, bold=True, color=colour, anchor=MSO_ANCHOR.MIDDLE)
    detail_top = inner.top + 30 + inner.height * 0.42
    detail = add_text(slide, Box(inner.left, detail_top, inner.width, inner.top + inner.height - detail_top),
                      [values_line, ratio_line + " · "], ctx.fonts, 13, color=MUTED,
                      anchor=MSO_ANCHOR.BOTTOM)
    tier_text = (tier.mark + " " if tier.mark else "") + tier.name
    add_run(detail.text_frame.paragraphs[1], tier_text, ctx.fonts, 13, color=hex_color(tier.color))

    stage_key = mv.stage.stage_key if mv else ""
    extra = {"pool": ctx.pool, "metric": key, "stage_key": stage_key}
    source = mv.source_ref if mv and mv.source_ref else f"mart_stage_comparison.{key}"
    ctx.evidence.add(number, f"{metric.label} 变化: {change_text}", change, tier_name,
                     "mart_stage_comparison.change_vs_baseline_percent", **extra)
    ctx.evidence.add(number, f"{metric.label} 基线: {shown(mv.baseline_value if mv else None)} {unit}",
                     mv.baseline_value if mv else None,
                     baseline_mv.evidence_tier if baseline_mv else tier_name,
                     "mart_stage_comparison.baseline_value", **extra)
    ctx.evidence.add(number, f"{metric.label}: {shown(mv.value if mv else None)} {unit}",
                     mv.value if mv else None, mv.evidence_tier if mv else tier_name, source, **extra)
    ctx.evidence.add(number, f"{metric.label} 倍数: {ratio}", mv.ratio_to_baseline if mv else None, tier_name,
                     "mart_stage_comparison.ratio_to_baseline", **extra)


# --- lab evidence ------------------------------------------------------------------------------


def _lab_rows(ctx: Context, spec: SlideSpec) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(factor spec, mart row) in the outline's factor order: the latest experiment of each factor."""
    latest: dict[str, dict[str, Any]] = {}
    for row in sorted(ctx.snapshot.lab_comparisons, key=lambda r: str(r["experiment_id"])):
        latest[str(row["factor"])] = row
    return [(f, latest[str(f["factor"])]) for f in spec.binds["factors"] if str(f["factor"]) in latest]


def _variant(factor: dict[str, Any], variant: str | None) -> str:
    """How a variant reads: translated when the outline names it, else the part after '=' (batch=128 -> 128)."""
    text = str(variant or "")
    names = factor.get("variants") or {}
    return str(names.get(text, text.split("=", 1)[-1]))


def render_lab_evidence(ctx: Context, spec: SlideSpec, number: int) -> None:
    """One row per lab factor (marts.mart_lab_comparisons): ratios and baseline -> treatment rates, each
    marked with the lab tier; without lab data, a plain statement and no numbers."""
    binds = spec.binds
    mart = f"{MART_SCHEMA}.{binds['mart']}"
    phases_mart = f"{MART_SCHEMA}.{binds.get('experiments_mart', 'mart_lab_experiments')}"
    missing = ctx.outline.missing_value
    tier = ctx.outline.tier(str(binds["tier"]))
    found = _lab_rows(ctx, spec)
    slide = _content_slide(ctx, spec, number)
    if not found:
        add_text(slide, Box(MARGIN, BODY_TOP + 8, CONTENT_W, 120), [str(binds["empty_text"])], ctx.fonts, 20,
                 color=INK, name="No lab data")
        _notes(ctx, slide, replace(spec, notes=str(binds.get("empty_notes", binds["empty_text"]))))
        return

    experiments = sorted({str(r["experiment_id"]) for _, r in found})
    phases = [p for p in ctx.snapshot.lab_experiments if p["experiment_id"] in experiments]
    gpus = len({p["gpu_uuid"] for p in phases if p["gpu_uuid"]}) or None
    caveat = next((p for p in sorted(phases, key=lambda p: str(p["experiment_id"]), reverse=True)
                   if p["phase"] == binds.get("caveat_phase")), None)
    caveat_util = caveat["gpu_util_pct"] if caveat else None
    caveat_sm = caveat["sm_active_pct"] if caveat else None
    lab_values = {
        "lab_gpus": format_number(gpus, "int", missing),
        "lab_gpu_model": "、".join(sorted({str(p["model_name"]) for p in phases if p["model_name"]})) or missing,
        "lab_pool": "、".join(sorted({str(r["pool"]) for _, r in found})),
        "lab_experiments": "、".join(experiments),
        "caveat_phase": str(binds.get("caveat_phase", "")),
        "caveat_gpu_util": format_number(caveat_util, "d1", missing),
        "caveat_sm_active": format_number(caveat_sm, "d1", missing),
    }
    lab_ctx = replace(ctx, values={**ctx.values, **lab_values})
    if gpus is not None:
        ctx.evidence.add(number, f"{lab_values['lab_gpus']} 块 {lab_values['lab_gpu_model']}", gpus, tier.name,
                         f"{phases_mart}.gpu_uuid", aggregate="count distinct", experiment_id=experiments,
                         place="points")
    if caveat is not None:
        for column, value in (("gpu_util_pct", caveat_util), ("sm_active_pct", caveat_sm)):
            ctx.evidence.add(number, f"{caveat['phase']} {column}: {format_number(value, 'd1', missing)}%",
                             value, tier.name, f"{phases_mart}.{column}", experiment_id=caveat["experiment_id"],
                             pool=caveat["pool"], phase=caveat["phase"], place="notes")

    headers = binds["headers"]
    ratios = list(binds["ratios"])
    rates = binds["rates"]
    rows: list[list[_Cell]] = [[_Cell(headers["factor"]), _Cell(headers["comparison"])]
                               + [_Cell(str(r["header"])) for r in ratios]
                               + [_Cell(headers["rates"]), _Cell(headers["tier"])]]
    for factor, row in found:
        label = str(factor["label"])
        extra = {"experiment_id": row["experiment_id"], "pool": row["pool"], "factor": row["factor"]}
        treatment, baseline = _variant(factor, row["treatment_variant"]), _variant(factor, row["baseline_variant"])
        comparison = fill(str(factor["comparison"]), {"treatment": treatment, "baseline": baseline})
        cells = [_Cell(label), _Cell(comparison)]
        for side, shown in (("treatment_variant", treatment), ("baseline_variant", baseline)):
            ctx.evidence.add(number, f"{label} · {comparison} · {side}: {shown}", row[side], tier.name,
                             f"{mart}.{side}", **extra)
        for ratio in ratios:
            column = str(ratio["column"])
            text = format_number(row[column], str(binds.get("ratio_format", "sig3")), missing)
            cells.append(_Cell(text, tier.mark, tier.color))
            ctx.evidence.add(number, f"{label} · {ratio['header']}: {text}", row[column], tier.name,
                             f"{mart}.{column}", **extra)
        unit = str((binds.get("units") or {}).get(row["work_unit"], f"{row['work_unit'] or ''}/s"))
        shown = {side: format_number(row[rates[side]], str(rates.get("format", "sig3")), missing)
                 for side in ("baseline", "treatment")}
        cells.append(_Cell(fill(str(rates["text"]), {**shown, "unit": unit}), tier.mark, tier.color))
        for side, variant in (("baseline", baseline), ("treatment", treatment)):
            ctx.evidence.add(number, f"{label} · {side} {variant}: {shown[side]} {unit}", row[rates[side]],
                             tier.name, f"{mart}.{rates[side]}", **extra)
        cells.append(_Cell(tier.name))
        rows.append(cells)
    table_bottom = _draw_table(ctx, slide, rows, bottom=FOOTER.top - 84, name="Lab comparison table",
                               fit_cols=(0, 1, len(rows[0]) - 2))
    _tier_legend(ctx, slide, Box(MARGIN, table_bottom + 8, CONTENT_W, 26))
    _points(lab_ctx, slide, spec, table_bottom + 38, FOOTER.top - 2)
    _notes(lab_ctx, slide, spec)


RENDERERS: dict[str, Callable[[Context, SlideSpec, int], None]] = {
    "title": render_title,
    "metric_table": render_metric_table,
    "bar_chart": render_bar_chart,
    "delta_cards": render_delta_cards,
    "lab_evidence": render_lab_evidence,
}
