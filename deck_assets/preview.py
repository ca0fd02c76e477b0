"""Render a deck to PNGs to look at it: ``python -m deck_assets.preview DECK.pptx OUT_DIR``.

Needs LibreOffice (``soffice``) and poppler (``pdftoppm``); a development aid, not used by the build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def render_pngs(deck: Path, out_dir: Path, dpi: int = 80) -> list[Path]:
    if not (shutil.which("soffice") and shutil.which("pdftoppm")):
        raise RuntimeError("needs soffice (libreoffice-impress) and pdftoppm (poppler-utils)")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp}/profile", "--headless",
                        "--convert-to", "pdf", "--outdir", tmp, str(deck)],
                       check=True, capture_output=True, timeout=300)
        pdf = Path(tmp) / (deck.stem + ".pdf")
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), str(pdf), str(out_dir / deck.stem)],
                       check=True, capture_output=True, timeout=300)
    return sorted(out_dir.glob(f"{deck.stem}*.png"))


if __name__ == "__main__":
    for png in render_pngs(Path(sys.argv[1]), Path(sys.argv[2])):
        print(png)
