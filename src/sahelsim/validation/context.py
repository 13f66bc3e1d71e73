"""What the measures read: the history run, the observed tables and the cell geography.

A :class:`Context` is built by :func:`sahelsim.validation.run.run_validation` (or by hand in
tests, from a small ``xarray.Dataset``). Anything absent is ``None`` with the reason in
``missing``; a measure asks for it with :meth:`Context.need`, which raises
:class:`NotEvaluated` carrying that reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

#: Readable country names (people read names, not codes).
COUNTRY_NAMES = {
    "MLI": "Mali", "BFA": "Burkina Faso", "NER": "Niger", "BEN": "Benin", "TGO": "Togo",
    "GHA": "Ghana", "CIV": "Côte d'Ivoire", "NGA": "Nigeria",
}  # fmt: skip

#: Readable names of the model's variables used in notes.
VARIABLE_NAMES = {
    "deaths_state_based": "state-based deaths",
    "deaths_non_state": "non-state deaths",
    "deaths_one_sided": "one-sided deaths",
    "deaths_total": "all deaths",
    "idps": "internally displaced people",
    "territory_state": "state-held area share",
    "coups": "coups",
    "civilians_killed_by_state_side": "civilians killed by the state side",
}


class NotEvaluated(Exception):
    """A pattern row that cannot be measured (missing data or outside the model); the message
    is the reason shown in the scorecard."""


#: (scenario, first year, last year) -> (reference run, scenario run), same members and seed.
LeverRunner = Callable[[str, str, int, int], tuple[xr.Dataset, xr.Dataset]]


@dataclass
class Context:
    """Inputs of the measures.

    ``ds``: the history run (member, month, country; cell variables ``cell_deaths``,
    ``cell_idp`` at member, month, cell). ``cell_country``: (C,) index into ``ds.country``
    (-1 none); ``core``: (C,) bool. ``cell_admin1`` / ``cell_admin2``: (C,) area name of each
    cell's centre (None where outside). ``observed_cy``: :func:`sahelsim.evidence.indicators.
    country_year`; ``ged_cm``: long country-month frame (iso3, month_id, type, value);
    ``dtm``: the store's IOM DTM rows (``displacement`` columns).
    """

    ds: xr.Dataset | None = None
    cell_country: np.ndarray | None = None
    core: np.ndarray | None = None
    cell_admin1: np.ndarray | None = None
    cell_admin2: np.ndarray | None = None
    observed_cy: pd.DataFrame | None = None
    ged_cm: pd.DataFrame | None = None
    dtm: pd.DataFrame | None = None
    lever: LeverRunner | None = None
    #: negative-binomial sizes of the count observation model by level ("year", "month"),
    #: from the posterior (None: compare the simulated counts themselves)
    obs_sizes: dict[str, float] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)

    def need(self, name: str):
        """The input ``name`` or :class:`NotEvaluated` with the reason it is absent."""
        value = getattr(self, name)
        if value is None:
            raise NotEvaluated(self.missing.get(name, f"no {name.replace('_', ' ')} available"))
        return value

    @property
    def countries(self) -> tuple[str, ...]:
        return tuple(str(c) for c in self.need("ds").country.values)


def country_name(code: str) -> str:
    return " + ".join(COUNTRY_NAMES.get(c, c) for c in code.split("+"))


def variable_name(var: str) -> str:
    return VARIABLE_NAMES.get(var, var.replace("_", " "))
