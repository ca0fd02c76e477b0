"""deck_assets.measure: fixed metrics (no font opened), valid for the fonts the deck is shown in; wrapping that
never breaks a word."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import yaml
from PIL import ImageFont

from deck_assets import measure
from deck_assets.diagrams import fitted
from deck_assets.font_metrics import CHARS, FONTS

SAMPLES = ["PagedAttention", "Sustainability", "算力效率挑战概述", "GPU 利用率 25.1%▲（基线）",
           "数据来源：模拟集群（非生产数据）　·　截至 2026-11-27", "“NVSwitch” — 机内 → 机间…", "Throughput/$ × 2"]
LATIN = re.compile(r"[A-Za-z]{2,}")


def _measured() -> list[tuple[float, float, list[str]]]:
    return [(measure.text_width_pt(s, 14), measure.text_width_pt(s, 14, bold=True), measure.wrap(s, 14, 80))
            for s in SAMPLES]


def test_widths_are_the_same_without_any_font(monkeypatch: pytest.MonkeyPatch) -> None:
    measure._widths.cache_clear()
    with_fonts = _measured()

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("no fonts on this machine")

    monkeypatch.setattr(ImageFont, "truetype", refuse)  # a machine without fonts: opening one fails,
    monkeypatch.setattr(subprocess, "run", refuse)  # and so does asking fontconfig
    measure._widths.cache_clear()
    assert _measured() == with_fonts
    assert measure.line_height_pt(20) == pytest.approx(29.0)


def _installed(weight: str) -> list[ImageFont.FreeTypeFont]:
    fonts = [(path, index) for faces in FONTS.values() for w, (path, index) in faces.items() if w == weight]
    return [ImageFont.truetype(path, 1000, index=index) for path, index in fonts if Path(path).exists()]


@pytest.mark.parametrize("weight", ["regular", "bold"])
def test_the_table_is_never_narrower_than_the_fonts_it_covers(weight: str) -> None:
    fonts = _installed(weight)
    if len(fonts) < 2:
        pytest.skip("Liberation Sans and Noto Sans CJK SC are not both installed")
    bold = weight == "bold"
    for font in fonts:
        for char in CHARS:
            assert round(measure.char_width_em(char, bold) * 1000) >= round(font.getlength(char)), char
        for text in SAMPLES:  # the CJK font draws every sample; widths are never underestimated
            if font.getname()[0].startswith("Noto"):
                assert measure.text_width_pt(text, 1000, bold) >= font.getlength(text), (text, weight)


def test_line_height_is_the_tallest_of_the_fonts() -> None:
    table = yaml.safe_load(measure.METRICS_PATH.read_text(encoding="utf-8"))
    assert max(table["line_height_em"].values()) <= measure.LINE_HEIGHT_EM
    assert measure.LINE_HEIGHT_EM >= 1.4  # Microsoft YaHei ~1.32 em, PingFang SC ~1.4 em


def test_wrap_never_breaks_a_latin_word() -> None:
    text = "推理服务启用 PagedAttention 与 Sustainability 指标，连续批处理 Throughput/$ 提升"
    for width in range(60, 400, 7):
        lines = measure.wrap(text, 14, width)
        assert "".join(lines).replace(" ", "") == text.replace(" ", "")
        words = [w for line in lines for w in LATIN.findall(line)]
        assert words == LATIN.findall(text), width


def test_a_word_wider_than_the_line_keeps_its_own_line_and_is_reported() -> None:
    width = measure.text_width_pt("PagedAttention", 14) - 1
    lines = measure.wrap("使用 PagedAttention 技术", 14, width)
    assert "PagedAttention" in lines
    assert measure.overlong("使用 PagedAttention 技术", 14, width) == ["PagedAttention"]
    with pytest.raises(measure.TextFitError, match="too long for a line: PagedAttention"):
        measure.fit_size(["使用 PagedAttention 技术"], width, 200, 18, 14)


def test_closing_punctuation_never_starts_a_line() -> None:
    text = "快速恢复：隔离坏节点，热备替换，断点续训"
    for width in range(40, 300, 3):
        assert not any(line[:1] in "，。：、；" for line in measure.wrap(text, 20, width)), width


def test_truncate_cuts_between_words() -> None:
    text = "Wu et al. (TGS), NSDI 2023"
    for width in range(40, 160, 5):
        cut = measure.truncate(text, 12, width)
        prefix = cut.removesuffix("…")
        assert text.startswith(prefix)
        assert cut == text or not (prefix[-1:].isalnum() and text[len(prefix)].isalnum()), cut
        assert cut == "…" or measure.text_width_pt(cut, 12) <= width


def test_a_diagram_label_that_cannot_fit_is_an_error_naming_it() -> None:
    assert fitted("PagedAttention", 200, 40)[1] == ["PagedAttention"]
    with pytest.raises(measure.TextFitError, match="PagedAttention"):
        fitted("PagedAttention", 60, 40)
