"""The metastatic process of one patient as a frozen model specification (model layer).

A primary tumour of ``primary_size0`` cells at ``t = 0`` grows by ``primary_growth`` and founds
colonies at rate ``primary_shedding.rate(X_p(t))``; every colony starts at ``colony_size0`` cells,
grows by ``colony_growth`` and, with ``secondary_seeding``, founds colonies itself at rate
``colony_shedding.rate(x)`` (Iwata 2000; docs/design.md sections 1.1, 1.2, 1.5).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from metacascade.errors import ParameterError
from metacascade.model.growth import GrowthLaw, _check
from metacascade.model.shedding import PowerShedding

__all__ = ["MetastasisModel"]


@dataclass(frozen=True)
class MetastasisModel:
    """Primary growth, shedding and colony growth of one patient (units: cells, days).

    Parameters
    ----------
    primary_growth, colony_growth : GrowthLaw
        growth laws of the primary tumour and of every metastatic colony.
    primary_shedding : PowerShedding
        colonisation rate of the primary.
    colony_shedding : PowerShedding, optional
        colonisation rate of colonies (metastases from metastases); defaults to the primary's.
    primary_size0 : float
        size of the primary at ``t = 0`` (cells, >= 1).
    colony_size0 : float
        size of a newly founded colony (cells, >= 1); 1 in Iwata 2000.
    secondary_seeding : bool
        whether colonies found colonies.
    """

    primary_growth: GrowthLaw
    colony_growth: GrowthLaw
    primary_shedding: PowerShedding
    # None on input means the primary's law; after __post_init__ it is always a PowerShedding
    colony_shedding: PowerShedding = field(default=None)  # type: ignore[assignment]
    primary_size0: float = 1.0
    colony_size0: float = 1.0
    secondary_seeding: bool = True

    def __post_init__(self) -> None:
        if self.colony_shedding is None:
            object.__setattr__(self, "colony_shedding", self.primary_shedding)
        for name in ("primary_size0", "colony_size0"):
            object.__setattr__(self, name, _check(name, getattr(self, name), low=1.0, strict=False))
        for name, law in (("primary_growth", self.primary_growth), ("colony_growth", self.colony_growth)):
            if not isinstance(law, GrowthLaw):
                raise ParameterError(f"{name}: expected a GrowthLaw, got {type(law).__name__}")
        if self.colony_size0 >= self.colony_growth.capacity:
            raise ParameterError(
                f"colony_size0: got {self.colony_size0:g} cells, must be below the colony growth "
                f"capacity {self.colony_growth.capacity:g}"
            )
