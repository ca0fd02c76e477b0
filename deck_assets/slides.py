"""One renderer per slide kind. Each reads the snapshot, draws the slide and records evidence."""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, cast

from lxml import etree
from pptx.chart.data import CategoryChartData
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.presentation import Presentation
from pptx.shapes.autoshape import Shape
from pptx.shapes.graphfrm import GraphicFrame
from pptx.slide import Slide, SlideLayout
from pptx.text.text import _Paragraph
from pptx.util import Pt

from deck_assets import measure
from deck_assets.evidence import BENCH_TIER, ESTIMATE_TIER
from deck_assets.outline import Fonts, MetricSpec, Outline, OutlineError, SlideSpec
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
    no_hanging_punctuation,
    section_color,
    set_fonts,
    write_paragraphs,
)
from deck_assets.text import fill, format_change, format_number, format_ratio, sanitize, zh_scale
from deck_assets.warehouse import (
    CLAIM_FORM_WORDS,
    MART_SCHEMA,
    Benchmark,
    MetricValue,
    Snapshot,
    Stage,
    WarehouseError,
)

SLIDE_W, SLIDE_H = 960.0, 540.0  # points (13.333 x 7.5 in)
MARGIN = 36.0
CONTENT_W = SLIDE_W - 2 * MARGIN
MIN_PT = 12  # no text below this size
BAND_TOP, BAND_H = 8.0, 20.0  # the section band (a coloured label above the title)
TITLE = Box(MARGIN, 28, CONTENT_W, 50)
SUBTITLE = Box(MARGIN, 84, CONTENT_W, 28)  # one line, muted, 14-16 pt
BODY_TOP = 92.0  # below the title (body_top(spec): below the subtitle when there is one)
FOOTER = Box(MARGIN, 507, CONTENT_W - 90, 25)  # one 12 pt line (17.4 pt) + insets
PAGE_NO = Box(SLIDE_W - MARGIN - 90, 507, 90, 25)
FOOTNOTE = Box(MARGIN, 482, CONTENT_W, 25)  # 资料来源 line of slides that cite benchmarks
FOOTNOTE_LABEL = "资料来源："
LEFT_COLUMN, COLUMN_GAP = 0.38, 12.0  # diagram layout right: points column share and gap
CHART_SHARE = 0.3  # metric table with a chart: the least share of the content width the chart gets
# {bench:ID} {stage:STAGE:METRIC} {ratio:STAGE:METRIC}: numbers in outline text, each recorded as evidence;
# {status:ID}: the text of a status claim (deck_assets.status_claims), no number, not evidence
PLACEHOLDER = re.compile(r"\{(bench|stage|ratio|mart|coverage|status):([^{}]*)\}")
# A unit written right after a placeholder ("{bench:X}%", "{bench:Y} Gb/s") belongs before the tier mark.
UNIT_AFTER = re.compile(r"^ ?(?:%|倍|卡|次|[KMGT]?[bB]/s|TWh|TFLOPS|W\b|tokens/s)")
STAGE_KEYS = ("baseline", "sharing", "orchestration", "data_infra", "software", "resilience", "load_mgmt")


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
    cited: list[Benchmark] = field(default_factory=list)  # benchmarks cited on the slide being rendered

    @property
    def fonts(self) -> Fonts:
        return self.outline.fonts

    @property
    def measured_tier(self) -> str:
        """The tier of what the warehouse measured on the detailed pool: 仿真 or 集群实测, from the data's source."""
        return self.snapshot.measured_tier(self.pool)


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


def _band(ctx: Context, slide: Slide, spec: SlideSpec) -> None:
    """The section header band: a small label in the section's colour above the title."""
    name = ctx.outline.sections[spec.section]
    width = min(measure.text_width_pt(name, 12, bold=True) + 2 * INSET_X + 8, CONTENT_W)
    band = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *Box(MARGIN + INSET_X, BAND_TOP, width, BAND_H).emu)
    band.name = "Section band"
    band.fill.solid()
    band.fill.fore_color.rgb = section_color(spec.section)
    band.line.fill.background()
    frame = band.text_frame
    frame.word_wrap = False
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    frame.margin_left = frame.margin_right = Pt(INSET_X)
    frame.margin_top = frame.margin_bottom = Pt(0)
    write_paragraphs(frame, [name], ctx.fonts, 12, bold=True, color=WHITE)


def body_top(spec: SlideSpec) -> float:
    """Where a content slide's body starts: below the title, or below the subtitle when there is one."""
    return SUBTITLE.top + SUBTITLE.height + 4 if spec.subtitle else BODY_TOP


def body_bottom(spec: SlideSpec) -> float:
    """Where a content slide's body ends: above the footer, or above the 资料来源 footnote."""
    return (FOOTNOTE.top if cites_benchmarks(spec) else FOOTER.top) - 2


def _content_slide(ctx: Context, spec: SlideSpec, number: int) -> Slide:
    slide = ctx.prs.slides.add_slide(_layout(ctx.prs, "Title Only", 5))
    _place_title(ctx, slide, fill(spec.title, ctx.values), TITLE, 28, 20)
    colour = section_color(spec.section) if spec.section else ACCENT
    if spec.section:
        _band(ctx, slide, spec)
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *Box(MARGIN + INSET_X, 80, 64, 3).emu)
    bar.fill.solid()
    bar.fill.fore_color.rgb = colour
    bar.line.fill.background()
    if spec.subtitle:
        paragraph = _resolve(ctx, spec, spec.subtitle, number, "subtitle")
        plain = _plain(paragraph)
        width = SUBTITLE.width - 2 * INSET_X - 4
        if measure.text_width_pt(plain, 14) > width:
            raise OutlineError(f"slide {spec.id}: subtitle does not fit one line at 14 pt: {plain!r}")
        size = measure.fit_size([plain], width, SUBTITLE.height - 2 * INSET_Y, 16, 14, max_lines=1)
        _rich_text(ctx, slide, SUBTITLE, [(paragraph, 0)], size, color=MUTED, name="Subtitle")
    template = str(spec.binds.get("footer") or ctx.outline.footer)  # a slide about other data names its own
    footer = measure.truncate(fill(template, ctx.values), 12, FOOTER.width - 2 * INSET_X - 4)
    add_text(slide, FOOTER, [footer], ctx.fonts, 12, color=MUTED,
             anchor=MSO_ANCHOR.MIDDLE, name="Footer")
    add_text(slide, PAGE_NO, [f"{number} / {ctx.slide_total}"], ctx.fonts, 12, color=MUTED,
             align=PP_ALIGN.RIGHT, anchor=MSO_ANCHOR.MIDDLE, name="Page number")
    return slide


