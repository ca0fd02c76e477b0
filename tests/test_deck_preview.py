"""deck_preview: LibreOffice renders a deck to PNG thumbnails; under CI=true LibreOffice must be installed."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import zipfile
from pathlib import Path

import dagster as dg
import pytest
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.enum.chart import XL_CHART_TYPE
from pptx.util import Inches, Pt

from deck_assets import preview


def _small_deck(path: Path, slides: int = 2) -> Path:
    prs = Presentation()
    prs.core_properties.created = prs.core_properties.modified = dt.datetime(2026, 3, 1)  # as the deck builder does
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    for number in range(1, slides + 1):
        slide = prs.slides.add_slide(prs.slide_layouts[5])
        slide.shapes.title.text = f"算力效率挑战概述 {number}"
        slide.shapes.title.text_frame.paragraphs[0].runs[0].font.size = Pt(32)
    prs.save(str(path))
    return path


@pytest.fixture
def tools() -> None:
    missing = preview.missing_tools()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true needs LibreOffice to render the deck preview; install {' '.join(missing)}")
        pytest.skip(f"not installed: {', '.join(missing)}")


def test_renders_one_png_per_slide(tools: None, tmp_path: Path) -> None:
    deck = _small_deck(tmp_path / "deck.pptx")
    out = tmp_path / "preview"
    (out).mkdir()
    (out / "slide-09.png").write_bytes(b"stale")

    pngs = preview.render_pngs(deck, out)

    assert [p.name for p in pngs] == ["slide-01.png", "slide-02.png"]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in pngs)
    assert not (out / "slide-09.png").exists()
    assert (out / "deck.pdf").read_bytes().startswith(b"%PDF")


def test_the_same_deck_keeps_its_pngs_and_a_changed_one_is_rendered_again(tools: None, tmp_path: Path) -> None:
    deck, out = _small_deck(tmp_path / "deck.pptx"), tmp_path / "preview"
    assert preview.rendered(deck, out) is None
    first = preview.render_pngs(deck, out)
    assert preview.rendered(deck, out) == first

    again = _small_deck(tmp_path / "again.pptx")  # the same slides built and saved again: the same parts
    assert preview.rendered(again, out) == first

    changed = _small_deck(tmp_path / "changed.pptx", slides=3)
    assert preview.rendered(changed, out) is None
    assert len(preview.render_pngs(changed, out)) == 3
    assert preview.rendered(deck, out) is None  # the PNGs now show the changed deck


def _rewritten(package: bytes, part: str, edit) -> bytes:  # noqa: ANN001 (bytes -> bytes)
    """A zip package with one part's bytes edited, the others copied."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as source, zipfile.ZipFile(out, "w") as target:
        for name in source.namelist():
            data = source.read(name)
            target.writestr(name, edit(data) if name == part else data)
    return out.getvalue()


def test_a_charts_workbook_written_at_another_time_is_the_same_deck(tmp_path: Path) -> None:
    prs = Presentation()
    data = CategoryChartData()
    data.categories, _ = ["阶段一", "阶段二"], data.add_series("利用率", (31.0, 67.3))
    slide = prs.slides.add_slide(prs.slide_layouts[6])
    slide.shapes.add_chart(XL_CHART_TYPE.COLUMN_CLUSTERED, 0, 0, Inches(6), Inches(4), data)
    deck = tmp_path / "chart.pptx"
    prs.save(str(deck))
    workbook = next(n for n in zipfile.ZipFile(deck).namelist() if n.endswith(".xlsx"))

    def written_later(xlsx: bytes) -> bytes:
        def stamp(xml: bytes) -> bytes:
            later = re.sub(rb"\d{4}-\d\d-\d\dT[\d:]+Z", b"2031-01-01T00:00:00Z", xml)
            assert later != xml  # the workbook's properties carry the time it was written
            return later
        return _rewritten(xlsx, "docProps/core.xml", stamp)

    def other_values(xlsx: bytes) -> bytes:
        return _rewritten(xlsx, "xl/worksheets/sheet1.xml", lambda xml: xml.replace(b"67.3", b"76.3"))

    later, other = tmp_path / "later.pptx", tmp_path / "other.pptx"
    later.write_bytes(_rewritten(deck.read_bytes(), workbook, written_later))
    other.write_bytes(_rewritten(deck.read_bytes(), workbook, other_values))
    assert later.read_bytes() != deck.read_bytes()
    assert preview.content_key(later) == preview.content_key(deck)
    assert preview.content_key(other) != preview.content_key(deck)


def test_deck_preview_asset_shows_thumbnails(tools: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.defs.assets import deck as deck_module

    deck = _small_deck(tmp_path / "gpu_efficiency_2026-03-01.pptx", slides=3)
    monkeypatch.setattr(deck_module.paths, "deck_dir", lambda base=None: tmp_path)

    result = deck_module.deck_preview(dg.build_asset_context())

    assert result.metadata["pages"] == 3
    assert Path(result.metadata["contact_sheet"].value).read_bytes().startswith(b"\x89PNG")
    # an ephemeral instance keeps no compute logs on disk for the webserver to serve: the sheet's path instead
    assert "contact_sheet.png" in result.metadata["slides"].value
    assert str(deck) == result.metadata["deck"].value


def test_the_contact_sheet_is_served_from_the_instances_compute_log_storage(tmp_path: Path) -> None:
    from orchestration.defs.assets.deck_metadata import served_image

    image = tmp_path / "contact_sheet.png"
    image.write_bytes(b"\x89PNG")
    with dg.instance_for_test() as instance:
        url = served_image(instance, image, "run-1")
        copy = instance.compute_log_manager.get_captured_local_path(["gpu_eff_deck_preview", "run-1",
                                                                     "contact_sheet"], "png")
        assert Path(copy).read_bytes() == b"\x89PNG"
    assert url == "/logs/gpu_eff_deck_preview/run-1/contact_sheet/png"  # the webserver's log-download route


def test_deck_preview_is_skipped_without_libreoffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestration.defs.assets import deck as deck_module

    _small_deck(tmp_path / "gpu_efficiency_2026-03-01.pptx")
    monkeypatch.setattr(deck_module.paths, "deck_dir", lambda base=None: tmp_path)
    real_which = shutil.which
    hidden = ("soffice", "libreoffice", "pdftoppm")  # a bare machine
    monkeypatch.setattr(shutil, "which", lambda name: None if name in hidden else real_which(name))

    result = deck_module.deck_preview(dg.build_asset_context())

    assert result.metadata["skipped"] == ("LibreOffice and pdftoppm not installed; the deck is built, only its "
                                          "thumbnails need them (Debian/Ubuntu: apt-get install libreoffice-impress "
                                          "poppler-utils)")
    assert not (tmp_path / "preview").exists()


def test_deck_checks_are_registered_blocking_except_talk_time_and_status_currency() -> None:
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    specs = {key.name: graph.get_check_spec(key) for key in graph.asset_check_keys
             if key.asset_key == dg.AssetKey("deck")}

    assert set(specs) == {"structure", "titles_and_notes", "text_overflow", "shapes_on_slide", "min_font",
                          "numbers_in_evidence", "tier_labels", "claim_forms", "talk_time", "status_currency"}
    assert {name for name, spec in specs.items() if not spec.blocking} == {"talk_time", "status_currency"}
    assert dg.AssetKey("deck") in graph.get(dg.AssetKey("deck_preview")).parent_keys
