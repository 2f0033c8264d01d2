"""The content of a report as plain data: sections of blocks, rendered to HTML and to PDF.

One function (:func:`metacascade.reports.content.build_content`) fills a :class:`ReportContent`
with every text already in the report's language and every number already formatted; the HTML
template and the PDF builder only lay the blocks out, so both outputs say the same thing.
Each block has a class-level ``kind`` the renderers dispatch on.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import ClassVar

__all__ = [
    "Paragraph",
    "Subheading",
    "Table",
    "Preformatted",
    "Figure",
    "ReferenceList",
    "Section",
    "ReportContent",
    "Block",
]


@dataclass(frozen=True)
class Paragraph:
    """A paragraph of text (``emphasis``: shown in italics, e.g. the disclaimer)."""

    text: str
    emphasis: bool = False
    kind: ClassVar[str] = "paragraph"


@dataclass(frozen=True)
class Subheading:
    """A heading inside a section."""

    text: str
    kind: ClassVar[str] = "subheading"


@dataclass(frozen=True)
class Table:
    """A table of text cells; ``numeric[j]``: right-align column ``j``."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    caption: str = ""
    numeric: tuple[bool, ...] = ()
    kind: ClassVar[str] = "table"

    def is_numeric(self, j: int) -> bool:
        """Whether column ``j`` is right-aligned."""
        return j < len(self.numeric) and self.numeric[j]


@dataclass(frozen=True)
class Preformatted:
    """Verbatim text (the scenario file)."""

    text: str
    caption: str = ""
    kind: ClassVar[str] = "pre"


@dataclass(frozen=True)
class Figure:
    """A PNG image with its caption; ``name`` is the file it came from."""

    caption: str
    png: bytes
    name: str = ""
    kind: ClassVar[str] = "figure"

    @property
    def data_uri(self) -> str:
        """The image as a ``data:`` URI (self-contained HTML: nothing fetched)."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")


@dataclass(frozen=True)
class ReferenceList:
    """A numbered list of references."""

    items: tuple[str, ...]
    intro: str = ""
    kind: ClassVar[str] = "references"


Block = Paragraph | Subheading | Table | Preformatted | Figure | ReferenceList


@dataclass(frozen=True)
class Section:
    """A section with a stable ``id`` (the HTML anchor) and a title in the report's language."""

    id: str
    title: str
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class ReportContent:
    """The whole report in one language."""

    lang: str
    title: str
    subtitle: str
    run_kind: str
    source: str
    disclaimer: str
    sections: tuple[Section, ...]
    contents_label: str = "Contents"
