"""Make ``template.pptx``: the deck's look (16:9, theme fonts incl. East Asian, theme colours).

The committed ``template.pptx`` was made by ``python -m deck_assets.template``; a designer may
edit it in PowerPoint instead (keep layouts "Title Slide" and "Title Only"). The builder only
reads it. Starting point: python-pptx's default 4:3 template, widened to 13.333 x 7.5 in.
"""

from __future__ import annotations

import io
import re
import sys
import zipfile
from pathlib import Path

from pptx import Presentation
from pptx.oxml.ns import qn
from pptx.presentation import Presentation as PresentationT
from pptx.util import Emu, Inches

from deck_assets.outline import DEFAULT_OUTLINE, Fonts, load_outline

TEMPLATE_PATH = Path(__file__).with_name("template.pptx")
SLIDE_WIDTH = Inches(13.333)
SLIDE_HEIGHT = Inches(7.5)
THEME_COLOURS = {  # scheme slot -> RGB; accent1/2 colour the chart series
    "dk2": "1F2A37", "lt2": "E8EEF5", "accent1": "1F4E79", "accent2": "8FB8DE", "accent3": "76B900",
    "accent4": "E07B00", "accent5": "6B7785", "accent6": "B3261E",
}


def _widen(prs: PresentationT) -> None:
    """Set 16:9 and stretch the master's and layouts' own shape positions horizontally."""
    factor = SLIDE_WIDTH / prs.slide_width
    prs.slide_width, prs.slide_height = SLIDE_WIDTH, SLIDE_HEIGHT
    owners = [prs.slide_master, *prs.slide_layouts]
    for owner in owners:
        for shape in owner.shapes:
            if shape._element.find(qn("p:spPr")) is None or \
                    shape._element.find(qn("p:spPr")).find(qn("a:xfrm")) is None:
                continue  # inherits its position from the master, already widened
            shape.left, shape.width = Emu(int(shape.left * factor)), Emu(int(shape.width * factor))


def _theme_xml(xml: str, fonts: Fonts) -> str:
    xml = re.sub(r'(<a:(?:major|minor)Font><a:latin typeface=")[^"]*(")', rf"\g<1>{fonts.latin}\g<2>", xml)
    xml = re.sub(r'<a:ea typeface="[^"]*"/>', f'<a:ea typeface="{fonts.east_asian}"/>', xml)
    xml = re.sub(r'<a:font script="Hans" typeface="[^"]*"/>',
                 f'<a:font script="Hans" typeface="{fonts.east_asian_fallback}"/>', xml)
    for slot, rgb in THEME_COLOURS.items():
        xml = re.sub(rf"<a:{slot}>.*?</a:{slot}>", f'<a:{slot}><a:srgbClr val="{rgb}"/></a:{slot}>', xml,
                     count=1, flags=re.S)
    return xml.replace('<a:clrScheme name="Office">', '<a:clrScheme name="GPU Efficiency">')


def make_template(fonts: Fonts, path: Path = TEMPLATE_PATH) -> Path:
    prs = Presentation()
    _widen(prs)
    raw = io.BytesIO()
    prs.save(raw)
    out = io.BytesIO()
    with zipfile.ZipFile(raw) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename.startswith("ppt/theme/theme"):
                data = _theme_xml(data.decode("utf-8"), fonts).encode("utf-8")
            item.date_time = (2026, 1, 1, 0, 0, 0)  # reproducible bytes
            dst.writestr(item, data)
    path.write_bytes(out.getvalue())
    return path


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else TEMPLATE_PATH
    print(make_template(load_outline(DEFAULT_OUTLINE).fonts, target))
