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
from scipy.special import gammaln, logsumexp

OBSERVABLES = ("sb", "ns", "os_govt", "os_nsgroup", "idps")
CORE = ("MLI", "BFA", "NER")


def simulated_country_year(ds: xr.Dataset, countries: tuple[str, ...] = CORE) -> xr.Dataset:
    """(member, year, country) observables from a simulation dataset (complete years only)."""
    sub = ds.sel(country=list(countries))
    months_per_year = sub["month"].groupby(sub["year"]).count()
    full = months_per_year["year"].values[months_per_year.values == 12]
    sums = sub[["deaths_state_based", "deaths_non_state", "civilians_killed_by_state_side",
                "civilians_killed_by_jnim", "civilians_killed_by_issp",
                "civilians_killed_by_other_groups"]].groupby("year").sum()  # fmt: skip
    dec = sub["idps"].where(sub["month_of_year"] == 12, drop=True).groupby("year").first()
    out = xr.Dataset(
        {
            "sb": sums["deaths_state_based"],
            "ns": sums["deaths_non_state"],
            "os_govt": sums["civilians_killed_by_state_side"],
            "os_nsgroup": sums["civilians_killed_by_jnim"]
            + sums["civilians_killed_by_issp"]
            + sums["civilians_killed_by_other_groups"],
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


# -- monthly and territorial statistics (multi-resolution summaries) --------------------------
#: Burkina Faso's state-held share in 2023-2024: ACSS about 40 % (2023), AP "about half" outside
#: control (Oct 2024); the calibration target is the middle of the 30-55 % range (FIELD.md).
TERRITORY_TARGET = {"iso3": "BFA", "years": (2023, 2024), "low": 0.30, "high": 0.55}
#: Deaths in a month above which the month counts as a "violent month" (a monthly statistic).
VIOLENT_MONTH = 25


def _monthly_features(total: np.ndarray) -> np.ndarray:
    """(..., 12) monthly deaths of one country-year -> (..., 2): log1p of the peak month and
    the share of months with at least :data:`VIOLENT_MONTH` deaths."""
    return np.stack([np.log1p(np.maximum(total.max(axis=-1), 0.0)),
                     (total >= VIOLENT_MONTH).mean(axis=-1)], axis=-1)  # fmt: skip


def simulated_extras(ds: xr.Dataset, monthly_years: list[int], territory: bool,
                     countries: tuple[str, ...] = CORE) -> np.ndarray:  # fmt: skip
    """(members, E) monthly features per (country, year) of ``monthly_years`` and, with
    ``territory``, Burkina Faso's mean state-held share over the target years."""
    parts = []
    tot = ds["deaths_state_based"] + ds["deaths_non_state"] + ds["deaths_one_sided"]
    for c in countries:
        for y in monthly_years:
            x = tot.sel(country=c).where(ds["year"] == y, drop=True).values  # (members, 12)
            parts.append(_monthly_features(x))
    out = [np.concatenate(parts, axis=-1)] if parts else []
    if territory:
        y0, y1 = TERRITORY_TARGET["years"]
        sel = (ds["year"] >= y0) & (ds["year"] <= y1)
        share = ds["territory_state"].sel(country=TERRITORY_TARGET["iso3"]).where(sel, drop=True)
        out.append(10.0 * share.mean("month").values[:, None])
    return np.concatenate(out, axis=-1) if out else np.zeros((ds.sizes["member"], 0))


def observed_extras(cm: pd.DataFrame | None, monthly_years: list[int], territory: bool,
                    countries: tuple[str, ...] = CORE) -> np.ndarray:  # fmt: skip
    """The observed counterpart of :func:`simulated_extras` from the UCDP GED country-month
    table (``iso3, month_id, ged_best_sb/ns/os``); NaN where a country-year is incomplete."""
    vals = []
    for c in countries:
        for y in monthly_years:
            if cm is None or cm.empty:
                vals += [np.nan, np.nan]
                continue
            lo, hi = (y - 1980) * 12 + 1, (y - 1980) * 12 + 12
            rows = cm[(cm["iso3"] == c) & (cm["month_id"] >= lo) & (cm["month_id"] <= hi)]
            if len(rows) != 12:
                vals += [np.nan, np.nan]
                continue
            total = rows.sort_values("month_id")[["ged_best_sb", "ged_best_ns",
                                                  "ged_best_os"]].sum(axis=1).to_numpy(float)  # fmt: skip
            vals += list(_monthly_features(total))
    if territory:
        vals.append(10.0 * 0.5 * (TERRITORY_TARGET["low"] + TERRITORY_TARGET["high"]))
    return np.array(vals, dtype=float)


# -- the count observation model ----------------------------------------------------------------
#: Candidate negative-binomial sizes (the dispersion k: variance = mean + mean^2 / k).
NB_SIZES = np.logspace(-1, 2.5, 36)


def nb_logpmf(y: np.ndarray, mean: np.ndarray, size: float) -> np.ndarray:
    """Negative-binomial log-probability of counts ``y`` with ``mean`` (>= 0; a floor of 0.1
    keeps a zero mean from ruling out a positive count) and size ``size``."""
    mu = np.maximum(np.asarray(mean, dtype=float), 0.1)
    y = np.asarray(y, dtype=float)
    return (gammaln(y + size) - gammaln(size) - gammaln(y + 1)
            + size * np.log(size / (size + mu)) + y * np.log(mu / (size + mu)))  # fmt: skip


def fit_nb_size(observed: np.ndarray, members: np.ndarray) -> float:
    """The size k that maximises the marginal likelihood of ``observed`` (N,) under the
    ensemble ``members`` (N, M): sum_i log mean_m NB(y_i | x_im, k)."""
    ok = np.isfinite(observed)
    y, x = observed[ok][:, None], members[ok]
    best, best_ll = float(NB_SIZES[0]), -np.inf
    for k in NB_SIZES:
        ll = float(np.sum(logsumexp(nb_logpmf(y, x, float(k)), axis=1) - np.log(x.shape[1])))
        if ll > best_ll:
            best, best_ll = float(k), ll
    return best


def observe_counts(values: np.ndarray, size: float | None, seed: int, draws: int = 5) -> np.ndarray:
    """What UCDP would record of simulated counts ``values`` (..., M): ``draws`` negative-
    binomial (gamma-Poisson) draws per member, mean the member's value and size ``size``,
    flattened to (..., M * draws). ``size`` None: the values themselves."""
    v = np.maximum(np.asarray(values, dtype=float), 0.0)
    if size is None:
        return v
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x0B5,)))
    lam = rng.gamma(size, np.repeat(v, draws, axis=-1) / size)
    return rng.poisson(lam).astype(float)