# --- evidence placeholders ---------------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A piece of a paragraph: text, or a tier mark in the tier's colour."""

    text: str
    color: RGBColor | None = None  # None: the paragraph's colour


Paragraph = list[Segment]


def cites_benchmarks(spec: SlideSpec) -> bool:
    """Whether the slide's visible text (points, sub-points, subtitle) has a {bench:ID} placeholder."""
    texts = [spec.subtitle, *spec.points, *(s for subs in spec.sub_points for s in subs)]
    return any("{bench:" in t for t in texts)


def _stage_for(ctx: Context, spec: SlideSpec, key: str, placeholder: str) -> Stage | None:
    """The detailed pool's stage by key (baseline, sharing, ...) or stageN; None when the pool lacks it."""
    match = re.fullmatch(r"stage(\d)", key)
    if match is None and key not in STAGE_KEYS:
        raise OutlineError(f"slide {spec.id}: {placeholder}: unknown stage {key!r} (one of {STAGE_KEYS} "
                           f"or stage0..stage6)")
    for stage in ctx.snapshot.stages(ctx.pool):
        if (match and stage.stage_id == int(match.group(1))) or stage.stage_key == key:
            return stage
    return None


def _bench_text(bench: Benchmark) -> str:
    """The number as published (a range or text stays as it is), without its claim form."""
    number = bench.number
    if number is None:
        return sanitize(bench.value)
    if number.is_integer():
        return format_number(number, "int")
    text = format_number(number, "sig3")
    return text.rstrip("0").rstrip(".") if "." in text else text


def claim_form_word(bench: Benchmark, spec: SlideSpec, placeholder: str) -> str:
    """The word the figure carries before its number (CLAIM_FORM_WORDS); an OutlineError naming the slide and the
    benchmark when the row's claim_form is empty or unknown: a figure is never shown without the form its source
    states it in."""
    if bench.claim_form not in CLAIM_FORM_WORDS:
        raise OutlineError(f"slide {spec.id}: {placeholder}: benchmark {bench.id} has claim_form "
                           f"{bench.claim_form!r} in reference.industry_benchmarks (one of {sorted(CLAIM_FORM_WORDS)})")
    return CLAIM_FORM_WORDS[bench.claim_form]


def short_citation(bench: Benchmark) -> str:
    """'Wu et al. (TGS), NSDI 2023': authors (or the part before ': ' / '. '), a short system name."""
    source = sanitize(bench.source)
    head, rest = source, ""
    if " et al." in source:
        cut = source.index(" et al.") + len(" et al.")
        head, rest = source[:cut], source[cut:].strip()
    else:
        for sep in (": ", ". ", " - "):
            if sep in source:
                head, rest = source.split(sep, 1)
                break
    system = re.search(r"\(([^()]{1,20})\)\s*$", rest)
    if system:
        head = f"{head} ({system.group(1)})"
    elif rest and len(rest) <= 16 and " et al." in source:
        head = f"{head} {rest}"
    head = sanitize(head, max_len=40)
    return f"{head}, {bench.venue_year}" if bench.venue_year else head


def _resolve_one(ctx: Context, spec: SlideSpec, kind: str, arg: str, number: int, place: str) -> Paragraph:
    placeholder = "{" + kind + ":" + arg + "}"
    if kind == "status":
        return [Segment(_status_text(ctx, spec, arg.strip(), placeholder))]
    missing = [Segment(ctx.outline.missing_value)]
    mv: MetricValue | None = None
    extra: dict[str, Any] = {"place": place, "placeholder": placeholder}
    if kind == "bench":
        bench = ctx.snapshot.benchmarks.get(arg.strip())
        if bench is None:
            raise OutlineError(f"slide {spec.id}: {placeholder}: unknown benchmark id {arg.strip()!r} "
                               f"(not in reference.industry_benchmarks)")
        word = claim_form_word(bench, spec, placeholder)
        if not bench.value:
            return missing
        tier_name = BENCH_TIER
        shown = _bench_text(bench)
        value: Any = bench.number if bench.number is not None else bench.value
        source = ", ".join(p for p in (bench.source, bench.venue_year, bench.url) if p) + f" [{bench.id}]"
        extra.update(bench_id=bench.id, unit=bench.unit, claim_form=bench.claim_form, conditions=bench.conditions)
        if place != "notes" and bench not in ctx.cited:
            ctx.cited.append(bench)
        if word:
            ctx.evidence.add(number, shown, value, tier_name, source, claim_word=word, **extra)
            tier = ctx.outline.tier(tier_name)
            return [Segment(f"{word} {shown}")] + ([Segment(tier.mark, hex_color(tier.color))] if tier.mark else [])
    elif kind == "coverage":
        found = _coverage_value(ctx, spec, arg.strip(), placeholder)
        if found is None:
            return missing
        value, shown, source = found
        tier_name = ctx.measured_tier
        extra.update(pool=ctx.pool, metric=arg.strip())
    elif kind == "mart":
        resolved = _mart_value(ctx, spec, arg, placeholder)
        if resolved is None:
            return missing
        value, shown, source, stage = resolved
        tier_name = ctx.measured_tier
        extra.update(pool=ctx.pool, stage_key=stage.stage_key, metric=source.rsplit(".", 1)[1])
    else:
        parts = arg.split(":")
        if len(parts) != 2:
            raise OutlineError(f"slide {spec.id}: {placeholder}: expected {{{kind}:STAGE:METRIC}}")
        stage_key, key = (p.strip() for p in parts)
        if key not in ctx.outline.metrics:
            raise OutlineError(f"slide {spec.id}: {placeholder}: unknown metric {key!r} (a key of the "
                               f"outline's metrics: {sorted(ctx.outline.metrics)})")
        stage = _stage_for(ctx, spec, stage_key, placeholder)
        if stage is None:
            return missing
        metric = ctx.outline.metrics[key]
        mv = ctx.snapshot.value(ctx.pool, key, stage.stage_id)
        extra.update(pool=ctx.pool, stage_key=stage.stage_key, metric=key)
        if kind == "stage":
            row = ctx.snapshot.stage_metrics.get(ctx.pool, {}).get(stage.stage_id, {})
            value = _clean(row[key]) if key in row else (mv.value if mv else None)
            if value is None:
                return missing
            tier_name = mv.evidence_tier if mv else ctx.measured_tier
            divisor, prefix = _scaled(metric, [value])
            unit = f"{prefix} {metric.unit}".strip() if prefix else metric.unit
            shown = format_number(value / divisor, metric.format)
            shown = shown + unit if unit in ("%", "") else f"{shown} {unit}"
            source = f"{MART_SCHEMA}.mart_stage_metrics.{key}"
            if mv and mv.source_ref:
                extra["source_ref"] = mv.source_ref
        elif kind == "ratio":
            value = mv.ratio_to_baseline if mv else None
            if value is None:
                return missing
            baseline = ctx.snapshot.value(ctx.pool, key, 0) if mv else None
            tier_name = ctx.outline.weakest_tier(
                [t.evidence_tier for t in (mv, baseline) if t is not None])
            shown = _bound(value)  # the precision of its spread, so that a rounded ratio stays inside it
            source = f"{MART_SCHEMA}.mart_stage_comparison.ratio_to_baseline"
        else:
            raise OutlineError(f"slide {spec.id}: {placeholder}: unknown placeholder kind {kind!r}")
    ctx.evidence.add(number, shown, value, tier_name, source, **extra)
    tier = ctx.outline.tier(tier_name)
    out = [Segment(shown)] + ([Segment(tier.mark, hex_color(tier.color))] if tier.mark else [])
    if kind == "ratio":
        out.append(Segment(spread_text(ctx, mv, number, tier_name, extra)))
    return out


