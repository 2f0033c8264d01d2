r"""Shedding (colonisation) rate of a tumour: :math:`d(X) = m X^\alpha` (model layer, pure).

``m`` is the rate (per day per cell^alpha) at which a tumour of ``X`` cells founds new colonies
(Iwata 2000: the colonisation coefficient, already including every loss of the cascade);
``alpha`` is the fractal dimension of the shedding surface: 2/3 for cells shed from the
surface of a ball, 1 for shedding from the whole volume.

References
----------
Iwata K, Kawasaki K, Shigesada N. J Theor Biol 2000;203:177-186, eq. (2):
beta(x) = m x^alpha, fitted m = 5.3e-8, alpha = 0.663 (hepatocellular carcinoma).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from metacascade.model.growth import _check, _out

__all__ = ["PowerShedding"]


@dataclass(frozen=True)
class PowerShedding:
    r"""Colonisation rate :math:`d(X) = m X^\alpha` (colonies per day).

    Parameters
    ----------
    m : float
        colonisation coefficient, >= 0 (1/(day cell^alpha)); 0 switches shedding off.
    alpha : float
        exponent in [0, 1.5] (2/3: surface, 1: volume).
    """

    m: float
    alpha: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "m", _check("m", self.m, strict=False))
        object.__setattr__(self, "alpha", _check("alpha", self.alpha, strict=False, high=1.5))

    def rate(self, x: ArrayLike) -> NDArray[np.float64]:
        """Colonies founded per day by a tumour of ``x`` cells."""
        return _out(self.m * np.asarray(x, dtype=float) ** self.alpha)
