"""``build_report``: a printable report of a run folder, as self-contained HTML or as PDF.

>>> from metacascade.reports import build_report             # doctest: +SKIP
>>> build_report("results/", fmt="pdf", lang="it")           # doctest: +SKIP
PosixPath('results/report.it.pdf')

The content is built once (:func:`~metacascade.reports.content.build_content`) and laid out
either by the Jinja2 template ``templates/report.html.j2`` (inline style, figures as
``data:`` URIs, no scripts, nothing fetched from the network) or by reportlab
(:func:`~metacascade.reports.pdf.write_pdf`).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from metacascade.io import atomic_write
from metacascade.reports.content import REPORT_SECTIONS, build_content
from metacascade.reports.document import ReportContent
from metacascade.reports.i18n import LANGUAGES
from metacascade.reports.run_folder import ReportError, load_run_folder

__all__ = ["build_report", "render_html", "report_content", "FORMATS", "LANGUAGES", "REPORT_SECTIONS", "ReportError"]

FORMATS = ("html", "pdf")


def _check(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if not isinstance(value, str) or value not in allowed:
        raise ReportError(f"{name}: got {value!r}, allowed: {', '.join(repr(a) for a in allowed)}")


@lru_cache(maxsize=1)
def _environment() -> Any:
    from jinja2 import Environment, PackageLoader, StrictUndefined

    return Environment(
        loader=PackageLoader("metacascade.reports", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
    )


def render_html(doc: ReportContent) -> str:
    """The report ``doc`` as one self-contained HTML page."""
    return _environment().get_template("report.html.j2").render(doc=doc)


def report_content(run_dir: str | Path, lang: str = "en") -> ReportContent:
    """The content of the report of ``run_dir`` in ``lang`` (what both formats show)."""
    _check("lang", lang, LANGUAGES)
    return build_content(load_run_folder(run_dir), lang)


def _target(run_dir: Path, out: str | Path | None, name: str) -> Path:
    """Where the report goes: ``run_dir/name``; ``out`` a folder (existing, or without suffix)
    -> ``out/name``; otherwise ``out`` is the file itself."""
    if out is None:
        return run_dir / name
    out = Path(out)
    if out.is_dir() or not out.suffix:
        return out / name
    return out


def build_report(
    run_dir: str | Path,
    *,
    fmt: Literal["html", "pdf"] = "html",
    lang: Literal["en", "it"] = "en",
    out: str | Path | None = None,
) -> Path:
    """Write the report of the run folder ``run_dir`` and return its path.

    Parameters
    ----------
    run_dir : path
        a folder written by ``metacascade run`` (deterministic or stochastic engine) or by
        ``metacascade cohort`` (a finished virtual trial); its kind is detected from its files.
    fmt : {"html", "pdf"}
        self-contained HTML (inline style, embedded figures, nothing loaded from the network)
        or PDF (reportlab); both hold the sections of :data:`REPORT_SECTIONS`.
    lang : {"en", "it"}
        English or Italian (decimal comma in Italian).
    out : path, optional
        a folder to write ``report.<lang>.<fmt>`` into, or the file path itself (a path with a
        suffix that is not an existing folder); default: ``run_dir``.

    Returns
    -------
    Path
        the report file, written atomically (temporary file, then one rename).

    Raises
    ------
    ReportError
        (a :class:`~metacascade.errors.ParameterError`) for a bad ``fmt`` or ``lang``, a folder
        that is not a run folder, or an unfinished cohort (``"status": "incomplete"``).
    """
    _check("fmt", fmt, FORMATS)
    _check("lang", lang, LANGUAGES)
    run_dir = Path(run_dir)
    doc = build_content(load_run_folder(run_dir), lang)
    target = _target(run_dir, out, f"report.{lang}.{fmt}")
    if fmt == "html":
        html = render_html(doc)
        return atomic_write(target, lambda p: p.write_text(html, encoding="utf-8"))
    from metacascade.reports.pdf import write_pdf

    return atomic_write(target, lambda p: write_pdf(doc, p))
