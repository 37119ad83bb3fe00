"""Open a generated document the way a person would: LibreOffice to PDF, poppler to text and PNG."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Rendered pages land here for a person to look at after the run (out/ is not committed).
PAGES_OUT = ROOT / "out" / "document-checks"


def _tools() -> tuple[str, str, str]:
    office = shutil.which("libreoffice") or shutil.which("soffice")
    pdftoppm, pdftotext = shutil.which("pdftoppm"), shutil.which("pdftotext")
    if office is None or pdftoppm is None or pdftotext is None:
        pytest.skip(
            "LibreOffice or poppler is not installed (apt-get install libreoffice-writer-nogui poppler-utils)"
        )
    return office, pdftoppm, pdftotext


def to_pdf(document: bytes, tmp_path: Path, name: str) -> Path:
    """Convert .docx bytes to PDF with LibreOffice, in a throwaway profile."""
    office, _, _ = _tools()
    source = tmp_path / f"{name}.docx"
    source.write_bytes(document)
    subprocess.run(
        [
            office,
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=180,
    )
    pdf = tmp_path / f"{name}.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    return pdf


def page_texts(pdf: Path) -> list[str]:
    """The text of every page, in order (pdftotext separates pages with form feeds)."""
    _, _, pdftotext = _tools()
    done = subprocess.run(
        [pdftotext, "-layout", str(pdf), "-"], check=True, capture_output=True, timeout=60, text=True
    )
    return done.stdout.split("\f")[:-1]


def page_pngs(pdf: Path, first: int, last: int, name: str) -> list[Path]:
    """Render pages first..last to PNG under :data:`PAGES_OUT` for a person to look at."""
    _, pdftoppm, _ = _tools()
    PAGES_OUT.mkdir(parents=True, exist_ok=True)
    for old in PAGES_OUT.glob(f"{name}-*.png"):
        old.unlink()
    subprocess.run(
        [pdftoppm, "-r", "80", "-png", "-f", str(first), "-l", str(last), str(pdf), str(PAGES_OUT / name)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return sorted(PAGES_OUT.glob(f"{name}-*.png"))
