"""Measure and wrap text with fixed metrics that hold in every font the deck is shown in.

python-pptx cannot measure text, and the fonts of the machine that builds the deck are not the fonts it is
presented in: PowerPoint and WPS on Windows draw it in Arial + Microsoft YaHei, Keynote and PowerPoint on
macOS in Arial + PingFang SC, LibreOffice in Liberation Sans + Noto Sans CJK SC. So this module opens no font
file; a width is the widest any of those fonts gives, from fixed rules and a committed table:

- Wide and fullwidth characters (Unicode East Asian Width W/F: ideographs, CJK punctuation, fullwidth
  forms) are 1 em: all three CJK fonts set them on a square em.
- Ambiguous-width symbols (East Asian Width A: ``— … “ ” × → · • ▲``) are 1 em: Noto Sans CJK SC (and the
  other CJK fonts) set them full width, wider than Arial's glyphs (at most 1 em).
- ASCII and the minus sign: ``font_metrics.yaml`` (``python -m deck_assets.font_metrics`` regenerates it),
  regular and bold, the wider of Liberation Sans (Arial's metrics, SIL OFL) and Noto Sans CJK SC's Latin
  glyphs. No kerning (kerning only narrows).
- Any other character is 1 em, as wide as a glyph of these fonts normally gets.
- A quarter em wherever wide and narrow text meet: LibreOffice and Word auto-space Asian and Latin text.

Line height is ``LINE_HEIGHT_EM`` (1.45 em), the largest ascent + descent of the CJK fonts: Noto Sans CJK SC
1.448 em (in the table), Microsoft YaHei about 1.32 em (hhea 2167 + 536 of 2048), PingFang SC about 1.4 em.

Wrapping never breaks inside a token (a Latin word, a number, a ``keep`` word): a token wider than the line
gets a line of its own that is too wide, which ``fit_size`` and the ``text_overflow`` check report.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from pathlib import Path

import yaml

METRICS_PATH = Path(__file__).with_name("font_metrics.yaml")
LINE_HEIGHT_EM = 1.45
SPACING_EM = 0.25  # where wide and narrow characters meet
# Tokens that wrap as a unit: a run of non-wide, non-space characters (a Latin word, a number), or one wide
# character; with the punctuation that may not start (close) or end (open) a line, as renderers apply these
# line-breaking rules (kinsoku) to zh-CN text.
_WIDE = r"\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60"
_CLOSE = "，。、；：？！）】》」』〉”’…·%"
_OPEN = "（【《「『〈“‘"
_CORE = rf"[^\s{_WIDE}{_CLOSE}{_OPEN}]+|."


class TextFitError(ValueError):
    """Text that cannot fit its box even at the smallest size allowed."""


@functools.cache
def _widths(bold: bool) -> dict[str, float]:
    table = yaml.safe_load(METRICS_PATH.read_text(encoding="utf-8"))
    units = table["units_per_em"]
    return {char: width / units for char, width in table["widths"]["bold" if bold else "regular"].items()}


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def char_width_em(char: str, bold: bool = False) -> float:
    return _widths(bold).get(char, 1.0)


def text_width_pt(text: str, size_pt: float, bold: bool = False) -> float:
    """Width of one line (see the module docstring for the rules)."""
    width = sum(char_width_em(c, bold) for c in text)
    visible = [c for c in text if not c.isspace()]
    switches = sum(1 for a, b in zip(visible, visible[1:], strict=False) if _is_wide(a) != _is_wide(b))
    return (width + switches * SPACING_EM) * size_pt


def line_height_pt(size_pt: float) -> float:
    return LINE_HEIGHT_EM * size_pt


@functools.cache
def _tokenizer(keep: tuple[str, ...]) -> re.Pattern[str]:
    words = "".join(re.escape(w) + "|" for w in sorted(keep, key=len, reverse=True))
    return re.compile(rf"\s+|[{_OPEN}]*(?:{words}{_CORE})[{_CLOSE}]*")


def tokens(text: str, keep: tuple[str, ...] = ()) -> list[str]:
    """The units a line may break between: spaces, Latin words and numbers, ``keep`` words, single CJK
    characters."""
    return _tokenizer(keep).findall(text)


def wrap(text: str, size_pt: float, width_pt: float, bold: bool = False,
         keep: tuple[str, ...] = ()) -> list[str]:
    """Greedy wrap between tokens; a token wider than ``width_pt`` stays whole on a line of its own."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in tokens(paragraph, keep):
            candidate = line + token
            if not line.strip() or text_width_pt(candidate.rstrip(), size_pt, bold) <= width_pt:
                line = candidate
                continue
            lines.append(line.rstrip())
            line = token.lstrip()
        lines.append(line.rstrip())
    return lines