def _bound(value: float) -> str:
    return format_number(value, "d1" if abs(value) >= 10 else "d2")


def spread_text(ctx: Context, mv: MetricValue | None, number: int, tier_name: str, extra: dict[str, Any],
                range_only: bool = False) -> str:
    """The day-to-day spread of a gain over the baseline, as the outline words it (deck.spread), its two bounds
    recorded as evidence: a range, or "no measurable change" when it includes 1 (``range_only``: the range alone,
    where the caller says "no measurable change" itself), or "too few days"."""
    spread = ctx.outline.spread
    if mv is None or mv.measurable_change is None or mv.ratio_low is None or mv.ratio_high is None:
        return spread.too_few_days
    low, high = _bound(mv.ratio_low), _bound(mv.ratio_high)
    for side, bound, shown in (("low", mv.ratio_low, low), ("high", mv.ratio_high, high)):
        ctx.evidence.add(number, f"ratio_{side}: {shown}", bound, tier_name,
                         f"{MART_SCHEMA}.mart_stage_comparison.ratio_{side}",
                         **{k: v for k, v in extra.items() if k != "placeholder"},
                         spread_of=extra.get("placeholder", extra.get("metric")), days=mv.days,
                         measurable_change=mv.measurable_change)
    wording = spread.range if mv.measurable_change or range_only else spread.no_change
    return fill(wording, {"low": low, "high": high})


def _status_text(ctx: Context, spec: SlideSpec, claim_id: str, placeholder: str) -> str:
    """{status:ID}: the status claim's text (its as_of and source go to the evidence appendix's header)."""
    claim = ctx.outline.status_claims.get(claim_id)
    if claim is None:
        raise OutlineError(f"slide {spec.id}: {placeholder}: unknown status claim id {claim_id!r} (not in the "
                           f"outline's status_claims {sorted(ctx.outline.status_claims)})")
    return sanitize(claim.text)


COVERAGE_KEYS = ("gpus", "days", "missing_gpu_minutes_percent", "checks", "checks_passed")


def _coverage_value(ctx: Context, spec: SlideSpec, key: str, placeholder: str) -> tuple[float, str, str] | None:
    """{coverage:KEY}: what the detailed pool's numbers stand on. gpus / days (mart_data_coverage), the share
    of GPU-minutes without telemetry over all stages (mart_stage_metrics), and the checks of the latest
    pipeline run and how many passed (quality.check_results: dbt tests, GX suites, source health)."""
    if key not in COVERAGE_KEYS:
        raise OutlineError(f"slide {spec.id}: {placeholder}: unknown coverage key {key!r} (one of {COVERAGE_KEYS})")
    if key in ("gpus", "days"):
        cov = next((c for c in ctx.snapshot.coverage if c.pool == ctx.pool), None)
        value = getattr(cov, key) if cov else None
        source = f"{MART_SCHEMA}.mart_data_coverage.{key}"
        return None if value is None else (value, format_number(value, "int"), source)
    if key == "missing_gpu_minutes_percent":
        rows = ctx.snapshot.stage_metrics.get(ctx.pool, {}).values()
        missing = sum(_clean(r.get("missing_gpu_minutes")) or 0.0 for r in rows)
        total = sum(_clean(r.get("gpu_minutes")) or 0.0 for r in rows)
        if not total:
            return None
        share = 100.0 * missing / total
        return share, format_number(share, "d1") + "%", \
            f"{MART_SCHEMA}.mart_stage_metrics.missing_gpu_minutes / gpu_minutes"
    quality = ctx.snapshot.quality
    if quality is None:
        return None
    value = float(quality["checks"] if key == "checks" else quality["passed"])
    return value, format_number(value, "int"), f"quality.check_results (run {quality['run_id']})"


def _mart_value(ctx: Context, spec: SlideSpec, arg: str,
               placeholder: str) -> tuple[float, str, str, Stage] | None:
    """{mart:MART:STAGE:COLUMN}: the detailed pool's value of a stage mart (one row per stage), formatted as
    the outline's mart_values["MART.COLUMN"]; None when the pool lacks the stage or the value."""
    parts = [p.strip() for p in arg.split(":")]
    if len(parts) != 3:
        raise OutlineError(f"slide {spec.id}: {placeholder}: expected {{mart:MART:STAGE:COLUMN}}")
    mart, stage_key, column = parts
    fmt = ctx.outline.mart_values.get(f"{mart}.{column}")
    if fmt is None:
        raise OutlineError(f"slide {spec.id}: {placeholder}: {mart}.{column} is not in the outline's mart_values")
    stage = _stage_for(ctx, spec, stage_key, placeholder)
    if stage is None:
        return None
    value = _stage_mart_value(ctx, mart, column, stage, placeholder)
    if value is None:
        return None
    shown = format_number(value, fmt.format)
    shown = shown + fmt.unit if fmt.unit in ("%", "") else f"{shown} {fmt.unit}"
    return value, shown, f"{MART_SCHEMA}.{mart}.{column}", stage


def _stage_mart_value(ctx: Context, mart: str, column: str, stage: Stage, placeholder: str) -> float | None:
    """The detailed pool's value of a stage mart's column (one row per stage) in ``stage``; None without one."""
    rows = [r for r in ctx.snapshot.mart_rows(mart, ctx.pool, ("stage_id", column))
            if int(r["stage_id"]) == stage.stage_id]
    if len(rows) > 1:
        raise WarehouseError(f"{ctx.snapshot.warehouse_path}: {MART_SCHEMA}.{mart} has {len(rows)} rows for "
                             f"stage {stage.stage_key} of pool {ctx.pool}; {placeholder} needs one")
    return _clean(rows[0][column]) if rows else None


