"""Observed series drawn over the simulated fan charts, from the country-year panel
(:func:`sahelsim.evidence.indicators.country_year`: UCDP country-year deaths, UNHCR/IDMC IDPs),
shared by the report and the explorer."""

from __future__ import annotations

import pandas as pd

from sahelsim.viz.fans import Observed
from sahelsim.viz.palette import OBSERVED_COLOUR, PERPETRATOR_COLOURS
from sahelsim.viz.runs import CORE, SIM_START
from sahelsim.viz.text import mid_year, to_ms

__all__ = ["observed_series"]


def observed_series(cy: pd.DataFrame | None) -> tuple[Observed, Observed, Observed]:
    """Observed deaths, civilians killed (government, non-state) and IDPs per region; the
    civilians' markers in their perpetrator's colour (government: the state side's, as the
    simulated state-side fan; non-state groups: UCDP's non-state colour), the others in
    :data:`~sahelsim.viz.palette.OBSERVED_COLOUR`."""
    deaths: Observed = {}
    civ: Observed = {}
    idp: Observed = {}
    if cy is None:
        return deaths, civ, idp
    d = cy[cy["year"] >= int(SIM_START[:4])]
    cols = [
        "deaths_total",
        "civilians_killed_by_government",
        "civilians_killed_by_nonstate",
        "idps",
    ]
    aes = d.groupby("year")[cols].sum(min_count=3)
    for region in ("AES", *CORE):
        g = aes.reset_index() if region == "AES" else d[d["iso3"] == region]
        yrs = g["year"].astype(int).tolist()
        x = to_ms(mid_year(yrs))
        deaths[region] = [
            ("UCDP deaths", x, g["deaths_total"].astype(float).tolist(), OBSERVED_COLOUR)
        ]
        civ[region] = [
            (
                "UCDP one-sided, government",
                x,
                g["civilians_killed_by_government"].astype(float).tolist(),
                PERPETRATOR_COLOURS["state_side"],
            ),
            (
                "UCDP one-sided, non-state",
                x,
                g["civilians_killed_by_nonstate"].astype(float).tolist(),
                PERPETRATOR_COLOURS["non_state"],
            ),
        ]
        idp[region] = [
            (
                "UNHCR/IDMC IDPs",
                to_ms(f"{y}-12-15" for y in yrs),
                g["idps"].astype(float).tolist(),
                OBSERVED_COLOUR,
            )
        ]
    return deaths, civ, idp
