"""Checks a presenter can trust, over a built deck: pure functions, no Dagster.

``run_checks(deck_path, evidence, outline, seed_pages)`` returns one ``CheckResult`` per check:

- ``structure``: as many slides as the seed has pages (31), in the seed's order; slide 1's title placeholder
  is the seed's 主标题 and some text on slide 1 is its 副标题; slides 2..n have the seed's page name verbatim
  as their title placeholder text (line breaks inside the title are ignored, nothing else may be added).
- ``titles_and_notes``: every slide has a non-empty title placeholder and non-empty speaker notes.
- ``text_overflow``: the text of every text frame (and table cell), measured with ``deck_assets.measure``
  (a committed metrics table valid for Arial with Microsoft YaHei, PingFang SC or Noto Sans CJK SC: no installed
  font is used; lines wrap between words, CJK per character) at its run sizes, fits the frame's width/height
  minus its insets (a cell: its column widths and row heights minus its margins); a word wider than its line is
  a line too wide. ``normAutofit`` scales are applied.
- ``shapes_on_slide``: no shape extends beyond the slide.
- ``min_font``: no run (slide text, table text, chart text with a set size) is below ``MIN_FONT_PT``; a run without
  a size gets the size it inherits (placeholder → layout → master → text styles).
- ``numbers_in_evidence``: every number shown on a slide appears in the evidence appendix for that slide, as
  text (the same digits in an item's ``text``) or as value (equal to an item's ``value`` to the precision shown).
  See ``number_tokens`` for what is not a number to prove (page numbers, dates, names such as H200).
- ``claim_forms``: every cited figure (an evidence item with a ``bench_id``, tier 行业基准) whose source states it as
  up to / at least / at most / a mean / a median (``claim_form`` not ``point``) shows that word (至多, 不少于, 不超过,
  均值, 中位数) right before its number in the slide's text, or in the notes when the item's ``place`` is notes.
- ``talk_time``: the speaker notes' characters (whitespace excluded) / ``chars_per_minute`` are within
  ``tolerance`` of ``target_minutes`` (``Outline.talk``). A warning, not a blocker.
- ``status_currency``: every product or project status claim the deck cites (``{status:ID}``, the outline's
  ``status_claims``) was checked against its source (``as_of``) no more than 12 months before the deck's build date
  (its core properties' created date, which the builder sets to the deck's as_of; today where it has none). A
  warning, not a blocker; a finding names the slide and the claim.

Each result has ``passed``, ``description`` and ``findings`` (slide, shape, text excerpt, measured vs allowed).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE, PP_PLACEHOLDER
from pptx.oxml.ns import qn
from pptx.util import Emu, Length

from deck_assets import measure
from deck_assets.evidence import BENCH_TIER
from deck_assets.status_claims import MAX_AGE_MONTHS, claim_uses, cutoff, is_stale
from deck_assets.warehouse import CLAIM_FORM_WORDS

SEED_PAGES_PATH = Path(__file__).with_name("seed_pages.yaml")
MIN_FONT_PT = 12.0
OVERFLOW_SLACK_PT = 1.0  # rounding: a box may be this much too small before it counts
DEFAULT_SIZE_PT = 18.0  # PowerPoint's size for text that inherits none
EXCERPT = 60
OVERFLOW_DESCRIPTION = ("no text overflows its box (metrics that hold for Arial with Microsoft YaHei, PingFang SC "
                        "or Noto Sans CJK SC, no installed font used; words never broken, CJK wrapped per character)")

# ---- what is not a number to prove -------------------------------------------------------------------------
# Digits in these are names, labels or calendar marks, not quantities; they are blanked before numbers are read.
NAME_PATTERNS: tuple[str, ...] = (
    r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?",  # ISO dates (the data period, as_of)
    r"\d{4}年\d{1,2}月(?:\d{1,2}日)?",  # dates written in Chinese
    r"(?<!\d)\d{1,2}:\d{2}(?!\d)",  # clock times (the day/night windows)
    r"\b\d+g\.\d+gb\b",  # MIG profiles: 1g.10gb, 3g.40gb
    r"\b[1-7]g\b",  # MIG compute slices: 1g … 7g
    r"\b[1-4]D\b",  # 2D/3D parallelism
    r"\b1F1B\b",
    r"24/7",
    r"阶段\s*\d+", r"第\s*\d+\s*(?:页|阶段|步|层|级|代)", r"[Ss]tage\s*\d+",  # ordinals that name a stage/page
    # versions after a product name: CUDA 12.4, Kubernetes 1.29, vLLM 0.6, NVLink 4, PCIe Gen5, HAMi 2.4
    r"(?:CUDA|Kubernetes|K8s|vLLM|DCGM|HAMi|Lustre|NCCL|PyTorch|Python|Dagster|Slurm|Volcano|Kueue|TensorRT(?:-LLM)?"
    r"|Triton|NVLink|NVSwitch|PCIe|Gen|InfiniBand|DeepSpeed|Megatron(?:-LM)?|SGLang|Ray|Hopper|Blackwell|HBM)"
    r"\s?v?\d+(?:\.\d+)*",
    # an identifier that starts with a letter: H200, A100, GB200, bf16, fp8, P99, RoCEv2, ZeRO-3, pool-2, x86_64
    r"(?<![\w.])[A-Za-z][A-Za-z0-9]*(?:[-_.][A-Za-z0-9]+)*[A-Za-z0-9]*",
)
_NAMES = re.compile("|".join(f"(?:{p})" for p in NAME_PATTERNS))
_NUMBER = re.compile(r"(?<![\d.])[-+−]?\d+(?:[,，]\d{3})*(?:\.\d+)?")
CITATION_PREFIXES = ("资料来源", "来源：", "来源:", "数据来源", "参考文献", "Source", "Sources")
_PAGE_NO = re.compile(r"^\s*\d+\s*/\s*\d+\s*$")
PAGE_NUMBER_SHAPES = ("Page number",)


@dataclass(frozen=True)
class Finding:
    slide: int | None
    shape: str
    text: str
    problem: str
    measured: float | str | None = None
    allowed: float | str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}

    def line(self) -> str:
        where = f"第{self.slide}页" if self.slide is not None else "deck"
        shape = f" · {self.shape}" if self.shape else ""
        numbers = f" (measured {self.measured}, allowed {self.allowed})" if self.measured is not None else ""
        text = f" 「{self.text}」" if self.text else ""
        return f"{where}{shape}: {self.problem}{numbers}{text}"


@dataclass(frozen=True)
class CheckResult:
    name: str
    passed: bool
    description: str
    findings: list[Finding] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def slides(self) -> list[int]:
        return sorted({f.slide for f in self.findings if f.slide is not None})


@dataclass(frozen=True)
class SeedPage:
    page: int
    section: str
    title: str
    main_title: str = ""
    subtitle: str = ""


def load_seed_pages(path: Path = SEED_PAGES_PATH) -> list[SeedPage]:
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    return [SeedPage(**{k: (int(v) if k == "page" else str(v)) for k, v in page.items()}) for page in raw["pages"]]


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def _pt(length: int | None) -> float:
    return Emu(length or 0).pt


# ---- walking a deck ----------------------------------------------------------------------------------------

def _shapes(shapes: Iterable[Any]) -> Iterator[Any]:
    """Every shape, group members included."""
    for shape in shapes:
        yield shape
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            yield from _shapes(shape.shapes)


def _frames(slide: Any) -> Iterator[tuple[Any, Any, str]]:
    """(shape, text_frame, label) for every text frame, table cells included."""
    for shape in _shapes(slide.shapes):
        if shape.has_text_frame:
            yield shape, shape.text_frame, shape.name
        if getattr(shape, "has_table", False) and shape.has_table:
            for r, row in enumerate(shape.table.rows):
                for c, cell in enumerate(row.cells):
                    if not cell.is_spanned:
                        yield shape, cell.text_frame, f"{shape.name}[{r + 1},{c + 1}]"


def _paragraph_text(paragraph: Any) -> str:
    parts = []
    for child in paragraph._p:
        if child.tag in (qn("a:r"), qn("a:fld")):
            parts.append("".join(t.text or "" for t in child.iter(qn("a:t"))))
        elif child.tag == qn("a:br"):
            parts.append("\n")
    return "".join(parts)


def _title_text(slide: Any) -> str | None:
    title = slide.shapes.title
    if title is None or not title.has_text_frame:
        return None
    return "".join("".join(_paragraph_text(p).split("\n")) for p in title.text_frame.paragraphs).strip()


def _notes(slide: Any) -> str:
    if not slide.has_notes_slide:
        return ""
    frame = slide.notes_slide.notes_text_frame
    return frame.text if frame is not None else ""


# ---- inherited font size -----------------------------------------------------------------------------------

def _lvl_size(element: Any, level: int) -> float | None:
    """sz of a:lstStyle/a:lvlNpPr/a:defRPr (or the master's txStyles) under ``element``."""
    if element is None:
        return None
    for node in element.iter(qn(f"a:lvl{level + 1}pPr")):
        rpr = node.find(qn("a:defRPr"))
        if rpr is not None and rpr.get("sz"):
            return int(rpr.get("sz")) / 100
    return None


def _inherited_size(slide: Any, shape: Any, level: int) -> float:
    chain = []
    if getattr(shape, "is_placeholder", False):
        chain.append(shape._element)
        base = getattr(shape, "_base_placeholder", None)
        while base is not None:
            chain.append(base._element)
            base = getattr(base, "_base_placeholder", None)
    else:
        chain.append(shape._element)
    for element in chain:
        body = element.find(qn("p:txBody"))
        size = _lvl_size(body.find(qn("a:lstStyle")) if body is not None else None, level)
        if size:
            return size
    master = slide.slide_layout.slide_master._element
    styles = master.find(qn("p:txStyles"))
    if styles is not None:
        if getattr(shape, "is_placeholder", False):
            kind = shape.placeholder_format.type
            tag = "p:titleStyle" if kind in (PP_PLACEHOLDER.TITLE, PP_PLACEHOLDER.CENTER_TITLE) else "p:bodyStyle"
        else:
            tag = "p:otherStyle"
        size = _lvl_size(styles.find(qn(tag)), level)
        if size:
            return size
    return DEFAULT_SIZE_PT


def _run_sizes(slide: Any, shape: Any, paragraph: Any) -> list[tuple[float, bool, bool]]:
    """(size_pt, bold, explicit) of each run of the paragraph (its end mark when it has none)."""
    out = []
    level = paragraph.level
    for child in paragraph._p:
        if child.tag not in (qn("a:r"), qn("a:fld")):
            continue
        rpr = child.find(qn("a:rPr"))
        sz = rpr.get("sz") if rpr is not None else None
        bold = rpr is not None and rpr.get("b") in ("1", "true")
        if sz:
            out.append((int(sz) / 100, bold, True))
        else:
            out.append((_inherited_size(slide, shape, level), bold, False))
    return out


# ---- the checks ------------------------------------------------------------------------------------------

def check_structure(prs: Any, seed: Sequence[SeedPage]) -> CheckResult:
    findings = []
    slides = list(prs.slides)
    if len(slides) != len(seed):
        findings.append(Finding(None, "", "", "slide count differs from the seed", len(slides), len(seed)))
    titles = [_title_text(s) for s in slides]
    for number, page in enumerate(seed, start=1):
        if number > len(slides):
            findings.append(Finding(number, "", page.title, "missing slide"))
            continue
        got = titles[number - 1] or ""
        if number == 1 and page.main_title:
            if got != page.main_title:
                findings.append(Finding(1, "Title", _excerpt(got), "title is not the seed's 主标题",
                                        got, page.main_title))
            text = "\n".join(t for shape, frame, _ in _frames(slides[0]) for t in [frame.text])
            if page.subtitle and page.subtitle not in "".join(text.split("\n")):
                findings.append(Finding(1, "", page.subtitle, "the seed's 副标题 is not on the slide"))
        elif got != page.title:
            where = next((i + 1 for i, t in enumerate(titles) if t == page.title), None)
            problem = "title differs from the seed" + (f" (the seed's title is on slide {where})" if where else "")
            findings.append(Finding(number, "Title", _excerpt(got), problem, got, page.title))
    return CheckResult("structure", not findings,
                       f"{len(seed)} slides in the seed's order with its titles verbatim; slide 1 carries the 主标题 "
                       f"and 副标题", findings, {"slides": len(slides), "expected": len(seed)})


def check_titles_and_notes(prs: Any) -> CheckResult:
    findings = []
    for number, slide in enumerate(prs.slides, start=1):
        if not _title_text(slide):
            findings.append(Finding(number, "Title", "", "no title"))
        if not _notes(slide).strip():
            findings.append(Finding(number, "Notes", "", "no speaker notes"))
    return CheckResult("titles_and_notes", not findings, "every slide has a title and speaker notes", findings)


def _frame_box(shape: Any, frame: Any, label: str) -> tuple[float, float]:
    """(width, height) in pt available to the text of ``frame``."""
    if label.endswith("]") and getattr(shape, "has_table", False) and shape.has_table:
        r, c = (int(x) - 1 for x in label.rsplit("[", 1)[1][:-1].split(","))
        table = shape.table
        cell = table.cell(r, c)
        width = sum(table.columns[c + i].width for i in range(max(cell.span_width, 1)))
        height = sum(table.rows[r + i].height for i in range(max(cell.span_height, 1)))
        return (_pt(width - cell.margin_left - cell.margin_right),
                _pt(height - cell.margin_top - cell.margin_bottom))
    return (_pt(shape.width - frame.margin_left - frame.margin_right),
            _pt(shape.height - frame.margin_top - frame.margin_bottom))


def _spacing_pt(value: Any, size: float) -> float:
    if value is None:
        return 0.0
    return Length(value).pt if isinstance(value, Length) else float(value) * size


def measure_frame(slide: Any, shape: Any, frame: Any, width: float) -> tuple[float, float, str]:
    """(height, widest line, widest line's text) of the frame's text, in pt."""
    body = frame._txBody.find(qn("a:bodyPr"))
    wrap_text = body is None or body.get("wrap") != "none"
    scale, reduce = 1.0, 0.0
    autofit = body.find(qn("a:normAutofit")) if body is not None else None
    if autofit is not None:
        scale = int(autofit.get("fontScale", "100000")) / 100000
        reduce = int(autofit.get("lnSpcReduction", "0")) / 100000
    height, widest, widest_text = 0.0, 0.0, ""
    paragraphs = list(frame.paragraphs)
    for i, paragraph in enumerate(paragraphs):
        text = _paragraph_text(paragraph)
        runs = _run_sizes(slide, shape, paragraph)
        if runs:
            size = max(s for s, _, _ in runs) * scale
            bold = any(b for _, b, _ in runs)
        else:
            end = paragraph._p.find(qn("a:endParaRPr"))
            sz = end.get("sz") if end is not None else None
            size = (int(sz) / 100 if sz else _inherited_size(slide, shape, paragraph.level)) * scale
            bold = False
        lines = measure.wrap(text, size, max(width, 1.0), bold) if wrap_text else text.split("\n")
        for line in lines:
            w = measure.text_width_pt(line, size, bold)
            if w > widest:
                widest, widest_text = w, line
        spacing = paragraph.line_spacing
        line_h = measure.line_height_pt(size)
        if isinstance(spacing, Length):
            line_h = spacing.pt
        elif spacing is not None:
            line_h *= float(spacing)
        line_h *= 1 - reduce
        height += len(lines) * line_h
        if i > 0:
            height += _spacing_pt(paragraph.space_before, size)
        if i < len(paragraphs) - 1:
            height += _spacing_pt(paragraph.space_after, size)
    return height, widest, widest_text


def check_overflow(prs: Any) -> CheckResult:
    findings = []
    frames = 0
    for number, slide in enumerate(prs.slides, start=1):
        for shape, frame, label in _frames(slide):
            text = frame.text
            if not text.strip():
                continue
            frames += 1
            width, height = _frame_box(shape, frame, label)
            used, widest, widest_text = measure_frame(slide, shape, frame, width)
            if used > height + OVERFLOW_SLACK_PT:
                findings.append(Finding(number, label, _excerpt(text), "text taller than its box (pt)",
                                        round(used, 1), round(height, 1)))
            if widest > width + OVERFLOW_SLACK_PT:
                findings.append(Finding(number, label, _excerpt(widest_text), "line wider than its box (pt)",
                                        round(widest, 1), round(width, 1)))
    return CheckResult("text_overflow", not findings,
                       OVERFLOW_DESCRIPTION, findings,
                       {"frames_measured": frames})


def check_bounds(prs: Any) -> CheckResult:
    findings = []
    sw, sh = prs.slide_width, prs.slide_height
    for number, slide in enumerate(prs.slides, start=1):
        for shape in slide.shapes:  # group members live in their group's coordinates: the group is checked
            if shape.left is None or shape.width is None:
                continue
            left, top, right, bottom = shape.left, shape.top, shape.left + shape.width, shape.top + shape.height
            if left < 0 or top < 0 or right > sw or bottom > sh:
                box = f"{_pt(left):.0f},{_pt(top):.0f}–{_pt(right):.0f},{_pt(bottom):.0f} pt"
                text = shape.text_frame.text if shape.has_text_frame else ""
                findings.append(Finding(number, shape.name, _excerpt(text), "shape outside the slide", box,
                                        f"0,0–{_pt(sw):.0f},{_pt(sh):.0f} pt"))
    return CheckResult("shapes_on_slide", not findings, "no shape extends beyond the slide", findings)


def _chart_sizes(chart: Any) -> Iterator[float]:
    for node in chart._chartSpace.iter(qn("a:defRPr"), qn("a:rPr")):
        if node.get("sz"):
            yield int(node.get("sz")) / 100


def check_min_font(prs: Any, min_pt: float = MIN_FONT_PT) -> CheckResult:
    findings = []
    for number, slide in enumerate(prs.slides, start=1):
        for shape, frame, label in _frames(slide):
            for paragraph in frame.paragraphs:
                text = _paragraph_text(paragraph)
                if not text.strip():
                    continue
                sizes = [s for s, _, _ in _run_sizes(slide, shape, paragraph)]
                if sizes and min(sizes) < min_pt:
                    findings.append(Finding(number, label, _excerpt(text), "font below the minimum (pt)",
                                            min(sizes), min_pt))
        for shape in _shapes(slide.shapes):
            if getattr(shape, "has_chart", False) and shape.has_chart:
                sizes = list(_chart_sizes(shape.chart))
                if sizes and min(sizes) < min_pt:
                    findings.append(Finding(number, shape.name, "chart text", "chart font below the minimum (pt)",
                                            min(sizes), min_pt))
    return CheckResult("min_font", not findings, f"no text below {min_pt:g} pt", findings)


# Tier names that are also ordinary words (估算 "estimate" in 按参数量估算显存): not read as labels in text.
TIER_NAMES_IN_PROSE = ("估算",)
TIER_LABELS_DESCRIPTION = ("every evidence tier a slide names (legend, KPI card, table, subtitle, footer, notes) is "
                           "the tier of a number on that slide: simulated data is never labelled 集群实测")


def check_tier_labels(prs: Any, evidence: Sequence[Mapping[str, Any]], tier_names: Sequence[str]) -> CheckResult:
    """A finding for each tier named on a slide (its text frames and notes) that none of the slide's evidence
    items carries: e.g. 集群实测 on a slide whose numbers come from the simulated cluster (仿真)."""
    labels = [t for t in tier_names if t not in TIER_NAMES_IN_PROSE]
    # the longer name first, so that a name inside another (none today) is not counted twice
    pattern = re.compile("|".join(re.escape(t) for t in sorted(labels, key=len, reverse=True))) if labels else None
    by_slide: dict[Any, set[str]] = {}
    for item in evidence:
        by_slide.setdefault(item.get("slide"), set()).add(str(item.get("tier")))
    findings = []
    named = 0
    for number, slide in enumerate(prs.slides, start=1):
        if pattern is None:
            break
        shown = by_slide.get(number, set())
        texts = [(label, frame.text) for _shape, frame, label in _frames(slide)] + [("Notes", _notes(slide))]
        for label, text in texts:
            for match in pattern.finditer(text):
                named += 1
                if match.group(0) not in shown:
                    behind = "、".join(sorted(shown)) or "no numbers"
                    findings.append(Finding(number, label, _excerpt(text),
                                            f"names the tier {match.group(0)} but the slide's numbers are {behind}"))
    return CheckResult("tier_labels", not findings, TIER_LABELS_DESCRIPTION, findings, {"tier_labels_checked": named})


def number_tokens(text: str, skip: Sequence[str] = ()) -> list[str]:
    """The numbers in ``text`` a slide must prove. Not numbers: the ``skip`` strings (the seed's titles),
    ``NAME_PATTERNS`` (dates, clock times, MIG profiles, versions after product names, identifiers that start
    with a letter such as H200, bf16, P99, pool-2) and citation lines (a line that starts with ``CITATION_PREFIXES``,
    e.g. 「资料来源：Kwon et al., SOSP 2023」: its digits are the citation's)."""
    text = "\n".join(line for line in text.split("\n") if not line.lstrip().startswith(CITATION_PREFIXES))
    for s in sorted((s for s in skip if s), key=len, reverse=True):
        text = text.replace(s, " ")
    text = _NAMES.sub(" ", text)
    return [m.group(0) for m in _NUMBER.finditer(text)]


def _canon(token: str) -> str:
    token = token.replace("−", "-").replace(",", "").replace("，", "").lstrip("+")
    if "." in token:
        token = token.rstrip("0").rstrip(".")
    return token or "0"


def _value_matches(token: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    number = float(_canon(token))
    decimals = len(_canon(token).partition(".")[2])
    half = 0.5 * 10 ** -decimals + 1e-9
    return any(abs(number - v) <= half for v in (value, value * 100, abs(value)))


def _chart_labels(chart: Any) -> list[tuple[str, float]]:
    """(series name, value) of every data point whose label shows its value."""
    out = []
    for plot in chart.plots:
        plot_shows = plot.has_data_labels and plot.data_labels.show_value
        for series in plot.series:
            dls = series._element.find(qn("c:dLbls"))
            shows = plot_shows
            if dls is not None:
                show = dls.find(qn("c:showVal"))
                if show is not None:
                    shows = show.get("val", "1") in ("1", "true")
            if shows:
                out += [(series.name, v) for v in series.values if v is not None]
    return out


def check_numbers_in_evidence(prs: Any, evidence: Sequence[Mapping[str, Any]],
                              seed: Sequence[SeedPage] = ()) -> CheckResult:
    findings = []
    skip = [s for p in seed for s in (p.title, p.main_title, p.subtitle, p.section)]
    by_slide: dict[int, list[Mapping[str, Any]]] = {}
    for item in evidence:
        by_slide.setdefault(item.get("slide"), []).append(item)
    checked = 0
    for number, slide in enumerate(prs.slides, start=1):
        items = by_slide.get(number, [])
        texts = {_canon(t) for i in items for t in number_tokens(str(i.get("text", "")))}
        for shape, frame, label in _frames(slide):
            if shape.name in PAGE_NUMBER_SHAPES or (shape.is_placeholder and shape.placeholder_format.type in (
                    PP_PLACEHOLDER.SLIDE_NUMBER, PP_PLACEHOLDER.DATE)):
                continue
            text = frame.text
            if _PAGE_NO.match(text):
                continue
            for token in number_tokens(text, skip):
                checked += 1
                if _canon(token) in texts or any(_value_matches(token, i.get("value")) for i in items):
                    continue
                findings.append(Finding(number, label, _excerpt(text), f"number {token} is not in the evidence"))
        for shape in _shapes(slide.shapes):
            if getattr(shape, "has_chart", False) and shape.has_chart:
                for series, value in _chart_labels(shape.chart):
                    checked += 1
                    if any(isinstance(i.get("value"), (int, float)) and abs(i["value"] - value) <= 1e-6 * max(
                            1.0, abs(value)) for i in items):
                        continue
                    findings.append(Finding(number, shape.name, str(series),
                                            f"chart data label {value:g} is not in the evidence"))
    return CheckResult("numbers_in_evidence", not findings,
                       "every number shown on a slide is in the evidence appendix for that slide", findings,
                       {"numbers_checked": checked, "evidence_items": len(evidence)})


CLAIM_FORMS_DESCRIPTION = ("every cited figure stated by its source as up to / at least / at most / a mean / a median "
                           "shows 至多 / 不少于 / 不超过 / 均值 / 中位数 right before its number")


def _claim_form_texts(slide: Any, place: str) -> list[tuple[str, str]]:
    """(label, paragraph text) where an evidence item of ``place`` is shown: the notes, or the slide's text frames."""
    if place == "notes":
        return [("Notes", _notes(slide))]
    return [(label, _paragraph_text(p)) for _shape, frame, label in _frames(slide) for p in frame.paragraphs]


def _number_pattern(text: str) -> str:
    """``text`` as a whole number: not part of a longer one (5 is not in 50 or 5.2)."""
    return rf"(?<![\d.]){re.escape(text)}(?!\d|\.\d)"


def check_claim_forms(prs: Any, evidence: Sequence[Mapping[str, Any]]) -> CheckResult:
    """Every cited figure whose claim_form is not ``point`` is shown with its word (CLAIM_FORM_WORDS) right before its
    number, as often as the evidence records it on that slide and place; a finding names the slide and the benchmark."""
    slides = list(prs.slides)
    wanted: dict[tuple[int, bool, str, str], list[Mapping[str, Any]]] = {}
    findings = []
    for item in evidence:
        if item.get("tier") != BENCH_TIER or not item.get("bench_id") or item.get("claim_form") == "point":
            continue
        slide, form, bench = item.get("slide"), item.get("claim_form"), item["bench_id"]
        if form not in CLAIM_FORM_WORDS:
            findings.append(Finding(slide, "", str(item.get("text", "")),
                                    f"{bench}: claim_form {form!r} is not one of {sorted(CLAIM_FORM_WORDS)}"))
            continue
        key = (slide, item.get("place") == "notes", CLAIM_FORM_WORDS[form], str(item.get("text", "")))
        wanted.setdefault(key, []).append(item)
    for (slide, in_notes, word, text), items in wanted.items():
        if not isinstance(slide, int) or not 1 <= slide <= len(slides):
            findings.append(Finding(slide, "", text, f"{items[0]['bench_id']}: the evidence names a slide the deck "
                                                     f"does not have"))
            continue
        paragraphs = _claim_form_texts(slides[slide - 1], "notes" if in_notes else "slide")
        number = _number_pattern(text)
        shown = sum(len(re.findall(rf"{re.escape(word)}\s*{number}", p)) for _label, p in paragraphs)
        if shown >= len(items):
            continue
        bare = next(((label, p) for label, p in paragraphs if re.search(number, p)), ("", ""))
        findings.append(Finding(slide, bare[0], _excerpt(bare[1]),
                                f"{items[0]['bench_id']}: {text} is shown without its claim form 「{word}」 "
                                f"({items[0]['claim_form']})", shown, len(items)))
    return CheckResult("claim_forms", not findings, CLAIM_FORMS_DESCRIPTION, findings,
                       {"cited_figures_checked": sum(len(v) for v in wanted.values())})


def check_talk_time(prs: Any, talk: Any) -> CheckResult:
    per_slide = [len("".join(_notes(s).split())) for s in prs.slides]
    chars = sum(per_slide)
    minutes = chars / talk.chars_per_minute if talk.chars_per_minute else 0.0
    low, high = talk.target_minutes * (1 - talk.tolerance), talk.target_minutes * (1 + talk.tolerance)
    passed = low <= minutes <= high
    findings = [] if passed else [Finding(None, "Notes", "", "estimated talk time outside the target (min)",
                                          round(minutes, 1), f"{low:.1f}–{high:.1f}")]
    return CheckResult("talk_time", passed,
                       f"speaker notes last {talk.target_minutes:g} min ±{talk.tolerance:.0%} at "
                       f"{talk.chars_per_minute:g} characters/min", findings,
                       {"minutes": round(minutes, 1), "target_minutes": talk.target_minutes,
                        "characters": chars, "chars_per_minute": talk.chars_per_minute,
                        "minutes_per_slide": [round(c / talk.chars_per_minute, 1) if talk.chars_per_minute else 0
                                              for c in per_slide]})


STATUS_CURRENCY_DESCRIPTION = (f"every product or project status claim on the deck was checked against its source no "
                               f"more than {MAX_AGE_MONTHS} months before the deck's build date")


def deck_build_date(prs: Any) -> dt.date:
    """The deck's build date: its core properties' created date (the builder's as_of); today where it has none."""
    created = prs.core_properties.created
    return created.date() if isinstance(created, dt.datetime) else dt.date.today()


def check_status_currency(prs: Any, outline: Any, build_date: dt.date | None = None) -> CheckResult:
    """A finding for each status claim cited on a slide of the deck whose as_of is more than MAX_AGE_MONTHS
    before the build date, naming the slide, where on it (subtitle, points, notes) and the claim's id; the summary
    lists every cited claim with its as_of and source."""
    build = build_date or deck_build_date(prs)
    claims = getattr(outline, "status_claims", None) or {}
    uses = [u for u in claim_uses(getattr(outline, "slides", ())) if u.claim_id in claims
            and u.slide <= len(prs.slides)]
    findings = []
    for use in uses:
        claim = claims[use.claim_id]
        if is_stale(claim, build):
            findings.append(Finding(
                use.slide, use.place.capitalize(), _excerpt(claim.text),
                f"status claim {claim.id} was last checked against its source ({claim.source}) on "
                f"{claim.as_of.isoformat()}, more than {MAX_AGE_MONTHS} months before the build date "
                f"{build.isoformat()}: check it again, then update its text and as_of",
                claim.as_of.isoformat(), f">= {cutoff(build).isoformat()}"))
    cited = sorted({u.claim_id for u in uses})
    return CheckResult("status_currency", not findings, STATUS_CURRENCY_DESCRIPTION, findings,
                       {"build_date": build.isoformat(),
                        "status_claims": [{"id": c, "as_of": claims[c].as_of.isoformat(), "source": claims[c].source,
                                           "slides": sorted({u.slide for u in uses if u.claim_id == c})}
                                          for c in cited]})


def run_checks(deck_path: Path, evidence: Sequence[Mapping[str, Any]], outline: Any,
               seed: Sequence[SeedPage] | None = None) -> dict[str, CheckResult]:
    """Every check over the deck at ``deck_path``, by name."""
    prs = Presentation(str(deck_path))
    seed = load_seed_pages() if seed is None else seed
    min_pt = float(getattr(getattr(outline, "fonts", None), "min_size_pt", MIN_FONT_PT) or MIN_FONT_PT)
    results = [
        check_structure(prs, seed),
        check_titles_and_notes(prs),
        check_overflow(prs),
        check_bounds(prs),
        check_min_font(prs, max(min_pt, MIN_FONT_PT)),
        check_numbers_in_evidence(prs, evidence, seed),
        check_tier_labels(prs, evidence, [t.name for t in outline.tiers]),
        check_claim_forms(prs, evidence),
        check_talk_time(prs, outline.talk),
        check_status_currency(prs, outline),
    ]
    return {r.name: r for r in results}
