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
    """Base class of every error metacascade raises on purpose."""


class ScenarioError(MetacascadeError):
    """A scenario file or its values are invalid (the message names the field)."""


class ParameterError(MetacascadeError, ValueError):
    """A model parameter is outside its allowed range (negative rate, NaN, ...)."""


class SimulationError(MetacascadeError):
    """An engine could not compute a result (e.g. a numerical blow-up)."""


class CalibrationError(MetacascadeError):
    """A fit failed or its data cannot be fitted."""


class DataError(MetacascadeError):
    """A shipped or user data file is missing, corrupt or malformed."""
