"""Lay a :class:`~metacascade.reports.document.ReportContent` out as a PDF with reportlab (platypus).

The same blocks as the HTML template, in the same order: paragraphs, tables (cells wrapped,
header row repeated across pages), the scenario text, the figures scaled to the frame, the
numbered references. Text is drawn with the standard PDF fonts (Windows-1252 characters);
anything outside is replaced by a close ASCII form.
"""

from __future__ import annotations

import io
import textwrap
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import (
    Image,
    KeepTogether,
    Paragraph,
    Preformatted,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from metacascade.reports.document import ReportContent

__all__ = ["write_pdf"]

_REPLACE = {
    "\u2265": ">=",
    "\u2264": "<=",
    "\u2248": "~",
    "\u2192": "->",
    "\u2212": "-",
    "\u03b1": "alpha",
    "\u03c3": "sigma",
    "\u03ba": "kappa",
}
_CELL_SIZE = 7.5  # points, table cells
_PAD = 2 * 3.0 + 1.0  # left and right cell padding, plus a point of slack
_PRE_WIDTH = 100  # characters per line of the scenario text (Courier 7 pt fits about 110 on A4)


def _clean(text: str) -> str:
    """``text`` drawable with the standard fonts (Windows-1252), characters outside replaced."""
    out = []
    for ch in text:
        if ch in _REPLACE:
            out.append(_REPLACE[ch])
            continue
        try:
            ch.encode("cp1252")
            out.append(ch)
        except UnicodeEncodeError:
            out.append("?")
    return "".join(out)


def _para(text: str) -> str:
    return escape(_clean(text))


def _styles() -> dict[str, Any]:

    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontSize=9.5, leading=12.5, spaceAfter=5)
    return {
        "title": ParagraphStyle("title", parent=base["Title"], fontSize=18, leading=22, spaceAfter=4),
        "subtitle": ParagraphStyle(
            "subtitle", parent=body, fontSize=11, leading=14, textColor=colors.HexColor("#444444")
        ),
        "h1": ParagraphStyle(
            "h1",
            parent=base["Heading1"],
            fontSize=14,
            leading=17,
            spaceBefore=12,
            spaceAfter=6,
            textColor=colors.HexColor("#2a5d8f"),
        ),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontSize=11, leading=14, spaceBefore=8, spaceAfter=4),
        "body": body,
        "emph": ParagraphStyle(
            "emph",
            parent=body,
            fontName="Helvetica-Oblique",
            backColor=colors.HexColor("#fff6e0"),
            borderPadding=4,
            spaceBefore=4,
            spaceAfter=8,
        ),
        "caption": ParagraphStyle(
            "caption", parent=body, fontName="Helvetica-Bold", fontSize=8.5, leading=11, spaceAfter=3
        ),
        "figcaption": ParagraphStyle("figcaption", parent=body, fontSize=8.5, leading=11, alignment=1),
        "cell": ParagraphStyle("cell", parent=body, fontSize=_CELL_SIZE, leading=9, spaceAfter=0),
        "cell_num": ParagraphStyle(
            "cell_num", parent=body, fontSize=_CELL_SIZE, leading=9, spaceAfter=0, alignment=TA_RIGHT
        ),
        "head": ParagraphStyle(
            "head", parent=body, fontName="Helvetica-Bold", fontSize=_CELL_SIZE, leading=9, spaceAfter=0
        ),
        "pre": ParagraphStyle("pre", parent=body, fontName="Courier", fontSize=7, leading=8.5),
        "ref": ParagraphStyle("ref", parent=body, fontSize=8.5, leading=11, leftIndent=14, firstLineIndent=-14),
    }


def _col_widths(block: Any, width: float) -> list[float]:
    """Column widths summing to ``width``: each column at least its longest word (numbers with
    non-breaking spaces count as one word), the rest shared in proportion to what a column
    lacks for its longest cell on one line."""

    def w(text: str, font: str) -> float:
        return stringWidth(_clean(text), font, _CELL_SIZE)

    least, want = [], []
    for j, head in enumerate(block.columns):
        cells = [r[j] for r in block.rows if j < len(r)]
        words = [(x, "Helvetica") for c in cells for x in c.split(" ")]
        words += [(x, "Helvetica-Bold") for x in head.split(" ")]
        least.append(max(w(x, f) for x, f in words) + _PAD)
        want.append(max([w(c, "Helvetica") for c in cells] + [w(head, "Helvetica-Bold")]) + _PAD)
    if sum(want) <= width:
        return [x * width / sum(want) for x in want]
    spare = width - sum(least)
    if spare <= 0:
        return [x * width / sum(least) for x in least]
    lack = [b - a for a, b in zip(least, want)]
    return [a + spare * d / sum(lack) for a, d in zip(least, lack)]