ADVERSE = re.compile(r"\{adverse:([^{}]*)\}")


def _stage_value(ctx: Context, key: str, stage: Stage, placeholder: str) -> tuple[float | None, bool | None]:
    """(value, higher_is_better) of an adverse rule's key in a stage: a metric, or "MART.COLUMN" (whose direction
    the rule gives)."""
    if "." not in key:
        mv = ctx.snapshot.value(ctx.pool, key, stage.stage_id)
        return (mv.value, mv.higher_is_better) if mv else (None, None)
    mart, column = key.split(".", 1)
    return _stage_mart_value(ctx, mart, column, stage, placeholder), None


def _adverse_text(ctx: Context, spec: SlideSpec, stage_key: str, placeholder: str) -> str:
    """{adverse:STAGE}: for each of the outline's adverse rules whose value in STAGE is worse than in the stage
    before by more than min_change, its sentence (values as {stage:}/{mart:} placeholders, so they are evidence)."""
    stage = _stage_for(ctx, spec, stage_key, placeholder)
    stages = {s.stage_id: s for s in ctx.snapshot.stages(ctx.pool)}
    previous = stages.get(stage.stage_id - 1) if stage else None
    if stage is None or previous is None:
        return ""
    adverse = ctx.outline.adverse
    out = []
    for rule in adverse.rules:
        (now, metric_hib), (before, _) = (_stage_value(ctx, rule.key, s, placeholder) for s in (stage, previous))
        higher = rule.higher_is_better if rule.higher_is_better is not None else metric_hib
        if now is None or before is None or higher is None or before == 0:
            continue
        worse = now < before if higher else now > before
        if not worse or abs(now - before) / abs(before) <= adverse.min_change:
            continue
        if "." in rule.key:
            mart, column = rule.key.split(".", 1)
            shown = {k: f"{{mart:{mart}:{s.stage_key}:{column}}}" for k, s in (("previous", previous),
                                                                              ("current", stage))}
        else:
            shown = {k: f"{{stage:{s.stage_key}:{rule.key}}}" for k, s in (("previous", previous), ("current", stage))}
        reason = rule.reason.replace("{stage}", stage.stage_key).replace("{previous_stage}", previous.stage_key)
        out.append(adverse.sentence.replace("{label}", rule.label).replace("{previous}", shown["previous"])
                   .replace("{current}", shown["current"]).replace("{reason}", reason))
    return "".join(out)


def _resolve(ctx: Context, spec: SlideSpec, text: str, number: int, place: str) -> Paragraph:
    """Fill a text's {values} and resolve its evidence placeholders (recording each number); {adverse:STAGE}
    first becomes its sentences (with placeholders of their own)."""
    text = ADVERSE.sub(lambda m: _adverse_text(ctx, spec, m.group(1).strip(), m.group(0)), text)
    out: Paragraph = []
    pos = 0
    for match in PLACEHOLDER.finditer(text):
        if match.start() > pos:
            out.append(Segment(fill(text[pos:match.start()], ctx.values)))
        resolved = _resolve_one(ctx, spec, match.group(1), match.group(2), number, place)
        pos = match.end()
        unit = UNIT_AFTER.match(text[pos:])
        if unit and len(resolved) >= 2:  # value, then a mark or a spread: the unit goes right after the value
            resolved.insert(1, Segment(unit.group(0)))
            pos += unit.end()
        out.extend(resolved)
    if pos < len(text):
        out.append(Segment(fill(text[pos:], ctx.values)))
    return out


def _plain(paragraph: Paragraph) -> str:
    return "".join(s.text for s in paragraph)


def _clean(raw: Any) -> float | None:
    if raw is None:
        return None
    value = float(raw)
    return None if math.isnan(value) else value


# --- text blocks -------------------------------------------------------------------------------

BULLET_INDENT = (18.0, 40.0)  # left margin of the text of a level-1 / level-2 bullet (points)
BULLET_CHARS = ("•", "–")
SPACE_AFTER = 4.0
BULLETS_MAX_PT = 26  # kind bullets: the points alone fill the slide, a step below the 28 pt title


def _block_height(paragraphs: list[tuple[Paragraph, int]], size: int, width: float, bullets: bool,
                  keep: tuple[str, ...]) -> float:
    total = 0.0
    for paragraph, level in paragraphs:
        sub_size = _level_size(size, level)
        indent = BULLET_INDENT[level] if bullets else 0.0
        lines = len(measure.wrap(_plain(paragraph), sub_size, width - indent, False, keep))
        total += lines * measure.line_height_pt(sub_size) + SPACE_AFTER
    return total


def _level_size(size: int, level: int) -> int:
    return max(size - 2 * level, MIN_PT)


def _overlong(paragraphs: list[tuple[Paragraph, int]], size: int, width: float, bullets: bool,
              keep: tuple[str, ...]) -> list[str]:
    """Words of the paragraphs too wide for their line at ``size`` (they would break mid-word)."""
    return [word for paragraph, level in paragraphs
            for word in measure.overlong(_plain(paragraph), _level_size(size, level),
                                         width - (BULLET_INDENT[level] if bullets else 0.0), False, keep)]


def _fit(spec: SlideSpec, paragraphs: list[tuple[Paragraph, int]], box: Box, max_pt: int, bullets: bool,
         keep: tuple[str, ...]) -> int:
    """Largest size >= 12 pt at which the paragraphs fit the box, no word broken; an OutlineError naming the
    slide when they do not fit even at 12 pt."""
    width = box.width - 2 * INSET_X - 4  # slack for renderer differences
    height = box.height - 2 * INSET_Y
    for size in range(max_pt, MIN_PT - 1, -1):
        if not _overlong(paragraphs, size, width, bullets, keep) and \
                _block_height(paragraphs, size, width, bullets, keep) <= height:
            return size
    words = _overlong(paragraphs, MIN_PT, width, bullets, keep)
    why = f"; too long for a line: {', '.join(words)}" if words else ""
    raise OutlineError(f"slide {spec.id}: the points do not fit their box ({box.width:.0f} x {box.height:.0f} pt) "
                       f"even at {MIN_PT} pt{why}; shorten or split them: {_plain(paragraphs[0][0])[:40]!r}…")


