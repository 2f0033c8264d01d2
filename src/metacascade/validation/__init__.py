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
    """One published number and its reproduction; ``passed`` is None for information-only rows."""

    quantity: str
    published: float
    reproduced: float
    tolerance: str
    passed: bool | None
    interval: tuple[float, float] | None = None


@dataclass(frozen=True)
class ValidationReport:
    case: str
    title: str
    reference: str
    data_source: str
    rows: tuple[ValidationRow, ...]
    notes: tuple[str, ...] = ()
    figures: tuple[str, ...] = field(default=())

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.rows if r.passed is not None)

    def to_dict(self) -> dict[str, Any]:
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


CASES: dict[str, Callable[..., ValidationReport]] = {"iwata2000": _iwata, "kuznetsov1994": _kuznetsov,
                                                     "hormones": _hormones}


def run_case(name: str, **kwargs: Any) -> ValidationReport:
    """Run the case called ``name``."""
    if name not in CASES:
        raise MetacascadeError(f"validate: unknown case {name!r}{did_you_mean(name, CASES)}; "
                               f"allowed: {', '.join(CASES)}")
    return CASES[name](**kwargs)
