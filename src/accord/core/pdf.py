"""PDF documents with fpdf2 (pure Python), as the crisis archive export and the briefs make them: A4, made by
Accord, pages broken automatically, and Debian's DejaVu fonts for non-Latin scripts (Greek, Cyrillic, …) when the
system has them, else the PDF core fonts (Latin-1 only: other characters become ``?``).

fpdf2 is imported when a document is made, not when this module is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")  # Debian's fonts-dejavu-core (installed by the setup)


class Fonts:
    """DejaVu (Latin, Greek, Cyrillic, …) when the system has it; else the PDF core fonts (Latin-1 only).

    ``body`` and ``mono`` are the family names to pass to ``set_font``; ``text`` makes a value printable in them."""

    def __init__(self, pdf: Any) -> None:
        self.unicode = (FONT_DIR / "DejaVuSans.ttf").is_file() and (FONT_DIR / "DejaVuSansMono.ttf").is_file()
        if self.unicode:
            pdf.add_font("body", "", str(FONT_DIR / "DejaVuSans.ttf"))
            pdf.add_font("body", "B", str(FONT_DIR / "DejaVuSans-Bold.ttf"))
            pdf.add_font("mono", "", str(FONT_DIR / "DejaVuSansMono.ttf"))
        self.body, self.mono = ("body", "mono") if self.unicode else ("Helvetica", "Courier")

    def text(self, value: Any) -> str:
        text = str(value or "")
        return text if self.unicode else text.encode("latin-1", "replace").decode("latin-1")


def document(title: str) -> tuple[Any, Fonts]:
    """A new A4 document titled ``title``, with its fonts registered and its first page added."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    fonts = Fonts(pdf)
    pdf.set_title(fonts.text(title))
    pdf.set_creator("Accord")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    return pdf, fonts


def paragraph(pdf: Any, fonts: Fonts, value: Any, size: float, style: str, height: float) -> None:
    """``value`` as a left-aligned paragraph across the page's width, in the body font; the cursor goes below it."""
    pdf.set_font(fonts.body, style, size)
    pdf.multi_cell(pdf.epw, height, fonts.text(value), align="L", new_x="LMARGIN", new_y="NEXT")
