"""Measure and wrap text with real font metrics (Pillow + a CJK font) before trusting it fits.

python-pptx cannot measure text. We measure with Noto Sans CJK (its Latin glyphs are a little
wider than Arial's, so the estimate errs on the safe side). Without the font we fall back to
conservative em-based widths: wide (CJK) characters 1 em, others 0.6 em.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
import unicodedata
from pathlib import Path

from PIL import ImageFont

_REF_SIZE = 100
_FALLBACK_LINE_HEIGHT = 1.45  # Noto Sans CJK ascent + descent, in em
_CANDIDATES = (
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 2),
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc", 2),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 2),
    ("/System/Library/Fonts/PingFang.ttc", 0),
    ("C:/Windows/Fonts/msyh.ttc", 0),
)
# Tokens that wrap as a unit: a run of non-wide, non-space characters (a Latin word, a number).
_WIDE = r"\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60"
_TOKEN = re.compile(rf"\s+|[^\s{_WIDE}]+|.")


@functools.cache
def _font(bold: bool) -> ImageFont.FreeTypeFont | None:
    candidates = list(_CANDIDATES)
    if shutil.which("fc-match"):
        pattern = "Noto Sans CJK SC:bold" if bold else "Noto Sans CJK SC"
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}\t%{index}", pattern],
                                 capture_output=True, text=True, timeout=10, check=False).stdout
            file, _, face = out.partition("\t")
            if "CJK" in file:
                candidates.insert(0, (file, int(face or 0)))
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    for path, index in candidates:
        if bold != ("Bold" in path) and "Noto" in path:
            continue
        if Path(path).exists():
            try:
                return ImageFont.truetype(path, _REF_SIZE, index=index)
            except OSError:
                continue
    return None


def _is_wide(char: str) -> bool:
    return unicodedata.east_asian_width(char) in "WF"


def text_width_pt(text: str, size_pt: float, bold: bool = False) -> float:
    """Width of one line. Adds a quarter em wherever CJK meets Latin text, as renderers that
    auto-space Asian and Latin text (LibreOffice, Word) do; PowerPoint then has slack."""
    font = _font(bold)
    if font is not None:
        width = font.getlength(text) * size_pt / _REF_SIZE
    else:
        width = sum(1.0 if _is_wide(c) else 0.6 for c in text) * size_pt * (1.05 if bold else 1.0)
    visible = [c for c in text if not c.isspace()]
    switches = sum(1 for a, b in zip(visible, visible[1:], strict=False) if _is_wide(a) != _is_wide(b))
    return width + switches * 0.25 * size_pt


def line_height_pt(size_pt: float) -> float:
    font = _font(False)
    if font is None:
        return _FALLBACK_LINE_HEIGHT * size_pt
    ascent, descent = font.getmetrics()
    return (ascent + descent) * size_pt / _REF_SIZE


@functools.cache
def _tokenizer(keep: tuple[str, ...]) -> re.Pattern[str]:
    if not keep:
        return _TOKEN
    words = "|".join(re.escape(w) for w in sorted(keep, key=len, reverse=True))
    return re.compile(f"{words}|{_TOKEN.pattern}")


def wrap(text: str, size_pt: float, width_pt: float, bold: bool = False,
         keep: tuple[str, ...] = ()) -> list[str]:
    """Greedy wrap: CJK breaks between any characters except inside ``keep`` words; Latin words
    stay whole when they fit."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        line = ""
        for token in _tokenizer(keep).findall(paragraph):
            candidate = line + token
            if not line or text_width_pt(candidate, size_pt, bold) <= width_pt:
                line = candidate
                continue
            lines.append(line.rstrip())
            line = token.lstrip()
            while line and text_width_pt(line, size_pt, bold) > width_pt and len(line) > 1:
                cut = len(line) - 1
                while cut > 1 and text_width_pt(line[:cut], size_pt, bold) > width_pt:
                    cut -= 1
                lines.append(line[:cut])
                line = line[cut:]
        lines.append(line.rstrip())
    return lines


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
    """Cut text to one line of ``width_pt``, ending with an ellipsis when cut."""
    if text_width_pt(text, size_pt, bold) <= width_pt:
        return text
    cut = len(text)
    while cut > 1 and text_width_pt(text[:cut].rstrip() + "…", size_pt, bold) > width_pt:
        cut -= 1
    return text[:cut].rstrip() + "…"


def block_height_pt(text: str, size_pt: float, width_pt: float, bold: bool = False,
                    spacing: float = 1.0) -> float:
    return len(wrap(text, size_pt, width_pt, bold)) * line_height_pt(size_pt) * spacing


def fit_size(texts: list[str], width_pt: float, height_pt: float, max_pt: int, min_pt: int,
             bold: bool = False, max_lines: int | None = None) -> int:
    """Largest whole point size (>= min_pt) at which every text fits the box; min_pt if none does."""
    for size in range(max_pt, min_pt - 1, -1):
        ok = True
        for text in texts:
            lines = wrap(text, size, width_pt, bold)
            if (max_lines is not None and len(lines) > max_lines) or \
                    len(lines) * line_height_pt(size) > height_pt:
                ok = False
                break
        if ok:
            return size
    return min_pt
