"""Published-case reproductions (workflow layer): each case returns a :class:`ValidationReport`.

``CASES`` maps a case name to its runner; ``metacascade validate CASE`` prints the report and
exits non-zero when a gated row falls outside its tolerance.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from metacascade._messages import did_you_mean
from metacascade.errors import MetacascadeError

__all__ = ["ValidationRow", "ValidationReport", "CASES", "run_case"]


@dataclass(frozen=True)
class ValidationRow:
    """One compared quantity of a validation case: the reference value and its reproduction.

    Attributes
    ----------
    quantity : str
        What is compared, with its unit.
    published : float
        The reference value. What it is (a published number, a data set's value, a closed form
        or another solver's result) is said by ``tolerance`` and by the case's description on
        the documentation's validation page.
    reproduced : float
        The value metacascade computes.
    tolerance : str
        The criterion and its reason (``"0.001 rel (quoted to 3-4 digits)"``).
    passed : bool or None
        The verdict; None for an information-only row.
    interval : tuple of float, optional
        A confidence or profile interval of ``reproduced``, where the case has one.

    Examples
    --------
    >>> from metacascade.validation import ValidationRow
    >>> row = ValidationRow("alpha", published=0.663, reproduced=0.671, tolerance="+-0.03", passed=True)
    >>> row.passed, row.interval
    (True, None)
    """

    quantity: str
    published: float
    reproduced: float
    tolerance: str
    passed: bool | None
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class ValidationReport:
    """The result of one validation case (``metacascade validate CASE``, ``metacascade.validate``).

    Attributes
    ----------
    case : str
        The case name (``"iwata2000"``, ``"kuznetsov1994"``, ``"hormones"``).
    title : str
        One line saying what is reproduced.
    reference : str
        The paper or source of the reference values.
    data_source : str
        Where the compared data came from (a shipped file, generated counts, none).
    rows : tuple of ValidationRow
        The compared quantities.
    notes : tuple of str
        What the rows cannot say: assumptions, what was not found, known misses.
    figures : tuple of str
        Paths of the figures written (with ``figure_dir``).

    Examples
    --------
    >>> import metacascade as mc
    >>> report = mc.validate("kuznetsov1994")
    >>> report.case, report.passed, len(report.rows) > 10
    ('kuznetsov1994', True, True)
    >>> sorted(report.to_dict())[:3]
    ['case', 'data_source', 'figures']
    """

    case: str
    title: str
    reference: str
    data_source: str
    rows: tuple[ValidationRow, ...]
    notes: tuple[str, ...] = ()
    figures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        """True when every gated row passed (information rows do not count)."""
        return all(r.passed for r in self.rows if r.passed is not None)

    def to_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict (what ``--json`` prints), with ``passed``."""
        d = asdict(self)
        d["passed"] = self.passed
        return d


def _iwata(data: str | Path | None = None, figure_dir: str | Path | None = None) -> ValidationReport:
    from metacascade.validation.report_iwata2000 import validate_iwata2000

    return validate_iwata2000(data=data, figure_dir=figure_dir)


def _kuznetsov(data: str | Path | None = None, figure_dir: str | Path | None = None) -> ValidationReport:
    from metacascade.validation.kuznetsov1994 import validate_kuznetsov1994

    return validate_kuznetsov1994(data=data, figure_dir=figure_dir)


def _hormones(data: str | Path | None = None, figure_dir: str | Path | None = None) -> ValidationReport:
    from metacascade.validation.hormone_effects import validate_hormone_effects

    return validate_hormone_effects(data=data, figure_dir=figure_dir)


def _endocrine(data: str | Path | None = None, figure_dir: str | Path | None = None) -> ValidationReport:
    from metacascade.validation.endocrine import validate_endocrine

    return validate_endocrine(data=data, figure_dir=figure_dir)


CASES: dict[str, Callable[..., ValidationReport]] = {
    "iwata2000": _iwata,
    "kuznetsov1994": _kuznetsov,
    "hormones": _hormones,
    "endocrine": _endocrine,
}


def run_case(name: str, **kwargs: Any) -> ValidationReport:
    """Run the case called ``name``."""
    if name not in CASES:
        raise MetacascadeError(
            f"validate: unknown case {name!r}{did_you_mean(name, CASES)}; allowed: {', '.join(CASES)}"
        )
    return CASES[name](**kwargs)