def _bullet(paragraph: _Paragraph, level: int, color: RGBColor) -> None:
    ppr = paragraph._p.get_or_add_pPr()
    ppr.set("marL", str(Pt(BULLET_INDENT[level])))
    ppr.set("indent", str(-Pt(BULLET_INDENT[level] - (BULLET_INDENT[level - 1] if level else 0))))
    ppr.set("lvl", str(level))
    clr = etree.SubElement(ppr, qn("a:buClr"))
    etree.SubElement(clr, qn("a:srgbClr")).set("val", str(color))
    etree.SubElement(ppr, qn("a:buFont")).set("typeface", "Arial")
    etree.SubElement(ppr, qn("a:buChar")).set("char", BULLET_CHARS[level])


def _rich_text(ctx: Context, slide: Slide, box: Box, paragraphs: list[tuple[Paragraph, int]], size: int, *,
               color: RGBColor = INK, bullets: bool = False, bullet_color: RGBColor = ACCENT,
               name: str = "", gap: float = 0.0) -> Shape:
    """A text box of (paragraph, level) pairs; tier marks keep their colour; level 1 is 2 pt smaller; ``gap``
    more points before each level-0 paragraph but the first."""
    shape = add_text(slide, box, [""], ctx.fonts, size, color=color, name=name)
    frame = shape.text_frame
    frame.clear()
    for i, (segments, level) in enumerate(paragraphs):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.space_after = Pt(SPACE_AFTER)
        no_hanging_punctuation(paragraph)
        if gap and i and not level:
            paragraph.space_before = Pt(gap)
        if bullets:
            _bullet(paragraph, level, bullet_color)
        sub_size = _level_size(size, level)
        for segment in segments:
            if segment.text:
                add_run(paragraph, segment.text, ctx.fonts, sub_size, color=segment.color or color)
        end = paragraph._p.get_or_add_endParaRPr()
        end.set("sz", str(int(sub_size * 100)))
        set_fonts(end, ctx.fonts)
    return shape


def _point_paragraphs(ctx: Context, spec: SlideSpec, number: int,
                      points: list[tuple[str, tuple[str, ...]]] | None = None) -> list[tuple[Paragraph, int]]:
    out: list[tuple[Paragraph, int]] = []
    for text, subs in spec.items() if points is None else points:
        out.append((_resolve(ctx, spec, text, number, "points"), 0))
        out.extend((_resolve(ctx, spec, sub, number, "points"), 1) for sub in subs)
    return out


def _bullets_box(ctx: Context, slide: Slide, spec: SlideSpec, number: int, box: Box, max_pt: int = 20,
                 points: list[tuple[str, tuple[str, ...]]] | None = None) -> None:
    """The slide's points as bullets (sub-points at level 2), at the largest size that fits; an
    OutlineError naming the slide when they do not fit at 12 pt."""
    paragraphs = _point_paragraphs(ctx, spec, number, points)
    if not paragraphs:
        return
    keep = ctx.outline.keep_together
    size = _fit(spec, paragraphs, box, max_pt, True, keep)
    # the height the text leaves free goes between the points (at most a line each), not below them
    spare = box.height - 2 * INSET_Y - _block_height(paragraphs, size, box.width - 2 * INSET_X - 4, True, keep)
    gaps = sum(1 for _, level in paragraphs[1:] if level == 0)
    gap = math.floor(min(spare / gaps, measure.line_height_pt(size))) if gaps and spare > 0 else 0.0
    colour = section_color(spec.section) if spec.section else ACCENT
    _rich_text(ctx, slide, box, paragraphs, size, bullets=True, bullet_color=colour, name="Points", gap=gap)


def _notes(ctx: Context, slide: Slide, spec: SlideSpec, number: int | None = None) -> None:
    if spec.notes:
        frame = slide.notes_slide.notes_text_frame
        if frame is None:
            raise ValueError("the template's notes master has no body placeholder")
        slide_no = number if number is not None else len(ctx.prs.slides)
        text = _plain(_resolve(ctx, spec, spec.notes, slide_no, "notes"))
        write_paragraphs(frame, [text], ctx.fonts, 14)


def _points(ctx: Context, slide: Slide, spec: SlideSpec, top: float, bottom: float,
            size: int = 14, width: float = CONTENT_W, paragraphs: list[tuple[Paragraph, int]] | None = None) -> None:
    """The plain (unbulleted, muted) points under a chart or table; placeholders resolved (or ``paragraphs``,
    already resolved)."""
    if paragraphs is None:
        paragraphs = _point_paragraphs(ctx, spec, len(ctx.prs.slides))
    if not paragraphs:
        return
    box = Box(MARGIN, top, width, bottom - top)
    fit = _fit(spec, paragraphs, box, size, False, ())
    _rich_text(ctx, slide, box, paragraphs, fit, color=MUTED, name="Points")


def _footnote(ctx: Context, slide: Slide) -> None:
    """One line above the footer citing the slide's benchmarks: 资料来源：▲ Wu et al. (TGS), NSDI 2023；…
    Entries that do not fit are dropped (an ellipsis says so); a single over-long one is truncated."""
    tier = ctx.outline.tier(BENCH_TIER)
    mark_color = hex_color(tier.color)
    mark = tier.mark + " " if tier.mark else ""
    entries = list(dict.fromkeys(short_citation(b) for b in ctx.cited))
    avail = FOOTNOTE.width - 2 * INSET_X - 4

    def line(n: int) -> str:
        return FOOTNOTE_LABEL + "；".join(mark + e for e in entries[:n]) + ("…" if n < len(entries) else "")

    shown = len(entries)
    while shown > 1 and measure.text_width_pt(line(shown), 12) > avail:
        shown -= 1
    if measure.text_width_pt(line(shown), 12) > avail:
        entries[0] = measure.truncate(entries[0], 12, avail - measure.text_width_pt(line(0) + mark, 12))
    shape = add_text(slide, FOOTNOTE, [FOOTNOTE_LABEL], ctx.fonts, 12, color=MUTED,
                     anchor=MSO_ANCHOR.MIDDLE, name="Sources footnote")
    paragraph = shape.text_frame.paragraphs[0]
    for i, entry in enumerate(entries[:shown]):
        if i:
            add_run(paragraph, "；", ctx.fonts, 12, color=MUTED)
        if mark:
            add_run(paragraph, mark, ctx.fonts, 12, color=mark_color)
        add_run(paragraph, entry, ctx.fonts, 12, color=MUTED)
    if shown < len(entries):
        add_run(paragraph, "…", ctx.fonts, 12, color=MUTED)


