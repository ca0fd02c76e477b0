"""Kind `chart`: native, editable python-pptx charts bound to a mart (never images).

``binds`` (see the README): ``layout: right|full`` as the diagram kind, and either one chart spec inline or
``charts: [spec, ...]`` (stacked top to bottom in the chart box). A spec:

- ``mart``: one of ``warehouse.CHART_MARTS``, rows of the detailed pool; ``where: {column: value}`` filters them.
- ``x``: ``stage`` (categories = the mart's ``stage_name_zh`` by ``stage_id``), ``local_hour`` (0..23 from
  ``local_hour_of_day``) or ``date`` (days grouped under their stage: a two-level category axis, the stage bands).
- ``series``: ``[{column, name}]``, or ``series_by: {column, value, names: {key: 中文名}}`` (one series per key of
  ``names``, in that order, values from ``value``).
- ``type``: ``column`` (default), ``column_stacked``, ``line``, ``area_stacked``; ``scale`` multiplies the values
  (e.g. 100 for a share), ``number_format`` (default ``0.0``), ``labels`` (true / false; default: shown when
  the chart has at most ``LABELS_MAX_POINTS`` points), ``value_axis: {title, min, max, log}``,
  ``category_axis: {title}``, ``title`` (a small chart title), ``tier`` (default the pool's measured tier: 集群实测,
  or 仿真 for a simulated pool),
  or ``tier_column`` (each point's tier from that column of its row; with ``tier_with_baseline: true`` the
  weaker of it and the baseline row's, for ratios to the baseline), ``stage_labels`` (x ``stage``: short
  category names by stage id, e.g. [基线, 阶段一, ...]).

Every plotted value is in the evidence (``place: chart``, source ``marts.<mart>.<column>``); data labels show
exactly those values. No rows (or no values) for the pool: the chart's box says ``deck.missing_value``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, cast

from lxml import etree
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.shapes.graphfrm import GraphicFrame
from pptx.slide import Slide
from pptx.util import Pt

from deck_assets.outline import OutlineError, SlideSpec
from deck_assets.slides import Context, _notes, visual_slide
from deck_assets.style import ACCENT_LIGHT, MUTED, Box, add_text, set_fonts, write_paragraphs
from deck_assets.text import sanitize
from deck_assets.warehouse import MART_SCHEMA, WarehouseError

CHART_TYPES = {
    "column": XL_CHART_TYPE.COLUMN_CLUSTERED,
    "column_stacked": XL_CHART_TYPE.COLUMN_STACKED,
    "line": XL_CHART_TYPE.LINE_MARKERS,
    "area_stacked": XL_CHART_TYPE.AREA_STACKED,
}
X_KINDS = ("stage", "local_hour", "date")
LABELS_MAX_POINTS = 16  # data labels by default only on charts with this many points or fewer
FONT_PT = 12
PALETTE = ("1F4E79", "C2410C", "0F766E", "9A5B00", "6D28D9", "6B7280")
STAGE_BAND_FILL = "F1F5F9"


def _clean(raw: Any) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(value) or math.isinf(value) else value


def _specs(spec: SlideSpec) -> list[dict[str, Any]]:
    charts = spec.binds.get("charts")
    if charts is None:
        return [spec.binds]
    if not isinstance(charts, list) or not charts or not all(isinstance(c, dict) for c in charts):
        raise OutlineError(f"slide {spec.id}: binds.charts must be a non-empty list of chart specs")
    return charts


def _validate(spec: SlideSpec, chart: dict[str, Any]) -> None:
    where = f"slide {spec.id}: binds"
    if not chart.get("mart"):
        raise OutlineError(f"{where}: missing field 'mart'")
    if str(chart.get("x", "stage")) not in X_KINDS:
        raise OutlineError(f"{where}.x: {chart.get('x')!r} is not one of {X_KINDS}")
    if str(chart.get("type", "column")) not in CHART_TYPES:
        raise OutlineError(f"{where}.type: {chart.get('type')!r} is not one of {sorted(CHART_TYPES)}")
    if not chart.get("series") and not chart.get("series_by"):
        raise OutlineError(f"{where}: a chart needs 'series' or 'series_by'")


# --- data ---------------------------------------------------------------------------------------


class _Data:
    """Categories (leaf labels, with their group for date charts), series and per-point provenance."""

    def __init__(self) -> None:
        self.categories: list[str] = []
        self.groups: list[str] = []  # date charts: the stage of each category
        self.rows: list[dict[str, Any] | None] = []  # one row per category (for stage_key / date), or None
        self.series: list[tuple[str, str, list[float | None]]] = []  # (name, column, values)
        self.tiers: list[list[str | None]] = []  # per series, per category: the point's tier (tier_column)

    @property
    def points(self) -> int:
        return sum(1 for _, _, vs in self.series for v in vs if v is not None)


def _columns(chart: dict[str, Any]) -> tuple[str, ...]:
    x = str(chart.get("x", "stage"))
    cols = {"stage": ("stage_id", "stage_name_zh"), "local_hour": ("local_hour_of_day",),
            "date": ("date", "stage_id", "stage_name_zh")}[x]
    cols += tuple(str(k) for k in (chart.get("where") or {}))
    if chart.get("tier_column"):
        cols += (str(chart["tier_column"]),)
    if chart.get("series_by"):
        by = chart["series_by"]
        cols += (str(by["column"]), str(by["value"]))
    else:
        cols += tuple(str(s["column"]) for s in chart["series"])
    return tuple(dict.fromkeys(cols))


def _matches(row: dict[str, Any], where: dict[str, Any]) -> bool:
    return all(str(row[k]) == str(v) if not isinstance(v, bool) else row[k] is v or row[k] == v
               for k, v in where.items())


def _load(ctx: Context, chart: dict[str, Any]) -> _Data:
    mart = str(chart["mart"])
    rows = ctx.snapshot.mart_rows(mart, ctx.pool, _columns(chart))
    rows = [r for r in rows if _matches(r, chart.get("where") or {})]
    x = str(chart.get("x", "stage"))
    scale = float(chart.get("scale", 1))
    data = _Data()
    by = chart.get("series_by")
    series_defs: list[tuple[str, str, str | None]]  # (name, value column, series key)
    if by:
        names = by.get("names") or {}
        series_defs = [(str(n), str(by["value"]), str(k)) for k, n in names.items()]
    else:
        series_defs = [(str(s.get("name", s["column"])), str(s["column"]), None) for s in chart["series"]]

    def key_of(row: dict[str, Any]) -> Any:
        if x == "stage":
            return int(row["stage_id"])
        if x == "local_hour":
            return int(row["local_hour_of_day"])
        value = row["date"]
        return value.date() if isinstance(value, dt.datetime) else value

    keyed: dict[Any, list[dict[str, Any]]] = {}
    x_column = _columns(chart)[0]
    for row in rows:
        if row[x_column] is None:
            continue
        keyed.setdefault(key_of(row), []).append(row)
    keys = sorted(keyed) if x != "local_hour" else (list(range(24)) if keyed else [])
    stage_labels = [str(s) for s in chart.get("stage_labels") or []]
    for key in keys:
        group = keyed.get(key, [])
        first = group[0] if group else None
        if x == "stage":
            fallback = str(first["stage_name_zh"]) if first else str(key)
            name = stage_labels[key] if key < len(stage_labels) else fallback
            data.categories.append(sanitize(name, max_len=24))
        elif x == "local_hour":
            data.categories.append(str(key))
        else:
            data.categories.append(f"{key.month}/{key.day}")
            data.groups.append(sanitize(str(first["stage_name_zh"]), max_len=24) if first else "")
        data.rows.append(first)
    tier_column = chart.get("tier_column")
    for name, column, series_key in series_defs:
        values: list[float | None] = []
        tiers: list[str | None] = []
        for key in keys:
            group = keyed.get(key, [])
            if series_key is not None:
                group = [r for r in group if str(r[str(by["column"])]) == series_key]  # type: ignore[index]
            if len(group) > 1:
                raise WarehouseError(f"{ctx.snapshot.warehouse_path}: {MART_SCHEMA}.{mart} has {len(group)} rows "
                                     f"for {key!r} of pool {ctx.pool} (narrow binds.where)")
            raw = _clean(group[0][column]) if group else None
            values.append(None if raw is None else raw * scale)
            tiers.append(str(group[0][tier_column]) if group and tier_column and group[0][tier_column] else None)
        if tier_column and chart.get("tier_with_baseline") and keys and x == "stage" and keys[0] == 0:
            baseline = tiers[0]
            tiers = [ctx.outline.weakest_tier([t, baseline]) if t and baseline else t for t in tiers]
        data.series.append((sanitize(name, max_len=40), column, values))
        data.tiers.append(tiers)
    return data


# --- drawing ------------------------------------------------------------------------------------


def _font_all(chart_part: Any, ctx: Context) -> None:
    """Every default-run / run property in the chart: 12 pt or more, Latin and East Asian fonts."""
    for node in chart_part.iter(qn("a:defRPr"), qn("a:rPr")):
        size = node.get("sz")
        if size is None or int(size) < FONT_PT * 100:
            node.set("sz", str(FONT_PT * 100))
        set_fonts(node, ctx.fonts)


def _axis_title(axis: Any, text: str, ctx: Context) -> None:
    axis.has_title = True
    write_paragraphs(axis.axis_title.text_frame, [text], ctx.fonts, FONT_PT, color=MUTED)


def _log_scale(value_axis: Any) -> None:
    scaling = value_axis._element.find(qn("c:scaling"))
    if scaling is not None and scaling.find(qn("c:logBase")) is None:
        log = etree.SubElement(scaling, qn("c:logBase"))
        log.set("val", "10")
        scaling.remove(log)
        scaling.insert(0, log)


def _empty(ctx: Context, slide: Slide, box: Box, title: str) -> None:
    lines = [title, ctx.outline.missing_value] if title else [ctx.outline.missing_value]
    add_text(slide, box, lines, ctx.fonts, 20, color=MUTED, align=PP_ALIGN.CENTER, anchor=MSO_ANCHOR.MIDDLE,
             name="No chart data")


def _draw(ctx: Context, slide: Slide, spec: SlideSpec, chart_spec: dict[str, Any], box: Box, number: int,
          index: int) -> None:
    data = _load(ctx, chart_spec)
    title = sanitize(str(chart_spec.get("title") or ""))
    if not data.categories or data.points == 0:
        _empty(ctx, slide, box, title)
        return
    number_format = str(chart_spec.get("number_format", "0.0"))
    x = str(chart_spec.get("x", "stage"))
    chart_data = CategoryChartData(number_format=number_format)
    if x == "date":
        parents: dict[str, Any] = {}
        last = None
        for group, leaf in zip(data.groups, data.categories, strict=True):
            if group != last:
                parents[f"{len(parents)}"] = chart_data.add_category(group)
                last = group
            parents[f"{len(parents) - 1}"].add_sub_category(leaf)
    else:
        chart_data.categories = data.categories
    for name, _, values in data.series:
        chart_data.add_series(name, values)
    kind = str(chart_spec.get("type", "column"))
    graphic = cast(GraphicFrame, slide.shapes.add_chart(CHART_TYPES[kind], *box.emu, chart_data))
    graphic.name = f"Chart {chart_spec['mart']}" + (f" {index + 1}" if index else "")
    chart = graphic.chart
    chart.font.size = Pt(FONT_PT)
    if title:
        chart.has_title = True
        write_paragraphs(chart.chart_title.text_frame, [title], ctx.fonts, 14, bold=True, color=MUTED)
    else:
        chart.has_title = False
    chart.has_legend = len(data.series) > 1
    if chart.has_legend:
        chart.legend.position = XL_LEGEND_POSITION.TOP
        chart.legend.include_in_layout = False
        chart.legend.font.size = Pt(FONT_PT)
    plot = chart.plots[0]
    if kind.startswith("column"):
        plot.gap_width = 60 if kind == "column" else 40
        if kind == "column":
            plot.overlap = -10
    for i, series in enumerate(plot.series):
        colour = RGBColor.from_string(PALETTE[i % len(PALETTE)])
        if kind == "line":
            series.format.line.color.rgb = colour
            series.format.line.width = Pt(2.25)
            series.smooth = False
            series.marker.format.fill.solid()
            series.marker.format.fill.fore_color.rgb = colour
            series.marker.format.line.color.rgb = colour
            series.marker.size = 5
        else:
            series.format.fill.solid()
            series.format.fill.fore_color.rgb = colour
    labels = chart_spec.get("labels")
    show_labels = data.points <= LABELS_MAX_POINTS if labels is None else bool(labels)
    if show_labels:
        plot.has_data_labels = True
        dl = plot.data_labels
        dl.number_format = number_format
        dl.number_format_is_linked = False
        dl.show_value = True
        dl.font.size = Pt(FONT_PT)
        if kind == "column":
            dl.position = XL_LABEL_POSITION.OUTSIDE_END
        elif kind == "line":
            dl.position = XL_LABEL_POSITION.ABOVE
    axis_spec = chart_spec.get("value_axis") or {}
    value_axis = chart.value_axis
    if axis_spec.get("log"):
        _log_scale(value_axis)
    if "min" in axis_spec:
        value_axis.minimum_scale = float(axis_spec["min"])
    if "max" in axis_spec:
        value_axis.maximum_scale = float(axis_spec["max"])
    value_axis.has_major_gridlines = True
    value_axis.major_gridlines.format.line.color.rgb = ACCENT_LIGHT
    value_axis.tick_labels.number_format = str(axis_spec.get("number_format", "#,##0"))
    value_axis.tick_labels.number_format_is_linked = False
    value_axis.tick_labels.font.size = Pt(FONT_PT)
    if axis_spec.get("title"):
        _axis_title(value_axis, str(axis_spec["title"]), ctx)
    category_axis = chart.category_axis
    category_axis.tick_labels.font.size = Pt(FONT_PT)
    category_axis.has_major_gridlines = False
    cat_spec = chart_spec.get("category_axis") or {}
    if cat_spec.get("title"):
        _axis_title(category_axis, str(cat_spec["title"]), ctx)
    if x == "local_hour":
        skip = etree.SubElement(category_axis._element, qn("c:tickLblSkip"))
        skip.set("val", str(int(cat_spec.get("label_every", 2))))
        category_axis._element.remove(skip)
        _insert_after(category_axis._element, skip, ("c:lblOffset", "c:lblAlgn", "c:auto", "c:tickLblPos",
                                                     "c:crosses", "c:crossAx"))
    _font_all(chart._chartSpace, ctx)
    _record(ctx, spec, chart_spec, data, number, number_format)


def _insert_after(parent: Any, child: Any, after: tuple[str, ...]) -> None:
    """Insert ``child`` after the last existing element among ``after`` (schema order)."""
    for tag in after:
        found = parent.findall(qn(tag))
        if found:
            found[-1].addnext(child)
            return
    parent.append(child)


def _decimals(number_format: str) -> int:
    return len(number_format.split(".", 1)[1].rstrip("%")) if "." in number_format else 0


def _record(ctx: Context, spec: SlideSpec, chart_spec: dict[str, Any], data: _Data, number: int,
            number_format: str) -> None:
    mart = str(chart_spec["mart"])
    default_tier = str(chart_spec.get("tier") or ctx.measured_tier)
    unit = str(chart_spec.get("unit", ""))
    decimals = _decimals(number_format)
    known_tiers = {t.name for t in ctx.outline.tiers}
    for (name, column, values), tiers in zip(data.series, data.tiers, strict=True):
        for category, group, row, value, point_tier in zip(data.categories, data.groups or [""] * len(data.categories),
                                                           data.rows, values, tiers, strict=True):
            if value is None:
                continue
            tier = point_tier or default_tier
            if tier not in known_tiers:
                raise OutlineError(f"slide {spec.id}: chart tier {tier!r} is not one of the outline's tiers")
            shown = f"{value:,.{decimals}f}"
            where = f"{group} {category}".strip()
            extra: dict[str, Any] = {"pool": ctx.pool, "metric": column, "place": "chart", "chart": spec.id}
            if row is not None and "stage_key" in row:
                extra["stage_key"] = row["stage_key"]
            if row is not None and "date" in row and row["date"] is not None:
                extra["date"] = str(row["date"])
            if float(chart_spec.get("scale", 1)) != 1:
                extra["scale"] = float(chart_spec["scale"])
            ctx.evidence.add(number, f"{name} · {where}: {shown} {unit}".strip(), value, tier,
                             f"{MART_SCHEMA}.{mart}.{column}", **extra)


def draw_chart(ctx: Context, slide: Slide, spec: SlideSpec, chart_spec: dict[str, Any], box: Box,
               number: int) -> None:
    """One chart spec drawn in ``box`` of a slide another kind lays out (e.g. beside the metric table)."""
    _validate(spec, chart_spec)
    _draw(ctx, slide, spec, chart_spec, box, number, 0)


def render_chart(ctx: Context, spec: SlideSpec, number: int) -> None:
    """Points + native chart(s): layout right = points in a left column, the chart(s) on the right; full =
    the chart(s) across, at most 2 short points in a strip below."""
    charts = _specs(spec)
    for chart_spec in charts:
        _validate(spec, chart_spec)
    slide, box = visual_slide(ctx, spec, number)
    gap = 8.0
    height = (box.height - gap * (len(charts) - 1)) / len(charts)
    for i, chart_spec in enumerate(charts):
        sub = Box(box.left, box.top + i * (height + gap), box.width, height)
        _draw(ctx, slide, spec, chart_spec, sub, number, i)
    _notes(ctx, slide, spec)