def overlong(text: str, size_pt: float, width_pt: float, bold: bool = False,
             keep: tuple[str, ...] = ()) -> list[str]:
    """The tokens of ``text`` wider than ``width_pt`` at ``size_pt``: they cannot fit any line."""
    return [t for t in tokens(text, keep) if not t.isspace() and text_width_pt(t, size_pt, bold) > width_pt]


def balanced_wrap(text: str, size_pt: float, width_pt: float, bold: bool = False,
                  keep: tuple[str, ...] = ()) -> list[str]:
    """Wrap into as few lines as ``wrap`` would, but with lines as even as possible."""
    lines = wrap(text, size_pt, width_pt, bold, keep)
    if len(lines) < 2:
        return lines
    low, high = 1.0, width_pt
    while high - low > 0.5:
        mid = (low + high) / 2
        if len(wrap(text, size_pt, mid, bold, keep)) <= len(lines):
            high = mid
        else:
            low = mid
    return wrap(text, size_pt, high, bold, keep)


def truncate(text: str, size_pt: float, width_pt: float, bold: bool = False) -> str:
    """Cut text to one line of ``width_pt`` between tokens, ending with an ellipsis when cut."""
    if text_width_pt(text, size_pt, bold) <= width_pt:
        return text
    parts = tokens(text)
    while parts and text_width_pt("".join(parts).rstrip() + "…", size_pt, bold) > width_pt:
        parts.pop()
    return "".join(parts).rstrip() + "…"


def fits(text: str, size_pt: float, width_pt: float, height_pt: float, bold: bool = False,
         max_lines: int | None = None, keep: tuple[str, ...] = ()) -> bool:
    """Whether ``text`` wraps into the box at ``size_pt`` without breaking a token."""
    if overlong(text, size_pt, width_pt, bold, keep):
        return False
    lines = wrap(text, size_pt, width_pt, bold, keep)
    return (max_lines is None or len(lines) <= max_lines) and len(lines) * line_height_pt(size_pt) <= height_pt


def fit_size(texts: list[str], width_pt: float, height_pt: float, max_pt: int, min_pt: int,
             bold: bool = False, max_lines: int | None = None, keep: tuple[str, ...] = ()) -> int:
    """Largest whole point size in min_pt..max_pt at which every text fits the box; a ``TextFitError`` naming
    the text (and a word too long for the line) when none does."""
    for size in range(max_pt, min_pt - 1, -1):
        if all(fits(t, size, width_pt, height_pt, bold, max_lines, keep) for t in texts):
            return size
    raise not_fitting(texts, min_pt, width_pt, height_pt, bold, keep)


def not_fitting(texts: list[str], size_pt: float, width_pt: float, height_pt: float, bold: bool = False,
                keep: tuple[str, ...] = ()) -> TextFitError:
    """The error for texts that do not fit a width_pt x height_pt box at size_pt."""
    bad = [t for t in texts if not fits(t, size_pt, width_pt, height_pt, bold, keep=keep)] or texts
    words = sorted({w for t in bad for w in overlong(t, size_pt, width_pt, bold, keep)})
    why = f"; too long for a line: {', '.join(words)}" if words else ""
    return TextFitError(f"{bad[0]!r} does not fit {width_pt:.0f} x {height_pt:.0f} pt at {size_pt:g} pt{why}")


def block_height_pt(paragraphs: list[str], size_pt: float, width_pt: float, bold: bool = False,
                    space_after_pt: float = 0.0) -> float:
    """Height of paragraphs wrapped at ``width_pt``, each followed by ``space_after_pt`` but the last."""
    lines = sum(len(wrap(p, size_pt, width_pt, bold)) for p in paragraphs)
    return lines * line_height_pt(size_pt) + space_after_pt * max(len(paragraphs) - 1, 0)


def fit_block(paragraphs: list[str], width_pt: float, height_pt: float, max_pt: float, min_pt: float,
              bold: bool = False, space_after_pt: float = 0.0) -> float:
    """``max_pt`` if the paragraphs fit the box together at it, else the largest whole size down to ``min_pt``
    at which they do; a ``TextFitError`` naming the text when none does."""
    sizes = [max_pt, *range(math.ceil(max_pt) - 1, math.ceil(min_pt) - 1, -1)]
    for size in sizes:
        if not any(overlong(p, size, width_pt, bold) for p in paragraphs) and \
                block_height_pt(paragraphs, size, width_pt, bold, space_after_pt) <= height_pt:
            return size
    raise not_fitting(["\n".join(paragraphs)], min_pt, width_pt, height_pt, bold)
