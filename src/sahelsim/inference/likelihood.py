"""The filter's observation model: what UCDP, UNHCR/IDMC and the territory estimates would
record of a simulated war, as explicit likelihoods.

One table of observations (:data:`OBS_COLUMNS`), one row per observed quantity:

| resolution | observable      | what                                   | likelihood                          |
|------------|-----------------|----------------------------------------|-------------------------------------|
| `month`    | `sb`/`ns`/`os`  | UCDP GED deaths by type, country-month | negative binomial, dispersion `k_month` |
| `year`     | `sb`/`ns`/`os`  | UCDP country-year deaths (summed from `first_month` to December) | negative binomial, `k_year` |
| `stock`    | `idps`          | UNHCR (else IDMC) IDPs, end of year    | lognormal, sd `idp_sigma` on log scale |
| `range`    | `territory_state` | state-held area share in [lo, hi]    | flat inside, Gaussian tails of sd `territory_scale` |

``month_id`` is the observation time: the month itself for country-months, December for the
country-year sums, the IDP stocks and the territory ranges. Country-months are used for every
month the ViEWS GED aggregate has (to 2021-06); a year that they cover only in part is observed
as the UCDP country-year total minus the covered months (never below 0), summed over the
remaining months, so no death is counted twice. The negative binomial's mean is the simulated
value plus ``floor`` (a zero forecast does not make a positive count impossible); the dispersion
``k`` (variance mu + mu^2 / k) is estimated from the data before the filter's cut-off by
:func:`dispersion_from_data` (see its docstring and ``docs/decisions.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.special import gammaln

from sahelsim.core.canon import month_id
from sahelsim.evidence import indicators

log = logging.getLogger(__name__)

CORE = ("MLI", "BFA", "NER")
#: Columns of the observation table.
OBS_COLUMNS = ["source", "iso3", "year", "month_id", "first_month", "observable", "resolution",
               "value", "lo", "hi"]  # fmt: skip
#: Observable -> the simulation dataset's variable (member, month, country).
SIM_VARIABLE = {"sb": "deaths_state_based", "ns": "deaths_non_state", "os": "deaths_one_sided",
                "idps": "idps", "territory_state": "territory_state"}  # fmt: skip
COUNT_OBSERVABLES = ("sb", "ns", "os")
#: UCDP GED country-month columns (ViEWS aggregate) and country-year indicator columns by type.
CM_COLUMN = {"sb": "ged_best_sb", "ns": "ged_best_ns", "os": "ged_best_os"}
CY_COLUMN = {"sb": "deaths_state_based", "ns": "deaths_non_state", "os": "deaths_one_sided"}
#: Soft territory ranges (FIELD.md): the Burkinabè state holds about 40 % (ACSS, 2023) and
#: "about half" of the country is outside its control (AP, Oct 2024): 30-55 % in 2023-2024.
TERRITORY = (("BFA", 2023, 0.30, 0.55, "ACSS 2023 (about 40 %)"),
             ("BFA", 2024, 0.30, 0.55, "AP Oct 2024 (about half outside control)"))  # fmt: skip


@dataclass(frozen=True)
class ObsModel:
    """Parameters of the observation model (see the module docstring)."""

    k_month: float = 1.0  # NB dispersion of country-month counts
    k_year: float = 4.0  # NB dispersion of country-year (or part-year) sums
    floor: float = 0.5  # deaths added to the simulated mean
    idp_sigma: float = 0.3  # sd of log(IDP stock)
    idp_floor: float = 1000.0  # people added to both sides before the log
    territory_scale: float = 0.05  # sd of the Gaussian tails outside the range (share)

    def __post_init__(self) -> None:
        for name, v in asdict(self).items():
            if not (np.isfinite(v) and v > 0):
                raise ValueError(f"observation model: {name} must be a positive number, got {v}")

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


# -- log-likelihoods ----------------------------------------------------------------------------
def nb_logpmf(y: np.ndarray, mu: np.ndarray, k: float | np.ndarray) -> np.ndarray:
    """Negative binomial log-probability of counts ``y`` with mean ``mu`` and dispersion ``k``
    (variance mu + mu^2 / k; ``scipy.stats.nbinom(n=k, p=k / (k + mu))``). Broadcasts."""
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    k = np.asarray(k, dtype=float)
    return (gammaln(y + k) - gammaln(k) - gammaln(y + 1.0) + k * (np.log(k) - np.log(k + mu))
            + y * (np.log(mu) - np.log(k + mu)))  # fmt: skip


def lognormal_logpdf(y: np.ndarray, median: np.ndarray, sigma: float) -> np.ndarray:
    """Log-density of ``y`` under a lognormal with the given median and log-scale sd."""
    y = np.asarray(y, dtype=float)
    z = (np.log(y) - np.log(np.asarray(median, dtype=float))) / sigma
    return -0.5 * z**2 - np.log(sigma * y) - 0.5 * np.log(2.0 * np.pi)


def interval_loglik(x: np.ndarray, lo: float, hi: float, scale: float) -> np.ndarray:
    """Soft interval: 0 inside [lo, hi], -0.5 (distance / scale)^2 outside (an unnormalised
    log-likelihood; constant terms cancel in the filter's weights)."""
    x = np.asarray(x, dtype=float)
    d = np.maximum(lo - x, 0.0) + np.maximum(x - hi, 0.0)
    return -0.5 * (d / scale) ** 2


def row_loglik(rows: pd.DataFrame, sim: np.ndarray, model: ObsModel) -> np.ndarray:
    """Log-likelihood of each observation row for each particle: ``sim`` (particles, rows)
    holds the simulated quantity of each row; returns (particles, rows)."""
    sim = np.atleast_2d(np.asarray(sim, dtype=float))
    if sim.shape[1] != len(rows):
        raise ValueError(f"simulated values have {sim.shape[1]} columns for {len(rows)} rows")
    out = np.zeros_like(sim)
    res = rows["resolution"].to_numpy()
    val = rows["value"].to_numpy(dtype=float)
    for kind, k in (("month", model.k_month), ("year", model.k_year)):
        j = res == kind
        if j.any():
            mu = np.maximum(sim[:, j], 0.0) + model.floor
            out[:, j] = nb_logpmf(np.round(val[j]), mu, k)
    j = res == "stock"
    if j.any():
        f = model.idp_floor
        out[:, j] = lognormal_logpdf(val[j] + f, np.maximum(sim[:, j], 0.0) + f, model.idp_sigma)
    j = np.nonzero(res == "range")[0]
    for i in j:
        r = rows.iloc[i]
        out[:, i] = interval_loglik(
            sim[:, i], float(r["lo"]), float(r["hi"]), model.territory_scale
        )
    unknown = ~np.isin(res, ["month", "year", "stock", "range"])
    if unknown.any():
        raise ValueError(f"unknown observation resolution {sorted(set(res[unknown]))}")
    return out


# -- the observation table --------------------------------------------------------------------
def observations(
    cm: pd.DataFrame | None,
    cy: pd.DataFrame,
    *,
    countries: Iterable[str] = CORE,
    start_year: int = 2012,
    territory: tuple[tuple[str, int, float, float, str], ...] = TERRITORY,
) -> pd.DataFrame:
    """The observation table from the store's GED country-month rows (``cm``: the
    ``ged_country_month`` table, or None) and its country-year indicator table (``cy``:
    :func:`sahelsim.evidence.indicators.country_year`), from ``start_year`` on."""
    countries = tuple(countries)
    rows: list[dict] = []
    covered: dict[tuple[str, int], set[int]] = {}
    cm_sums: dict[tuple[str, int, str], float] = {}
    if cm is not None and len(cm):
        sub = cm[cm["iso3"].isin(countries) & (cm["year"] >= start_year)]
        for r in sub.itertuples(index=False):
            covered.setdefault((r.iso3, int(r.year)), set()).add(int(r.month))
            for obs, col in CM_COLUMN.items():
                v = float(getattr(r, col))
                if np.isfinite(v):
                    cm_sums[(r.iso3, int(r.year), obs)] = (
                        cm_sums.get((r.iso3, int(r.year), obs), 0.0) + v
                    )
                    rows.append(_row("UCDP GED country-month (ViEWS 2020)", r.iso3, int(r.year),
                                     int(r.month_id), int(r.month_id), obs, "month", v))  # fmt: skip
    sub = cy[cy["iso3"].isin(countries) & (cy["year"] >= start_year)]
    for r in sub.itertuples(index=False):
        y, iso = int(r.year), str(r.iso3)
        dec = int(month_id(y, 12))
        months = covered.get((iso, y), set())
        if len(months) < 12:
            first = max(months) + 1 if months else 1
            if months and months != set(range(1, first)):
                raise ValueError(f"country-month data for {iso} {y} are not a run from January")
            for obs, col in CY_COLUMN.items():
                v = float(getattr(r, col))
                if np.isfinite(v):
                    v = max(v - cm_sums.get((iso, y, obs), 0.0), 0.0)
                    rows.append(_row("UCDP country-year" + (" minus GED months" if months else ""),
                                     iso, y, dec, int(month_id(y, first)), obs, "year", v))  # fmt: skip
        idp = float(getattr(r, "idps", np.nan))
        if np.isfinite(idp):
            rows.append(_row("UNHCR IDPs (else IDMC), end of year", iso, y, dec, dec, "idps",
                             "stock", idp))  # fmt: skip
    years = set(sub["year"].astype(int))
    for iso, y, lo, hi, src in territory:
        if iso in countries and y in years:
            dec = int(month_id(y, 12))
            rows.append(_row(src, iso, y, dec, dec, "territory_state", "range", np.nan, lo, hi))
    df = pd.DataFrame(rows, columns=OBS_COLUMNS)
    return df.sort_values(["month_id", "resolution", "iso3", "observable"]).reset_index(drop=True)


def _row(source, iso3, year, mid, first, obs, res, value, lo=np.nan, hi=np.nan) -> dict:
    return dict(zip(OBS_COLUMNS, (source, iso3, year, mid, first, obs, res, value, lo, hi),
                    strict=True))  # fmt: skip


def observations_from_store(store) -> pd.DataFrame:
    """:func:`observations` from a :class:`~sahelsim.data.store.store.Store`."""
    from_store = store.table("ged_country_month") if store.count("ged_country_month") else None
    return observations(from_store, indicators.country_year(store))


def until_month(obs: pd.DataFrame, until: int) -> pd.DataFrame:
    """The rows observed at or before month ``until`` (what an analyst knew then)."""
    return obs[obs["month_id"] <= int(until)].reset_index(drop=True)


def last_month(obs: pd.DataFrame) -> int:
    """The last observation time of the table (a month id)."""
    if not len(obs):
        raise ValueError("the observation table is empty")
    return int(obs["month_id"].max())


def dispersion_from_data(obs: pd.DataFrame, *, lo: float = 0.3, hi: float = 50.0) -> ObsModel:
    """An :class:`ObsModel` whose negative-binomial dispersions are estimated from ``obs``.

    Method of moments about a local level: for each country and type, the level of a count
    series is its centred moving mean (5 months for country-months, 3 years for country-years);
    ``k = sum(level^2) / sum((y - level)^2 - level)``, pooled over series (clipped to
    [``lo``, ``hi``]). This is the extra-Poisson noise of the counts around a smooth signal:
    what a model that got the level right would still miss. Call it on data before the
    filter's cut-off only (the filter's table), so no later data enter."""
    ks = {}
    for kind, window, default in (("month", 5, ObsModel.k_month), ("year", 3, ObsModel.k_year)):
        num = den = 0.0
        sub = obs[(obs["resolution"] == kind) & obs["observable"].isin(COUNT_OBSERVABLES)]
        if kind == "year":  # whole-year sums only (a part-year remainder is not comparable)
            sub = sub[sub["first_month"] == sub["month_id"] - 11]
        for _, g in sub.groupby(["iso3", "observable"]):
            y = g.sort_values("month_id")["value"].to_numpy(dtype=float)
            if y.size < window:
                continue
            level = pd.Series(y).rolling(window, center=True, min_periods=window).mean().to_numpy()
            ok = np.isfinite(level)
            num += float(np.sum(level[ok] ** 2))
            den += float(np.sum((y[ok] - level[ok]) ** 2 - level[ok]))
        ks[kind] = float(np.clip(num / den, lo, hi)) if den > 0 and num > 0 else default
        log.info("NB dispersion (%s) estimated from the data: %.3g", kind, ks[kind])
    return ObsModel(k_month=ks["month"], k_year=ks["year"])
