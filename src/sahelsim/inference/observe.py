"""Observation model: what UCDP and UNHCR would record of a simulated war.

Simulated monthly country aggregates are mapped to the quantities of the UCDP country-year
table and the UNHCR/IDMC stocks, so model and data are compared on the same measures:

| observable   | simulated                                              | observed (store)                     |
|--------------|--------------------------------------------------------|--------------------------------------|
| `sb`         | state-based deaths (UCDP type 1), sum over the year    | `sb_best` (UCDP country-year)        |
| `ns`         | non-state deaths (type 2), sum                         | `ns_best`                            |
| `os_govt`    | one-sided deaths by the state side, sum                | `os_govt_best` (any government)      |
| `os_nsgroup` | one-sided deaths by JNIM + IS Sahel, sum               | `os_nsgroup_best`                    |
| `idps`       | displaced people hosted in the country, December       | UNHCR IDPs (else IDMC), end of year  |

Caveats recorded in ``docs/model.md``: UCDP counts only dyads above 25 deaths a year and codes
Russian personnel as a government side; the model's refugees are generated since 2012 only, so
they are not compared with UNHCR stocks that include older caseloads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

OBSERVABLES = ("sb", "ns", "os_govt", "os_nsgroup", "idps")
CORE = ("MLI", "BFA", "NER")


def simulated_country_year(ds: xr.Dataset, countries: tuple[str, ...] = CORE) -> xr.Dataset:
    """(member, year, country) observables from a simulation dataset (complete years only)."""
    sub = ds.sel(country=list(countries))
    months_per_year = sub["month"].groupby(sub["year"]).count()
    full = months_per_year["year"].values[months_per_year.values == 12]
    sums = sub[["deaths_state_based", "deaths_non_state", "civilians_killed_by_state_side",
                "civilians_killed_by_jnim", "civilians_killed_by_issp"]].groupby("year").sum()  # fmt: skip
    dec = sub["idps"].where(sub["month_of_year"] == 12, drop=True).groupby("year").first()
    out = xr.Dataset(
        {
            "sb": sums["deaths_state_based"],
            "ns": sums["deaths_non_state"],
            "os_govt": sums["civilians_killed_by_state_side"],
            "os_nsgroup": sums["civilians_killed_by_jnim"] + sums["civilians_killed_by_issp"],
            "idps": dec,
        }
    )
    out = out.transpose("member", "year", "country")
    return out.sel(year=[y for y in out.year.values if y in set(full)])


def observed_country_year(cy: pd.DataFrame, countries: tuple[str, ...] = CORE) -> pd.DataFrame:
    """Observables from the store's country-year indicator table (``indicators.country_year``):
    columns year, iso3 and :data:`OBSERVABLES` (NaN where the data say nothing)."""
    df = cy[cy["iso3"].isin(countries)].copy()
    out = pd.DataFrame(
        {
            "year": df["year"].astype(int),
            "iso3": df["iso3"],
            "sb": df["deaths_state_based"],
            "ns": df["deaths_non_state"],
            "os_govt": df["civilians_killed_by_government"],
            "os_nsgroup": df["civilians_killed_by_nonstate"],
            "idps": df["idps"],
        }
    )
    return out.sort_values(["iso3", "year"]).reset_index(drop=True)


def summary_vector(
    frame: pd.DataFrame | xr.Dataset, years: list[int], countries: tuple[str, ...] = CORE
) -> np.ndarray:
    """log1p summary statistics in a fixed order (observable, country, year).

    For an observed frame: shape (S,); for a simulated dataset: (members, S).
    """
    if isinstance(frame, xr.Dataset):
        parts = [
            np.log1p(np.maximum(frame[v].sel(country=c, year=years).values, 0.0))
            for v in OBSERVABLES
            for c in countries
        ]
        return np.concatenate(parts, axis=-1)
    idx = frame.set_index(["iso3", "year"])
    vals = []
    for v in OBSERVABLES:
        for c in countries:
            for y in years:
                x = idx[v].get((c, y), np.nan)
                vals.append(np.log1p(max(float(x), 0.0)) if pd.notna(x) else np.nan)
    return np.array(vals)
