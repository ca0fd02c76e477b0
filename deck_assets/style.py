"""Low-level look: fonts (including the East Asian a:ea), colours, text boxes.

python-pptx has no API for East Asian fonts, so ``set_fonts`` writes ``a:latin`` and ``a:ea``
into the run properties itself. Every run we create goes through ``add_run`` so that no text
lands on a slide unsanitised, without an explicit size, or below the minimum size.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.oxml.ns import qn
from pptx.shapes.autoshape import Shape
from pptx.slide import Slide
from pptx.text.text import TextFrame, _Paragraph
from pptx.util import Length, Pt

from deck_assets import measure
from deck_assets.outline import Fonts
from deck_assets.text import sanitize

# GB2312 charset (134 as a signed byte) tells PowerPoint to substitute a Simplified Chinese font
# when the named one is missing.
EA_CHARSET = "-122"
LANG = "zh-CN"

INK = RGBColor(0x1F, 0x2A, 0x37)
MUTED = RGBColor(0x5F, 0x6B, 0x7A)
ACCENT = RGBColor(0x1F, 0x4E, 0x79)
ACCENT_LIGHT = RGBColor(0xE8, 0xEE, 0xF5)
ZEBRA = RGBColor(0xF5, 0xF7, 0xFA)
WHITE = RGBColor(0xFF, 0xFF, 0xFF)
GOOD = RGBColor(0x1E, 0x7B, 0x34)
BAD = RGBColor(0xB3, 0x26, 0x1E)
WARN_FILL = RGBColor(0xFF, 0xF4, 0xE0)
WARN_INK = RGBColor(0x8A, 0x4B, 0x00)
# Section bands (outline `sections`): baseline grey, the six stages a blue -> green -> amber -> orange ramp.
SECTION_COLORS = {
    "opening": "1F4E79", "baseline": "6B7280", "stage1": "1D4ED8", "stage2": "0E7490", "stage3": "0F766E",
    "stage4": "15803D", "stage5": "9A5B00", "stage6": "C2410C", "summary": "1F4E79",
}
INSET_X = 7.2  # text insets in points (PowerPoint's defaults: 0.1 in and 0.05 in)
INSET_Y = 3.6


def hex_color(value: str) -> RGBColor:
    return RGBColor.from_string(value.strip().lstrip("#").upper())


def section_color(key: str) -> RGBColor:
    return hex_color(SECTION_COLORS.get(key, "1F4E79"))


@dataclass(frozen=True)
class Box:
    """A rectangle in points; converts to EMU for python-pptx."""

    left: float
    top: float
    width: float
    height: float

    @property
    def bottom(self) -> float:
        return self.top + self.height

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def emu(self) -> tuple[Length, Length, Length, Length]:
        return Pt(self.left), Pt(self.top), Pt(self.width), Pt(self.height)


def set_fonts(rpr: etree._Element, fonts: Fonts) -> None:
    """Name the Latin and East Asian typefaces on a run / default-run properties element."""
    rpr.set("lang", LANG)
    rpr.set("altLang", "en-US")
    for tag in ("a:latin", "a:ea", "a:cs", "a:sym"):
        for old in rpr.findall(qn(tag)):
            rpr.remove(old)
    latin = etree.SubElement(rpr, qn("a:latin"))
    latin.set("typeface", fonts.latin)
    ea = etree.SubElement(rpr, qn("a:ea"))
    ea.set("typeface", fonts.east_asian)
    ea.set("charset", EA_CHARSET)
    # Schema order inside a:rPr: ln, fill, effect, highlight, uLnTx/uLn, uFillTx/uFill, latin, ea, cs,
    # sym, hlinkClick, ... Move any hyperlink/extension children after the fonts.
    for tag in ("a:hlinkClick", "a:hlinkMouseOver", "a:rtl", "a:extLst"):
        for child in rpr.findall(qn(tag)):
            rpr.remove(child)
            rpr.append(child)


def add_run(paragraph: _Paragraph, text: str, fonts: Fonts, size: float, *, bold: bool = False,
            color: RGBColor = INK, single_line: bool = True) -> None:
    run = paragraph.add_run()
    run.text = sanitize(text, single_line=single_line, strip=False)
    run.font.size = Pt(max(size, fonts.min_size_pt))
    run.font.bold = bold
    run.font.color.rgb = color
    set_fonts(run._r.get_or_add_rPr(), fonts)


def no_hanging_punctuation(paragraph: _Paragraph) -> None:
    """Keep line-end punctuation inside the box: renderers otherwise hang a ， past the right edge."""
    paragraph._p.get_or_add_pPr().set("hangingPunct", "0")


def write_paragraphs(frame: TextFrame, lines: list[str], fonts: Fonts, size: float, *,
                     bold: bool = False, color: RGBColor = INK, align: PP_ALIGN = PP_ALIGN.LEFT,
                     space_after: float = 0) -> None:
    """Replace the frame's text with one paragraph per line."""
    frame.clear()
    for i, line in enumerate(lines):
        paragraph = frame.paragraphs[0] if i == 0 else frame.add_paragraph()
        paragraph.alignment = align
        no_hanging_punctuation(paragraph)
        if space_after:
            paragraph.space_after = Pt(space_after)
        add_run(paragraph, line, fonts, size, bold=bold, color=color)
        end = paragraph._p.get_or_add_endParaRPr()
        end.set("sz", str(int(max(size, fonts.min_size_pt) * 100)))
        set_fonts(end, fonts)


def add_text(slide: Slide, box: Box, lines: list[str], fonts: Fonts, size: float, *,
             bold: bool = False, color: RGBColor = INK, align: PP_ALIGN = PP_ALIGN.LEFT,
             anchor: MSO_ANCHOR = MSO_ANCHOR.TOP, space_after: float = 0, name: str = "") -> Shape:
    """A text box of one paragraph per line at ``size``, or smaller (not below the minimum) when they do not fit
    the box; a ``measure.TextFitError`` when they do not fit at the minimum."""
    size = measure.fit_block(lines, box.width - 2 * INSET_X, box.height - 2 * INSET_Y, size, fonts.min_size_pt,
                             bold, space_after)
    shape = slide.shapes.add_textbox(*box.emu)
    if name:
        shape.name = name
    frame = shape.text_frame
    frame.word_wrap = True
    frame.vertical_anchor = anchor
    frame.margin_left = frame.margin_right = Pt(INSET_X)
    frame.margin_top = frame.margin_bottom = Pt(INSET_Y)
    write_paragraphs(frame, lines, fonts, size, bold=bold, color=color, align=align,
                     space_after=space_after)
    return shape