def render_slide(ctx: Context, spec: SlideSpec, number: int) -> None:
    """Render one slide with its kind's renderer, then its 资料来源 footnote when it cites benchmarks."""
    ctx.cited.clear()
    try:
        RENDERERS[spec.kind](ctx, spec, number)
    except measure.TextFitError as error:
        raise OutlineError(f"slide {spec.id} (page {number}): {error}") from error
    if ctx.cited and spec.kind != "title":
        _footnote(ctx, ctx.prs.slides[len(ctx.prs.slides) - 1])



# --- title -------------------------------------------------------------------------------------


def render_title(ctx: Context, spec: SlideSpec, number: int) -> None:
    slide = ctx.prs.slides.add_slide(_layout(ctx.prs, "Title Slide", 0))
    _place_title(ctx, slide, fill(spec.title, ctx.values), Box(60, 110, 840, 84), 40, 28)
    subtitle = next((s for s in slide.placeholders if s.placeholder_format.idx == 1), None)
    sub_box = Box(60, 196, 840, 48)
    if subtitle is not None:
        subtitle.left, subtitle.top, subtitle.width, subtitle.height = sub_box.emu
        subtitle.text_frame.word_wrap = True
        text = fill(spec.subtitle, ctx.values)
        size = measure.fit_size([text], sub_box.width - 2 * INSET_X, sub_box.height - 2 * INSET_Y, 22, MIN_PT)
        write_paragraphs(subtitle.text_frame, [text], ctx.fonts, size, color=MUTED)
    bar = slide.shapes.add_shape(MSO_SHAPE.RECTANGLE, *Box(60 + INSET_X, 256, 96, 4).emu)
    bar.fill.solid()
    bar.fill.fore_color.rgb = ACCENT
    bar.line.fill.background()
    lines = _point_paragraphs(ctx, spec, number)
    info = Box(60, 276, 840, 150)
    if lines:
        size = _fit(spec, lines, info, 18, False, ())
        _rich_text(ctx, slide, info, lines, size, color=INK, name="Data scope")
    if ctx.simulated:
        box = Box(60, 440, 840, 44)
        banner = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE, *box.emu)
        banner.name = "Simulated data notice"
        banner.fill.solid()
        banner.fill.fore_color.rgb = WARN_FILL
        banner.line.color.rgb = WARN_INK
        frame = banner.text_frame
        frame.vertical_anchor = MSO_ANCHOR.MIDDLE
        notice = ctx.outline.simulated_notice
        size = measure.fit_size([notice], box.width - 2 * INSET_X, box.height - 2 * INSET_Y, 18, MIN_PT, bold=True)
        write_paragraphs(frame, [notice], ctx.fonts, size, bold=True, color=WARN_INK, align=PP_ALIGN.CENTER)
    slide_no = number
    for cov in ctx.snapshot.coverage:
        if cov.days is not None:
            ctx.evidence.add(slide_no, f"{cov.pool}: {format_number(cov.days, 'sig3')} 天", cov.days,
                             cov.evidence_tier, "mart_data_coverage.days", pool=cov.pool)
        if cov.gpus is not None:
            ctx.evidence.add(slide_no, f"{cov.pool}: {format_number(cov.gpus, 'int')} GPU", cov.gpus,
                             cov.evidence_tier, "mart_data_coverage.gpus", pool=cov.pool)
    period_tier = ctx.outline.weakest_tier([c.evidence_tier for c in ctx.snapshot.coverage])
    for key, column in (("period_start", "first_ts"), ("period_end", "last_ts")):
        ctx.evidence.add(slide_no, ctx.values[key], ctx.values[key], period_tier, f"mart_data_coverage.{column}")
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
    best = pick(known, key=lambda v: v.value or 0.0)
    return None if best.measurable_change is False else best.stage.stage_id  # no best within day-to-day noise


def _scaled(metric: MetricSpec, values: list[float | None]) -> tuple[float, str]:
    return zh_scale(values) if metric.zh_scale else (1.0, "")


def render_metric_table(ctx: Context, spec: SlideSpec, number: int) -> None:
    """The ten metrics by stage (each value with its tier mark); with ``binds.chart`` the table keeps its
    natural width and a native chart (deck_assets.charts spec) takes the rest of its rows' height on the right."""
    slide = _content_slide(ctx, spec, number)
    stages = ctx.snapshot.stages(ctx.pool)
    headers = {"metric": "指标", "unit": "单位", **spec.binds.get("headers", {})}
    labels = [str(x) for x in spec.binds.get("stage_labels") or []]
    rows: list[list[_Cell]] = [
        [_Cell(headers["metric"]), _Cell(headers["unit"])]
        + [_Cell(labels[s.stage_id] if s.stage_id < len(labels) else sanitize(s.name_zh, max_len=24))
           for s in stages]
    ]
    for key in spec.binds["metrics"]:
        found = [ctx.snapshot.value(ctx.pool, key, s.stage_id) for s in stages]
        unit_hint = next((v.unit for v in found if v is not None), "")
        metric = ctx.outline.metric(key, unit_hint)
        divisor, prefix = _scaled(metric, [v.value if v else None for v in found])
        unit = f"{prefix} {metric.unit}".strip() if prefix else metric.unit
        best = _best_stage(found) if spec.binds.get("bold_best") else None
        row = [_Cell(metric.label), _Cell(unit)]
        for stage, mv in zip(stages, found, strict=True):
            tier_name = mv.evidence_tier if mv else ESTIMATE_TIER
            tier = ctx.outline.tier(tier_name)
            raw = mv.value if mv else None
            text = format_number(None if raw is None else raw / divisor, metric.format,
                                 ctx.outline.missing_value)
            row.append(_Cell(text, tier.mark, tier.color, bold=best == stage.stage_id))
            source = mv.source_ref if mv and mv.source_ref else f"mart_stage_comparison.{key}"
            ctx.evidence.add(number, f"{metric.label} · {stage.name_zh}: {text} {unit}".strip(), raw,
                             tier_name, source,
                             pool=ctx.pool, stage_key=stage.stage_key, metric=key,
                             value_source=mv.value_source if mv else "missing")
        rows.append(row)
    bottom = body_bottom(spec)
    points = _point_paragraphs(ctx, spec, number)
    points_h = _block_height(points, MIN_PT, CONTENT_W - 2 * INSET_X - 4, False, ()) + 2 * INSET_Y if points else 0.0
    chart = spec.binds.get("chart")
    table = _draw_table(ctx, slide, rows, top=body_top(spec), bottom=bottom - 34 - points_h, tier_col=False,
                        width=CONTENT_W * (1 - CHART_SHARE) if chart else CONTENT_W, compact=bool(chart))
    if chart:
        box = Box(table.right + COLUMN_GAP, table.top, MARGIN + CONTENT_W - table.right - COLUMN_GAP, table.height)
        importlib.import_module("deck_assets.charts").draw_chart(ctx, slide, spec, chart, box, number)
    _tier_legend(ctx, slide, Box(MARGIN, table.bottom + 8, CONTENT_W, 26), number)
    _points(ctx, slide, spec, table.bottom + 34, bottom, size=MIN_PT, paragraphs=points)
    _notes(ctx, slide, spec)