def _table(block: Any, st: dict[str, Any], width: float) -> list[Any]:

    out: list[Any] = []
    if block.caption:
        out.append(Paragraph(_para(block.caption), st["caption"]))
    head = [Paragraph(_para(c), st["head"]) for c in block.columns]
    rows = [
        [Paragraph(_para(c), st["cell_num"] if block.is_numeric(j) else st["cell"]) for j, c in enumerate(r)]
        for r in block.rows
    ]
    table = Table([head, *rows], colWidths=_col_widths(block, width), repeatRows=1, hAlign="LEFT")
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#c9d3dd")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8eef4")),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f9fb")]),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ("LEFTPADDING", (0, 0), (-1, -1), 3),
                ("RIGHTPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    out.append(table)
    return out


def _figure(block: Any, st: dict[str, Any], width: float, max_height: float) -> list[Any]:

    w, h = ImageReader(io.BytesIO(block.png)).getSize()
    scale = min(width / w, max_height / h)
    image = Image(io.BytesIO(block.png), width=w * scale, height=h * scale)
    caption = block.caption + (f" ({block.name})" if block.name else "")
    return [KeepTogether([image, Paragraph(_para(caption), st["figcaption"])])]


def _preformatted(text: str, st: dict[str, Any]) -> list[Any]:

    lines = []
    for line in _clean(text).splitlines():
        lines.extend(textwrap.wrap(line, _PRE_WIDTH, subsequent_indent="    ", drop_whitespace=False) or [""])
    return [Preformatted("\n".join(lines), st["pre"])]


def write_pdf(doc: ReportContent, path: str | Path) -> None:
    """Write ``doc`` as an A4 PDF at ``path`` (the caller makes the write atomic)."""

    st = _styles()
    margin = 18 * mm
    pdf = SimpleDocTemplate(
        str(path),
        pagesize=A4,
        leftMargin=margin,
        rightMargin=margin,
        topMargin=margin,
        bottomMargin=margin,
        title=_clean(f"{doc.title}: {doc.subtitle}"),
        author="metacascade",
        subject=_clean(doc.disclaimer),
        creator="metacascade",
        lang=doc.lang,
    )
    width = A4[0] - 2 * margin
    max_height = (A4[1] - 2 * margin) * 0.6
    story: list[Any] = [
        Paragraph(_para(doc.title), st["title"]),
        Paragraph(_para(doc.subtitle), st["subtitle"]),
        Paragraph(_para(doc.source), st["body"]),
        Paragraph(_para(doc.disclaimer), st["emph"]),
        Spacer(1, 4),
    ]
    for section in doc.sections:
        story.append(Paragraph(_para(section.title), st["h1"]))
        for block in section.blocks:
            if block.kind == "paragraph":
                story.append(Paragraph(_para(block.text), st["emph" if block.emphasis else "body"]))
            elif block.kind == "subheading":
                story.append(Paragraph(_para(block.text), st["h2"]))
            elif block.kind == "table":
                story.extend(_table(block, st, width))
                story.append(Spacer(1, 6))
            elif block.kind == "pre":
                story.extend(_preformatted(block.text, st))
            elif block.kind == "figure":
                story.extend(_figure(block, st, width, max_height))
                story.append(Spacer(1, 8))
            elif block.kind == "references":
                if block.intro:
                    story.append(Paragraph(_para(block.intro), st["body"]))
                story.extend(Paragraph(f"[{i}] {_para(ref)}", st["ref"]) for i, ref in enumerate(block.items, 1))
    footer = _clean(f"metacascade - {doc.source}")

    def on_page(canvas: Any, document: Any) -> None:
        canvas.saveState()
        canvas.setFont("Helvetica", 7.5)
        canvas.drawString(margin, 10 * mm, footer)
        canvas.drawRightString(A4[0] - margin, 10 * mm, str(document.page))
        canvas.restoreState()

    pdf.build(story, onFirstPage=on_page, onLaterPages=on_page)
