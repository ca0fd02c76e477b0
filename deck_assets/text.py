"""Pure text helpers: sanitising data text, formatting numbers, filling outline templates."""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping

# Characters XML 1.0 forbids (C0 controls except tab/newline/CR, surrogates, U+FFFE/U+FFFF)
# plus DEL and the C1 controls, which are legal XML but never meant as visible slide text.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"[\t\r\n]+")
MINUS = "\u2212"


def sanitize(text: object, *, max_len: int | None = None, single_line: bool = True,
             strip: bool = True) -> str:
    """Make text from data safe to put on a slide: no XML-illegal or control characters."""
    cleaned = _ILLEGAL.sub("", str(text))
    cleaned = _SPACES.sub(" ", cleaned) if single_line else cleaned.replace("\r\n", "\n").replace("\r", "\n")
    if strip:
        cleaned = cleaned.strip()
    if max_len is not None and len(cleaned) > max_len:
        cleaned = cleaned[: max_len - 1].rstrip() + "…"
    return cleaned


def format_number(value: float | None, fmt: str, missing: str = "—") -> str:
    """Format a metric value: int, d1, d2 (fixed decimals) or sig3 (three significant digits)."""
    if value is None or math.isnan(value) or math.isinf(value):
        return missing
    if fmt == "int":
        decimals = 0
    elif fmt in ("d1", "d2"):
        decimals = int(fmt[1])
    elif fmt == "sig3":
        decimals = 0 if value == 0 else max(0, 2 - math.floor(math.log10(abs(value))))
    else:
        raise ValueError(f"unknown number format {fmt!r}")
    text = f"{value:,.{decimals}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # no "-0.0"
    return text.replace("-", MINUS)


def zh_scale(values: list[float | None]) -> tuple[float, str]:
    """A shared divisor and prefix (万, 亿) for a group of large values, so a row reads at one scale."""
    largest = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if largest >= 1e8:
        return 1e8, "亿"
    if largest >= 1e4:
        return 1e4, "万"
    return 1.0, ""


def format_change(percent: float | None, missing: str = "—") -> str:
    """A signed percentage change: +12.3%, −45%, +140%."""
    if percent is None or math.isnan(percent) or math.isinf(percent):
        return missing
    decimals = 0 if abs(percent) >= 100 else 1
    text = f"{abs(percent):,.{decimals}f}%"
    if float(f"{percent:.{decimals}f}") == 0:
        return text
    return ("+" if percent > 0 else MINUS) + text


def format_ratio(ratio: float | None, missing: str = "—") -> str:
    if ratio is None or math.isnan(ratio) or math.isinf(ratio):
        return missing
    return f"{ratio:,.2f}" if ratio < 10 else f"{ratio:,.1f}"


class _KeepMissing(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def fill(template: str, values: Mapping[str, object]) -> str:
    """Fill {placeholders} from values (sanitised); unknown placeholders stay visible."""
    safe = _KeepMissing({k: sanitize(v) for k, v in values.items()})
    return string.Formatter().vformat(template, (), safe)