def _draw_table(ctx: Context, slide: Slide, rows: list[list[_Cell]], top: float, bottom: float, *,
                name: str = "Stage comparison table", fit_cols: tuple[int, ...] = (0, 1), tier_col: bool = True,
                width: float = CONTENT_W, compact: bool = False) -> Box:
    """Draw the table at the largest font size whose rows fit above ``bottom``; return its box.

    The ``fit_cols`` (label and unit) take their measured width; with ``tier_col`` the last column takes the
    widest single tier name (several tiers wrap); the other (value) columns share the rest of ``width`` or,
    when ``compact``, just what their widest value needs. Headers wrap to two lines. Columns 2.. except a
    tier column are right-aligned values.
    """
    fonts = ctx.fonts
    keep = ctx.outline.keep_together
    n_cols = len(rows[0])
    n_plain = n_cols - (1 if tier_col else 0)
    shared = [c for c in range(n_plain) if c not in fit_cols]
    pad = 2 * INSET_X + 4  # insets plus slack for renderer differences

    def cell_text(cell: _Cell) -> str:
        return cell.text + (" " + cell.mark if cell.mark else "")

    def col_width(col: int, size: int, first_row: int = 1) -> float:
        return max(measure.text_width_pt(cell_text(r[col]), size, bold=True) for r in rows[first_row:]) + pad

    def layout(size: int) -> tuple[int, list[float], list[float], bool]:
        """(size, column widths, row heights, whether every value fits its cell on one line)."""
        tier_names = [t.name for t in ctx.outline.tiers] + [rows[0][-1].text]
        tier_w = max(measure.text_width_pt(n, size, bold=True) for n in tier_names) + pad if tier_col else 0.0
        fixed = {c: col_width(c, size, first_row=0) for c in fit_cols}  # their headers stay on one line
        need = max((col_width(c, size) for c in shared), default=0.0)
        share_w = (width - sum(fixed.values()) - tier_w) / max(len(shared), 1)
        if compact:
            share_w = min(share_w, need + 8)
        widths = [fixed.get(c, share_w) for c in range(n_plain)] + ([tier_w] if tier_col else [])
        heights = []
        for r_i, row in enumerate(rows):
            bold = [r_i == 0 or c.bold for c in row]
            if any(measure.overlong(cell_text(c), size, w - pad, b, keep) for c, w, b in zip(row, widths, bold,
                                                                                              strict=True)):
                heights.append(math.inf)  # a word wider than its column: no layout at this size
                continue
            lines = max(len(measure.wrap(cell_text(c), size, w - pad, b, keep))
                        for c, w, b in zip(row, widths, bold, strict=True))
            heights.append(lines * measure.line_height_pt(size) + 2 * INSET_Y + 1)
        return size, widths, heights, share_w >= need

    # the largest size at which the table fits above ``bottom``, preferring one where no value wraps
    fitting = [t for t in map(layout, range(15, fonts.min_size_pt - 1, -1)) if top + sum(t[2]) <= bottom]
    if not fitting:
        raise measure.TextFitError(f"{name} ({len(rows)} rows) does not fit {width:.0f} x {bottom - top:.0f} pt "
                                   f"at {fonts.min_size_pt} pt: {rows[0][0].text!r}")
    chosen, widths, heights, _ = next((t for t in fitting if t[3]), fitting[0])
    table_box = Box(MARGIN, top, sum(widths), sum(heights))
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
            is_value = not header and 2 <= c_i < n_plain
            text_lines = measure.balanced_wrap(cell_data.text, chosen, widths[c_i] - pad, True, keep) \
                if header else [cell_data.text]
            write_paragraphs(frame, text_lines, fonts, chosen, bold=header or cell_data.bold,
                             color=WHITE if header else (MUTED if c_i == 1 else INK),
                             align=PP_ALIGN.RIGHT if is_value else (PP_ALIGN.CENTER if header and c_i >= 2
                                                                    else PP_ALIGN.LEFT))
            if cell_data.mark:
                add_run(frame.paragraphs[0], " " + cell_data.mark, fonts, chosen,
                        color=hex_color(cell_data.mark_color))
    return table_box


def _tier_legend(ctx: Context, slide: Slide, box: Box, number: int) -> None:
    """The tiers of the numbers on slide ``number`` so far, with their marks (a legend never names a tier that the
    slide's evidence lacks: check_tier_labels)."""
    shape = add_text(slide, box, [ctx.outline.tier_legend_title + "："], ctx.fonts, 12, color=MUTED,
                     name="Tier legend")
    paragraph = shape.text_frame.paragraphs[0]
    used = {item["tier"] for item in ctx.evidence.items if item["slide"] == number}
    for tier in (t for t in ctx.outline.tiers if t.name in used):
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
    return ctx.measured_tier, f"mart_stage_metrics.{column}"


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
    top, bottom = body_top(spec), body_bottom(spec)
    box = Box(MARGIN, top, CONTENT_W, bottom - top - 66)
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
    _points(ctx, slide, spec, box.top + box.height + 8, bottom)
    _notes(ctx, slide, spec)


# --- delta cards -------------------------------------------------------------------------------


