"""The real outline's deck, rendered by LibreOffice: no Latin word breaks across lines and no text leaves its box.

LibreOffice draws the deck's Arial in Liberation Sans (fonts-liberation2), its Noto Sans CJK SC in itself;
``pdftotext -bbox-layout`` (poppler-utils) gives every rendered word's position. Under CI=true a missing tool or
font fails the test instead of skipping it.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from deck_warehouse import make_warehouse
from pptx import Presentation
from pptx.util import Emu

from deck_assets import build_deck, preview
from deck_assets.outline import load_outline

TOLERANCE_PT = 2.0  # anti-aliasing and glyph bounds a little outside the line box
LATIN_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z][A-Za-z0-9]+(?![A-Za-z0-9])")
XHTML = "{http://www.w3.org/1999/xhtml}"


@dataclass(frozen=True)
class Rect:
    left: float
    top: float
    right: float
    bottom: float

    def holds(self, other: Rect, tolerance: float) -> bool:
        return (other.left >= self.left - tolerance and other.top >= self.top - tolerance
                and other.right <= self.right + tolerance and other.bottom <= self.bottom + tolerance)


@dataclass(frozen=True)
class Word:
    text: str
    rect: Rect


def _missing() -> list[str]:
    missing = preview.missing_tools() + ([] if shutil.which("pdftotext") else ["poppler-utils"])
    if shutil.which("fc-match"):
        arial = subprocess.run(["fc-match", "-f", "%{family}", "Arial"], capture_output=True, text=True,
                               check=False).stdout
        if "Liberation Sans" not in arial:  # another substitute (DejaVu Sans) is wider than Arial
            missing.append("fonts-liberation2")
    return list(dict.fromkeys(missing))  # pdftoppm and pdftotext are both poppler-utils


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[list[list[Word]]]]:
    """(the deck, per page its rendered lines of words), built once from the test warehouse."""
    missing = _missing()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs LibreOffice, poppler and Arial's metrics to render the deck; install "
                        f"{' '.join(missing)}")
        pytest.skip(f"not installed: {', '.join(missing)}")
    tmp = tmp_path_factory.mktemp("rendered")
    deck = build_deck(make_warehouse(tmp / "warehouse.duckdb"), tmp / "deck", dt.date(2026, 11, 27)).path
    pdf = preview.render_pdf(deck, tmp)
    bbox = tmp / "bbox.html"
    subprocess.run(["pdftotext", "-bbox-layout", str(pdf), str(bbox)], check=True, timeout=120)
    return deck, _pages(bbox)


def _pages(bbox: Path) -> list[list[list[Word]]]:
    root = ET.parse(bbox).getroot()
    return [[[Word(w.text or "", Rect(*(float(w.get(k, "0")) for k in ("xMin", "yMin", "xMax", "yMax"))))
              for w in line.iter(f"{XHTML}word")]
             for line in page.iter(f"{XHTML}line")]
            for page in root.iter(f"{XHTML}page")]


def _shapes(slide: object) -> Iterator[tuple[str | None, Rect]]:
    """(text, box in pt) of every shape that shows text: text frames, tables, charts (text None)."""
    for shape in slide.shapes:  # type: ignore[attr-defined]
        if shape.has_text_frame:
            text = shape.text_frame.text
        elif shape.has_table:
            text = "\n".join(cell.text for row in shape.table.rows for cell in row.cells)
        elif shape.has_chart:
            text = None
        else:
            continue
        left, top = Emu(shape.left).pt, Emu(shape.top).pt
        yield text, Rect(left, top, left + Emu(shape.width).pt, top + Emu(shape.height).pt)


def _latin_words(text: str) -> Counter[str]:
    return Counter(LATIN_WORD.findall(text))


def test_one_page_per_slide(rendered: tuple[Path, list[list[list[Word]]]]) -> None:
    deck, pages = rendered
    assert len(pages) == len(Presentation(str(deck)).slides) == len(load_outline().slides)


def test_no_latin_word_breaks_across_lines(rendered: tuple[Path, list[list[list[Word]]]]) -> None:
    deck, pages = rendered
    broken = []
    for number, (slide, lines) in enumerate(zip(Presentation(str(deck)).slides, pages, strict=True), start=1):
        placed = sum((_latin_words(text or "") for text, _ in _shapes(slide)), Counter())
        shown = sum((_latin_words(" ".join(w.text for w in line)) for line in lines), Counter())
        broken += [(number, word) for word, count in placed.items() if shown[word] < count]
    assert placed, "the deck has Latin words to check"
    assert broken == []


def test_no_rendered_text_outside_its_box(rendered: tuple[Path, list[list[list[Word]]]]) -> None:
    deck, pages = rendered
    outside = []
    words = 0
    for number, (slide, lines) in enumerate(zip(Presentation(str(deck)).slides, pages, strict=True), start=1):
        shapes = list(_shapes(slide))
        for word in (w for line in lines for w in line):
            words += 1
            # the boxes whose text has this word (a word no box has, such as a bullet: any box), and the charts
            # (their labels are not in the pptx's text)
            own = [rect for text, rect in shapes if text and word.text in text.replace("\n", "")] or \
                [rect for _, rect in shapes]
            own += [rect for text, rect in shapes if text is None]
            if not any(rect.holds(word.rect, TOLERANCE_PT) for rect in own):
                outside.append((number, word.text, word.rect))
    assert words > 31 * 10
    assert outside == [], '\n'.join(map(str, outside))
