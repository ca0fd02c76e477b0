"""Render a deck to PNG thumbnails with LibreOffice: ``python -m deck_assets.preview DECK.pptx OUT_DIR``.

``soffice --headless --convert-to pdf`` (a private user profile per call, so parallel runs do not share one),
then ``pdftoppm -png -r DPI``. Needs LibreOffice Impress (Debian: ``libreoffice-impress``) and poppler
(``poppler-utils``); ``missing_tools()`` says which are absent.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

DPI = 60
TIMEOUT_S = 300
SOFFICE_PACKAGE = "libreoffice-impress"
RENDERED_FROM = "deck.sha256"  # in the preview folder: the content_key of the deck its PNGs show
PDFTOPPM_PACKAGE = "poppler-utils"


class PreviewError(RuntimeError):
    """LibreOffice or pdftoppm failed; the message carries their output."""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def missing_tools() -> list[str]:
    """Debian packages to install before a preview can render (empty when all is there)."""
    missing = []
    if soffice() is None:
        missing.append(SOFFICE_PACKAGE)
    if shutil.which("pdftoppm") is None:
        missing.append(PDFTOPPM_PACKAGE)
    return missing


def _run(cmd: list[str], timeout: float) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as exc:
        raise PreviewError(f"{Path(cmd[0]).name} did not finish within {timeout:g} s") from exc
    if done.returncode != 0:
        raise PreviewError(f"{Path(cmd[0]).name} exited {done.returncode}: {(done.stderr or done.stdout)[-2000:]}")


def render_pdf(deck: Path, out_dir: Path, timeout: float = TIMEOUT_S) -> Path:
    """``out_dir/<deck stem>.pdf`` rendered by LibreOffice headless."""
    binary = soffice()
    if binary is None:
        raise PreviewError(f"LibreOffice not installed (Debian package {SOFFICE_PACKAGE})")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deck-preview-profile-") as profile:
        _run([binary, f"-env:UserInstallation={Path(profile).as_uri()}", "--headless", "--norestore",
              "--convert-to", "pdf", "--outdir", str(out_dir), str(deck)], timeout)
    pdf = out_dir / (Path(deck).stem + ".pdf")
    if not pdf.exists():
        raise PreviewError(f"LibreOffice wrote no PDF for {deck}")
    return pdf


def _pdf_to_pngs(pdf: Path, prefix: Path, dpi: int, timeout: float) -> list[Path]:
    """`prefix-N.png` for each page of `pdf`, in page order. pdftoppm renders one page at a time (~0.1 s each for
    the deck, its fonts loaded per page), so the pages are split between as many pdftoppm processes as there are
    cores: 3.0 s -> 1.6 s for 31 slides on 2 cores."""
    pages = _page_count(pdf, timeout)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = max(1, min(cores, pages))
    bounds = [(1 + pages * i // workers, pages * (i + 1) // workers) for i in range(workers)]
    commands = [["pdftoppm", "-png", "-r", str(dpi), "-f", str(first), "-l", str(last), str(pdf), str(prefix)]
                for first, last in bounds if first <= last]
    with ThreadPoolExecutor(len(commands)) as pool:
        list(pool.map(lambda cmd: _run(cmd, timeout), commands))
    # pdftoppm pads the page number to the width of the page count: sort by the number, not the name
    return sorted(prefix.parent.glob(f"{prefix.name}-*.png"), key=lambda png: int(png.stem.rsplit("-", 1)[1]))


def _page_count(pdf: Path, timeout: float) -> int:
    try:
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, timeout=timeout, check=True)
        return int(re.search(r"^Pages:\s+(\d+)", info.stdout, re.MULTILINE).group(1))
    except (OSError, subprocess.SubprocessError, AttributeError, ValueError) as exc:
        raise PreviewError(f"pdfinfo could not count the pages of {pdf.name}: {exc}") from exc


def content_key(deck: Path) -> str:
    """A hash of the deck's parts, names and bytes: the same for a deck built again from the same marts on the same
    day (the builder stamps its date, not the time), whatever times the zip file records. A chart's embedded
    workbook counts by its own parts but its properties, which carry the time it was written."""
    digest = hashlib.sha256()
    _hash_parts(digest, zipfile.ZipFile(deck))
    return digest.hexdigest()


def _hash_parts(digest: Any, package: zipfile.ZipFile, skip: frozenset[str] = frozenset()) -> None:
    with package:
        for name in sorted(set(package.namelist()) - skip):
            digest.update(name.encode() + b"\0")
            if name.endswith(".xlsx"):
                _hash_parts(digest, zipfile.ZipFile(io.BytesIO(package.read(name))), frozenset({"docProps/core.xml"}))
            else:
                digest.update(package.read(name) + b"\0")


def rendered(deck: Path, out_dir: Path) -> list[Path] | None:
    """The PNGs in ``out_dir`` when they were rendered from this very deck (same content_key), else None: the
    slides are as they were, so LibreOffice (~7 s for 31 slides) need not run again."""
    key_file = Path(out_dir) / RENDERED_FROM
    if not key_file.is_file() or key_file.read_text().strip() != content_key(deck):
        return None
    pngs = sorted(Path(out_dir).glob("slide-*.png"))
    return pngs or None


def render_pngs(deck: Path, out_dir: Path, dpi: int = DPI, timeout: float = TIMEOUT_S) -> list[Path]:
    """One PNG per slide in ``out_dir`` (``slide-01.png`` ...), replacing the PNGs of an earlier render, and the
    deck's content_key beside them (``rendered``)."""
    if shutil.which("pdftoppm") is None:
        raise PreviewError(f"pdftoppm not installed (Debian package {PDFTOPPM_PACKAGE})")
    deck, out_dir = Path(deck), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="deck-preview-") as tmp:
        pdf = render_pdf(deck, Path(tmp), timeout)
        pngs = _pdf_to_pngs(pdf, Path(tmp) / "slide", dpi, timeout)
        if not pngs:
            raise PreviewError(f"pdftoppm wrote no PNG for {deck}")
        for old in out_dir.glob("slide-*.png"):
            old.unlink()
        width = len(str(len(pngs)))
        out = []
        for index, png in enumerate(pngs, start=1):
            target = out_dir / f"slide-{index:0{max(width, 2)}d}.png"
            shutil.move(str(png), target)
            out.append(target)
        shutil.copyfile(pdf, out_dir / "deck.pdf")
    (out_dir / RENDERED_FROM).write_text(content_key(deck) + "\n")
    return out


if __name__ == "__main__":
    for path in render_pngs(Path(sys.argv[1]), Path(sys.argv[2])):
        print(path)