def render_delta_cards(ctx: Context, spec: SlideSpec, number: int) -> None:
    slide = _content_slide(ctx, spec, number)
    body = body_top(spec)
    _points(ctx, slide, spec, body - 6, body + 24, size=16)
    stages = ctx.snapshot.stages(ctx.pool)
    last = stages[-1] if stages else None
    keys = list(spec.binds["metrics"])
    cols = 3 if len(keys) > 4 else max(len(keys), 1)
    n_rows = math.ceil(len(keys) / cols)
    gap, top, bottom = 16.0, body + 32, body_bottom(spec) - 10
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
    tier_name = mv.evidence_tier if mv else ESTIMATE_TIER
    baseline_mv = ctx.snapshot.value(ctx.pool, key, 0)
    if baseline_mv is not None:
        tier_name = ctx.outline.weakest_tier([tier_name, baseline_mv.evidence_tier])
    tier = ctx.outline.tier(tier_name)

    label = measure.fit_size([metric.label], inner.width - 2 * INSET_X, 30 - 2 * INSET_Y, 18, 12, bold=True,
                             max_lines=1)
    add_text(slide, Box(inner.left, inner.top, inner.width, 30), [metric.label], ctx.fonts, label, bold=True)
    change_text = format_change(change, missing)
    flat = mv is not None and mv.measurable_change is False  # within day-to-day noise: no gain to claim
    big = ctx.outline.spread.flat if flat else change_text
    if flat:
        colour = MUTED
    big_size = measure.fit_size([big], inner.width - 2 * INSET_X, inner.height * 0.42, 40, 20, bold=True,
                                max_lines=1)
    add_text(slide, Box(inner.left, inner.top + 30, inner.width, inner.height * 0.42), [big], ctx.fonts,
             big_size, bold=True, color=colour, anchor=MSO_ANCHOR.MIDDLE)
    stage_key = mv.stage.stage_key if mv else ""
    extra = {"pool": ctx.pool, "metric": key, "stage_key": stage_key}
    spread = spread_text(ctx, mv, number, tier_name, extra, range_only=True)  # the card's headline says flat
    detail_top = inner.top + 30 + inner.height * 0.42
    detail = add_text(slide, Box(inner.left, detail_top, inner.width, inner.top + inner.height - detail_top),
                      [values_line, ratio_line, spread + " · "], ctx.fonts, 13, color=MUTED,
                      anchor=MSO_ANCHOR.BOTTOM)
    tier_text = (tier.mark + " " if tier.mark else "") + tier.name
    add_run(detail.text_frame.paragraphs[2], tier_text, ctx.fonts, 13, color=hex_color(tier.color))

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
    marked with its row's tier (实验室实测 from a real GPU, 仿真 from a simulated one: the mart says which);
    without lab data, a plain statement and no numbers."""
    binds = spec.binds
    mart = f"{MART_SCHEMA}.{binds['mart']}"
    phases_mart = f"{MART_SCHEMA}.{binds.get('experiments_mart', 'mart_lab_experiments')}"
    missing = ctx.outline.missing_value
    found = _lab_rows(ctx, spec)
    if not found:
        slide = _content_slide(replace(ctx, values={**ctx.values, "lab_pool": missing, "lab_gpu_model": missing,
                                                    "lab_tier": missing}), spec, number)
        add_text(slide, Box(MARGIN, body_top(spec) + 8, CONTENT_W, 120), [str(binds["empty_text"])], ctx.fonts, 20,
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
    tier = ctx.outline.tier(ctx.outline.weakest_tier([str(r["evidence_tier"]) for _, r in found]))
    lab_values["lab_tier"] = tier.name
    lab_ctx = replace(ctx, values={**ctx.values, **lab_values})
    slide = _content_slide(lab_ctx, spec, number)
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
        tier = ctx.outline.tier(str(row["evidence_tier"]))
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
    table = _draw_table(ctx, slide, rows, top=body_top(spec), bottom=body_bottom(spec) - 82,
                        name="Lab comparison table", fit_cols=(0, 1, len(rows[0]) - 2))
    _tier_legend(ctx, slide, Box(MARGIN, table.bottom + 8, CONTENT_W, 26), number)
    _points(lab_ctx, slide, spec, table.bottom + 38, body_bottom(spec))
    _notes(lab_ctx, slide, spec)


# --- bullets and diagrams ----------------------------------------------------------------------


def render_bullets(ctx: Context, spec: SlideSpec, number: int) -> None:
    """Points as bullets with level-2 sub-points, across the content area."""
    slide = _content_slide(ctx, spec, number)
    top, bottom = body_top(spec), body_bottom(spec)
    _bullets_box(ctx, slide, spec, number, Box(MARGIN, top + 4, CONTENT_W, bottom - top - 4), max_pt=BULLETS_MAX_PT)
    _notes(ctx, slide, spec)


def visual_slide(ctx: Context, spec: SlideSpec, number: int) -> tuple[Slide, Box]:
    """A content slide with its points placed beside or below one visual; returns the slide and the visual's
    box. binds.layout right = points in a left column, the visual on the right; full = the visual across,
    the (at most 2) points in a strip below."""
    slide = _content_slide(ctx, spec, number)
    top, bottom = body_top(spec) + 4, body_bottom(spec)
    if str(spec.binds.get("layout", "right")) == "full":
        strip = 0.0
        if spec.points:
            strip = len(spec.points) * (measure.line_height_pt(16) + SPACE_AFTER) + 2 * INSET_Y + 4
            _bullets_box(ctx, slide, spec, number, Box(MARGIN, bottom - strip, CONTENT_W, strip), max_pt=16)
        return slide, Box(MARGIN, top, CONTENT_W, bottom - top - strip - (8 if strip else 0))
    left_w = round(CONTENT_W * LEFT_COLUMN, 1)
    _bullets_box(ctx, slide, spec, number, Box(MARGIN, top, left_w, bottom - top), max_pt=20)
    return slide, Box(MARGIN + left_w + COLUMN_GAP, top, CONTENT_W - left_w - COLUMN_GAP, bottom - top)


def render_diagram(ctx: Context, spec: SlideSpec, number: int) -> None:
    """A diagram drawn by deck_assets.diagrams.DIAGRAMS[binds.diagram](slide, box, fonts): layout right =
    points in a left column and the diagram on the right; full = the diagram across, <= 2 points below."""
    name = str(spec.binds["diagram"])
    registry = importlib.import_module("deck_assets.diagrams").DIAGRAMS
    if name not in registry:
        raise OutlineError(f"slide {spec.id}: unknown diagram {name!r} (deck_assets.diagrams.DIAGRAMS has "
                           f"{sorted(registry)})")
    slide, box = visual_slide(ctx, spec, number)
    registry[name](slide, box, ctx.fonts)
    _notes(ctx, slide, spec)


def render_chart(ctx: Context, spec: SlideSpec, number: int) -> None:
    """Native chart(s) bound to a mart: deck_assets.charts (imported lazily; it builds on this module)."""
    importlib.import_module("deck_assets.charts").render_chart(ctx, spec, number)


RENDERERS: dict[str, Callable[[Context, SlideSpec, int], None]] = {
    "title": render_title,
    "metric_table": render_metric_table,
    "bar_chart": render_bar_chart,
    "delta_cards": render_delta_cards,
    "lab_evidence": render_lab_evidence,
    "bullets": render_bullets,
    "diagram": render_diagram,
    "chart": render_chart,
}
