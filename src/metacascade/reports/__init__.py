"""Printable reports of run folders, in English and Italian (HTML and PDF).

>>> from metacascade.reports import LANGUAGES, REPORT_SECTIONS
>>> LANGUAGES
('en', 'it')
>>> REPORT_SECTIONS[:3]
('scenario', 'model', 'results')
"""

from metacascade.reports.report import (
    FORMATS,
    LANGUAGES,
    REPORT_SECTIONS,
    ReportError,
    build_report,
    render_html,
    report_content,
)

__all__ = ["build_report", "render_html", "report_content", "FORMATS", "LANGUAGES", "REPORT_SECTIONS", "ReportError"]
