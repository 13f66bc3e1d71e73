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
import xarray as xr
from scipy.special import betainc, gammaln, ndtr

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
    idp_sigma: float = 0.2  # sd of log(IDP stock): UNHCR vs IDMC, 2012-2024, differ by 0.18
    idp_floor: float = 1000.0  # people added to both sides before the log
    territory_scale: float = 0.05  # sd of the Gaussian tails outside the range (share)
    outlier: float = 0.02  # share of counts drawn from the broad outlier law (0: pure NB)
    outlier_max: float = 1e5  # largest count of the outlier law

    def __post_init__(self) -> None:
        for name, v in asdict(self).items():
            if name != "outlier" and not (np.isfinite(v) and v > 0):
                raise ValueError(f"observation model: {name} must be a positive number, got {v}")
        if not (0.0 <= self.outlier < 1.0):
            raise ValueError(f"observation model: outlier must lie in [0, 1), got {self.outlier}")

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


def log_uniform_logpmf(y: np.ndarray, ymax: float) -> np.ndarray:
    """A broad law on counts 0..ymax: P(y) = log((y + 2) / (y + 1)) / log(ymax + 2) (each
    order of magnitude about equally likely; sums to 1 exactly)."""
    y = np.asarray(y, dtype=float)
    return np.log(np.log1p(1.0 / (y + 1.0))) - np.log(np.log(ymax + 2.0))


def count_loglik(
    y: np.ndarray, mu: np.ndarray, k: float, outlier: float, ymax: float
) -> np.ndarray:
    """log[(1 - outlier) NB(y; mu, k) + outlier LogUniform(y)]: the negative binomial with a
    small share of outlying counts the model cannot time (an isolated massacre), so one such
    month does not throw away every particle that missed it."""
    nb = nb_logpmf(y, mu, k)
    if outlier <= 0:
        return nb
    return np.logaddexp(np.log1p(-outlier) + nb, np.log(outlier) + log_uniform_logpmf(y, ymax))


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
            out[:, j] = count_loglik(np.round(val[j]), mu, k, model.outlier, model.outlier_max)
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


def predictive_cdf(rows: pd.DataFrame, sim: np.ndarray, w: np.ndarray, model: ObsModel,
                   x: np.ndarray) -> np.ndarray:  # fmt: skip
    """P(observation <= x[r]) for each row r under the weighted mixture over particles of the
    observation model around each particle's simulated value (``sim``: particles x rows). Range
    rows use the simulated values themselves."""
    sim = np.atleast_2d(np.asarray(sim, dtype=float))
    x = np.broadcast_to(np.asarray(x, dtype=float), (len(rows),))
    res = rows["resolution"].to_numpy()
    s = np.maximum(sim, 0.0)
    f = np.zeros_like(sim)
    for kind, k in (("month", model.k_month), ("year", model.k_year)):
        j = res == kind
        if j.any():
            v = np.floor(x[j])
            p = k / (k + s[:, j] + model.floor)  # NB cdf: regularised incomplete beta
            f_nb = np.where(v[None, :] >= 0, betainc(k, np.maximum(v, 0.0)[None, :] + 1.0, p), 0.0)
            f_out = np.where(v >= 0, np.log(np.maximum(v, -1.0) + 2.0), 0.0)
            f_out = np.minimum(f_out / np.log(model.outlier_max + 2.0), 1.0)
            f[:, j] = (1 - model.outlier) * f_nb + model.outlier * f_out[None, :]
    j = res == "stock"
    if j.any():
        fl = model.idp_floor
        z = (np.log(np.maximum(x[j], 0.0) + fl)[None, :] - np.log(s[:, j] + fl)) / model.idp_sigma
        f[:, j] = ndtr(z)
    j = res == "range"
    f[:, j] = sim[:, j] <= x[j][None, :]
    return np.asarray(w, dtype=float) @ f


