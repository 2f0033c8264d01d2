"""Calibration of mechanistic metastasis models to data (maximum likelihood, least squares,
Bayesian population fits); see :mod:`metacascade.calibration.core`."""

from metacascade.calibration.core import (
    BayesFit,
    LeastSquaresFit,
    MLEFit,
    Parameter,
    Template,
    fit_bayes,
    fit_least_squares,
    fit_mle,
)

__all__ = [
    "BayesFit",
    "LeastSquaresFit",
    "MLEFit",
    "Parameter",
    "Template",
    "fit_bayes",
    "fit_least_squares",
    "fit_mle",
]
