"""The one small exception hierarchy of metacascade.

Library code raises these; only the command-line interface turns them into exit codes.
Every message names the field, the value received and what is allowed.
"""

from __future__ import annotations

__all__ = [
    "MetacascadeError",
    "ScenarioError",
    "ParameterError",
    "SimulationError",
    "CalibrationError",
    "DataError",
]


class MetacascadeError(Exception):
    """Base class of every error metacascade raises on purpose.

    Catch it to handle any of them; the message is one line that names the field, the value
    received and what is allowed.

    Examples
    --------
    >>> import metacascade as mc
    >>> try:
    ...     mc.parse_scenario("[engine]\\nhorizon_days = -1")
    ... except mc.MetacascadeError as exc:
    ...     print(type(exc).__name__, "|", exc)
    ScenarioError | <scenario>: engine.horizon_days: Input should be greater than 0 (got -1)
    """


class ScenarioError(MetacascadeError):
    """A scenario file or its values are invalid (the message names the field).

    Examples
    --------
    >>> import metacascade as mc
    >>> mc.parse_scenario("[patient]\\ncancr = 'colon'")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    metacascade.errors.ScenarioError: <scenario>: patient.cancr: unknown key (did you mean 'cancer'?); ...
    """


class ParameterError(MetacascadeError, ValueError):
    """A model parameter is outside its allowed range (negative rate, NaN, ...).

    Also a ``ValueError``, so code that catches ``ValueError`` keeps working.

    Examples
    --------
    >>> from metacascade.model.growth import Gompertz
    >>> Gompertz(a_per_day=-0.01, b_cells=1e12)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    metacascade.errors.ParameterError: ...
    """


class SimulationError(MetacascadeError):
    """An engine could not compute a result (e.g. a numerical blow-up).

    Examples
    --------
    >>> from metacascade.errors import MetacascadeError, SimulationError
    >>> issubclass(SimulationError, MetacascadeError)
    True
    """


class CalibrationError(MetacascadeError):
    """A fit failed or its data cannot be fitted.

    Examples
    --------
    >>> import metacascade as mc
    >>> mc.calibrate("trial.csv", model="cox", out="fit")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    metacascade.errors.CalibrationError: --model: got 'cox', allowed: gbsg2, iwata2000
    """


class DataError(MetacascadeError):
    """A shipped or user data file is missing, corrupt or malformed.

    Examples
    --------
    >>> from metacascade.clinical_data import load_disibio
    >>> load_disibio("no-such-file.csv")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    metacascade.errors.DataError: ...
    """