def predictive_quantiles(rows: pd.DataFrame, sim: np.ndarray, w: np.ndarray, model: ObsModel,
                         qs: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:  # fmt: skip
    """(rows, len(qs)) quantiles of each row's predictive mixture (:func:`predictive_cdf`), by
    bisection: to the integer for counts, on the log scale to 0.1 % for stocks; range rows
    give the weighted quantiles of the simulated values."""
    sim = np.atleast_2d(np.asarray(sim, dtype=float))
    nq = len(qs)
    big = pd.concat([rows] * nq, ignore_index=True)
    res = big["resolution"].to_numpy()
    s = np.tile(np.maximum(sim, 0.0), (1, nq))
    q = np.repeat(np.asarray(qs, dtype=float), len(rows))
    count = np.isin(res, ["month", "year"])
    stock = res == "stock"
    top = s.max(axis=0)
    lo = np.where(count, -1.0, np.log(s.min(axis=0) + model.idp_floor) - 6 * model.idp_sigma)
    hi = np.where(count, np.minimum(20.0 * top + 200.0, model.outlier_max),
                  np.log(top + model.idp_floor) + 6 * model.idp_sigma)  # fmt: skip
    # a count quantile beyond the first bracket lies in the outlier law's range
    short = count & (predictive_cdf(big, s, w, model, np.where(count, hi, 0.0)) < q)
    hi = np.where(short, model.outlier_max, hi)
    for _ in range(64):
        mid = np.where(count, np.floor((lo + hi) / 2.0), (lo + hi) / 2.0)
        x = np.where(stock, np.exp(np.where(stock, mid, 0.0)) - model.idp_floor, mid)
        below = predictive_cdf(big, s, w, model, x) < q
        lo = np.where(below, mid, lo)
        hi = np.where(below, hi, mid)
        if np.all(np.where(count, hi - lo <= 1.0, hi - lo <= 1e-3)):
            break
    out = np.where(stock, np.maximum(np.exp(np.where(stock, hi, 0.0)) - model.idp_floor, 0.0), hi)
    for r in np.nonzero(rows["resolution"].to_numpy() == "range")[0]:
        o = np.argsort(sim[:, r], kind="stable")
        cw = np.cumsum(np.asarray(w)[o])
        for m, qq in enumerate(qs):
            out[m * len(rows) + r] = sim[o[min(np.searchsorted(cw, qq * cw[-1]), len(o) - 1)], r]
    return out.reshape(nq, len(rows)).T


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
    sub = cy[cy["iso3"].isin(countries) & (cy["year"].astype(float) >= start_year)]
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
    try:
        cy = indicators.country_year(store)
    except LookupError:  # no UCDP country-years ingested: the country-months alone
        if from_store is None:
            raise
        log.warning("no UCDP country-year rows in the store: filtering on country-months only")
        cy = pd.DataFrame(columns=["iso3", "year", *CY_COLUMN.values(), "idps"])
    return observations(from_store, cy)


def until_month(obs: pd.DataFrame, until: int) -> pd.DataFrame:
    """The rows observed at or before month ``until`` (what an analyst knew then)."""
    return obs[obs["month_id"] <= int(until)].reset_index(drop=True)


def last_month(obs: pd.DataFrame) -> int:
    """The last observation time of the table (a month id)."""
    if not len(obs):
        raise ValueError("the observation table is empty")
    return int(obs["month_id"].max())


def _local_moments(y: np.ndarray, window: int) -> tuple[float, float]:
    """(sum of level^2, sum of variance - level) of a count series about its local level (the
    mean of its neighbours in a centred window, y itself left out)."""
    if y.size < window:
        return 0.0, 0.0
    roll = pd.Series(y).rolling(window, center=True, min_periods=window).sum().to_numpy()
    level = (roll - y) / (window - 1)  # the neighbours' mean (leaving y out)
    ok = np.isfinite(level)
    var = (y[ok] - level[ok]) ** 2 * (window - 1) / window  # E = Var(y) (1 + 1/(w-1))
    return float(np.sum(level[ok] ** 2)), float(np.sum(var - level[ok]))


def dispersion_from_data(obs: pd.DataFrame, *, lo: float = 0.3, hi: float = 50.0) -> ObsModel:
    """An :class:`ObsModel` whose negative-binomial dispersions are estimated from ``obs``.

    Method of moments about a local level: for each country and type, the level of a count
    series is the mean of its neighbours in a centred window (5 months for country-months, 3
    years for country-years; y itself left out, so ``(y - level)^2 (w - 1) / w`` estimates the
    variance); ``k = sum(level^2) / sum(variance - level)``, pooled over series (clipped to
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
            a, b = _local_moments(g.sort_values("month_id")["value"].to_numpy(dtype=float), window)
            num, den = num + a, den + b
        ks[kind] = float(np.clip(num / den, lo, hi)) if den > 0 and num > 0 else default
        log.info("NB dispersion (%s) estimated from the data: %.3g", kind, ks[kind])
    return ObsModel(k_month=ks["month"], k_year=ks["year"])


def series_dispersion(obs: pd.DataFrame, until: int, *, months: int = 36, default: float = 1.0,
                      lo: float = 0.3, hi: float = 50.0) -> dict[tuple[str, str], float]:  # fmt: skip
    """Country-month dispersion ``k`` per (iso3, type), by the local-level moments of
    :func:`dispersion_from_data` on that series' last ``months`` country-months up to
    ``until`` (``default`` for a series without deaths; ``hi`` where no extra-Poisson noise
    shows)."""
    sub = obs[(obs["resolution"] == "month") & obs["observable"].isin(COUNT_OBSERVABLES)
              & (obs["month_id"] <= until) & (obs["month_id"] > until - months)]  # fmt: skip
    out: dict[tuple[str, str], float] = {}
    for (iso, o), g in sub.groupby(["iso3", "observable"]):
        a, b = _local_moments(g.sort_values("month_id")["value"].to_numpy(dtype=float), 5)
        k = default if a <= 0 else (hi if b <= 0 else a / b)  # b <= 0: no extra-Poisson noise
        out[(str(iso), str(o))] = float(np.clip(k, lo, hi))
    return out


def draw_observations(
    ds: xr.Dataset,
    member: int,
    model: ObsModel,
    seed: int,
    *,
    countries: Iterable[str] = CORE,
    yearly_from: int | None = None,
) -> pd.DataFrame:
    """Observations of one simulated member drawn from the observation model (a twin
    experiment's data): negative-binomial counts by type per country-month (per country-year
    for years from ``yearly_from``), lognormal December IDP stocks; same table as
    :func:`observations`."""
    rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(0x0B5,)))
    sub = ds.sel(member=member)
    mids = sub["month"].values.astype(int)
    rows = []
    for iso in countries:
        for obs in COUNT_OBSERVABLES:
            x = np.maximum(sub[SIM_VARIABLE[obs]].sel(country=iso).values, 0.0)
            years = (mids - 1) // 12 + 1980
            for y in np.unique(years):
                sel = years == y
                if yearly_from is not None and y >= yearly_from:
                    if sel.sum() == 12:
                        v = _nb_draw(rng, x[sel].sum() + model.floor, model.k_year)
                        rows.append(_row("twin", iso, int(y), int(mids[sel][-1]),
                                         int(mids[sel][0]), obs, "year", v))  # fmt: skip
                    continue
                for mid, mu in zip(mids[sel], x[sel], strict=True):
                    v = _nb_draw(rng, mu + model.floor, model.k_month)
                    rows.append(_row("twin", iso, int(y), int(mid), int(mid), obs, "month", v))
        idp = sub["idps"].sel(country=iso).values
        for j in np.nonzero((mids - 1) % 12 == 11)[0]:
            f = model.idp_floor
            v = np.exp(np.log(max(idp[j], 0.0) + f) + model.idp_sigma * rng.standard_normal()) - f
            rows.append(_row("twin", iso, int((mids[j] - 1) // 12 + 1980), int(mids[j]),
                             int(mids[j]), "idps", "stock", max(float(v), 0.0)))  # fmt: skip
    df = pd.DataFrame(rows, columns=OBS_COLUMNS)
    return df.sort_values(["month_id", "resolution", "iso3", "observable"]).reset_index(drop=True)


def _nb_draw(rng: np.random.Generator, mu: float, k: float) -> float:
    return float(rng.negative_binomial(k, k / (k + mu)))
