"""Measure functions of the pattern scorecard, registered by name in :data:`MEASURES`.

Each takes ``(pattern, unit, context)`` and returns a :class:`Measured`: the model's value for
the row (median over members, or a share for coverage patterns), its 90 % interval where the
value has one, what was observed and a one-line note. Pass/fail is decided by the caller from
the unit's target unless the measure decides it (``passed``). A missing input raises
:class:`~sahelsim.validation.context.NotEvaluated`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import spearmanr

from sahelsim.core.canon import month_id, month_id_to_year_month
from sahelsim.data.readers.dtm import admin_key
from sahelsim.forecast.baselines import NegBinRecent
from sahelsim.forecast.scoring import coverage, interval_score
from sahelsim.inference.observe import observe_counts
from sahelsim.scenarios.run import outcome_table
from sahelsim.validation.context import Context, NotEvaluated, country_name, variable_name
from sahelsim.validation.patterns import Pattern, Unit

log = logging.getLogger(__name__)

NAN = float("nan")


@dataclass
class Measured:
    value: float
    q05: float = NAN
    q95: float = NAN
    observed: str = ""
    note: str = ""
    passed: bool | None = None  # None: decided from the unit's target
    target: str = ""  # shown instead of the unit's target when the measure decides


Measure = Callable[[Pattern, Unit, Context], Measured]
MEASURES: dict[str, Measure] = {}


def measure(fn: Measure) -> Measure:
    MEASURES[fn.__name__] = fn
    return fn


# -- helpers -------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _quantiles(x: np.ndarray) -> tuple[float, float, float]:
    """Median, 5th and 95th percentile over members (NaN ignored)."""
    x = np.asarray(x, dtype=float)
    if not np.isfinite(x).any():
        return NAN, NAN, NAN
    q = np.nanquantile(x, [0.5, 0.05, 0.95])
    return float(q[0]), float(q[1]), float(q[2])


def _from_members(x: np.ndarray, **kw) -> Measured:
    med, lo, hi = _quantiles(x)
    return Measured(med, lo, hi, **kw)


def _countries(unit: Unit, ctx: Context) -> list[str]:
    codes = unit.unit.split("+")
    outside = [c for c in codes if c not in ctx.countries]
    if outside:
        raise NotEvaluated(f"{country_name('+'.join(outside))} not in the model's countries")
    return codes


def _years(p: Pattern, unit: Unit) -> tuple[int, int]:
    y = unit.params.get("years", p.years)
    return int(y[0]), int(y[1])


def annual(ds: xr.Dataset, var: str, y0: int, y1: int) -> xr.DataArray:
    """(member, year, country) yearly sums of ``var`` over complete years y0..y1."""
    sub = ds[var].sel(month=(ds.year >= y0) & (ds.year <= y1))
    n = sub["month"].groupby(sub["year"]).count()
    full = n["year"].values[n.values == 12]
    return sub.groupby("year").sum().sel(year=full)


def _mask_country(ctx: Context, code: str) -> np.ndarray:
    cc = ctx.need("cell_country")
    return cc == ctx.countries.index(code)


def _cell_deaths(ctx: Context) -> xr.DataArray:
    ds = ctx.need("ds")
    if "cell_deaths" not in ds:
        raise NotEvaluated("the run did not record cell deaths")
    return ds["cell_deaths"]


# -- P1: fit and sharpness -----------------------------------------------------------------------
@dataclass
class Panel:
    """Observed values and model draws on the same unit-periods.

    ``history``: long frame (unit, period, value) of all observed periods (also before the
    window, for the baseline); ``cells``: (unit, period) -> (observed, draws) in the window."""

    history: pd.DataFrame
    cells: dict[tuple[str, int], tuple[float, np.ndarray]]


def _observed(values: np.ndarray, ctx: Context, level: str, period: int) -> np.ndarray:
    """Members' simulated counts as UCDP would record them: the posterior's negative-binomial
    observation model (5 draws per member) when it has a size for ``level``."""
    size = ctx.obs_sizes.get(level)
    return observe_counts(values.astype(float), size, seed=int(period), draws=5)


def _year_panel(p: Pattern, unit: Unit, ctx: Context) -> Panel:
    obs = ctx.need("observed_cy")
    ds = ctx.need("ds")
    y0, y1 = p.years
    rows, cells = [], {}
    for c in _countries(unit, ctx):
        oc = obs[obs["iso3"] == c]
        for t in p.params["types"]:
            sim = annual(ds, t, y0, y1).sel(country=c)
            key = f"{c}|{t}"
            for yr, val in zip(oc["year"].astype(int), oc[t].astype(float), strict=True):
                if np.isfinite(val):
                    rows.append((key, yr, val))
                    if yr in sim.year.values:
                        cells[(key, yr)] = (val, _observed(sim.sel(year=yr).values, ctx,
                                                           "year", yr))  # fmt: skip
    if not cells:
        raise NotEvaluated("no observed country-years in the window")
    return Panel(pd.DataFrame(rows, columns=["unit", "period", "value"]), cells)


def _month_panel(p: Pattern, unit: Unit, ctx: Context) -> Panel:
    obs = ctx.need("ged_cm")
    ds = ctx.need("ds")
    y1, m1 = (int(v) for v in str(p.params["last_month"]).split("-"))
    first, last = int(month_id(p.years[0], 1)), int(month_id(y1, m1))
    months = set(int(m) for m in ds.month.values)
    rows, cells = [], {}
    for c in _countries(unit, ctx):
        for t in p.params["types"]:
            sel = obs[(obs["iso3"] == c) & (obs["type"] == t)]
            sim = ds[t].sel(country=c)
            key = f"{c}|{t}"
            for mid, val in zip(
                sel["month_id"].astype(int), sel["value"].astype(float), strict=True
            ):
                rows.append((key, mid, val))
                if first <= mid <= last and mid in months:
                    cells[(key, mid)] = (val, _observed(sim.sel(month=mid).values, ctx,
                                                        "month", mid))  # fmt: skip
    if not cells:
        raise NotEvaluated("no observed country-months in the window")
    return Panel(pd.DataFrame(rows, columns=["unit", "period", "value"]), cells)


def _label(key: tuple[str, int], freq: str) -> str:
    c, t = key[0].split("|")
    y, m = month_id_to_year_month(key[1])
    period = str(key[1]) if freq == "year" else f"{int(y)}-{int(m):02d}"
    return f"{country_name(c)} {variable_name(t)} {period}"


def _coverage_measured(panel: Panel, level: float, freq: str) -> Measured:
    keys = list(panel.cells)
    obs = np.array([panel.cells[k][0] for k in keys])
    draws = np.stack([panel.cells[k][1] for k in keys])
    inside = coverage(obs, draws, level)
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2], axis=-1)
    share = float(inside.mean())
    # the worst miss, on a log scale, says most about why a row fails
    miss = np.where(inside, 0.0, np.abs(np.log1p(obs) - np.log1p(np.clip(obs, lo, hi))))
    w = int(np.argmax(miss))
    n_above = int((obs > hi).sum())
    ratio = float(np.median(draws, axis=-1).sum() / max(obs.sum(), 1.0))
    note = (f"{int(inside.sum())} of {len(keys)} inside ({n_above} above, "
            f"{int((obs < lo).sum())} below the interval); model median total {ratio:.2g}x the "
            "observed")  # fmt: skip
    if miss[w] > 0:
        note += (f"; worst: {_label(keys[w], freq)} observed {_fmt(obs[w])}, model "
                 f"{_fmt(lo[w])}–{_fmt(hi[w])}")  # fmt: skip
    return Measured(share, observed=f"{len(keys)} {freq}s observed", note=note)


def _baseline_draws(panel: Panel, window: int, freq: str, n_draws: int = 1000) -> np.ndarray:
    """One-step-ahead NegBin draws for every window cell (fitted on the periods before)."""
    out = []
    h = panel.history
    for key in panel.cells:
        past = h[(h["unit"] == key[0]) & (h["period"] < key[1])]
        if past.empty:
            out.append(np.zeros(n_draws))
            continue
        # the panel must end just before the period: pad with the missing-as-zero convention
        pad = pd.DataFrame({"unit": [key[0]], "period": [key[1] - 1], "value": [0.0]})
        if (past["period"] == key[1] - 1).any():
            pad = pad.iloc[0:0]
        model = NegBinRecent(window=window, freq=freq).fit(pd.concat([past, pad]))
        out.append(model.predict([key[1]], n_draws=n_draws, seed=0)[(key[0], key[1])])
    return np.stack(out)


def _score_measured(panel: Panel, level: float, window: int, freq: str) -> Measured:
    keys = list(panel.cells)
    obs = np.array([panel.cells[k][0] for k in keys])
    model = np.stack([panel.cells[k][1] for k in keys])
    base = _baseline_draws(panel, window, freq)
    alpha = 1.0 - level
    mis_m = float(np.mean(interval_score(obs, model, alpha)))
    mis_b = float(np.mean(interval_score(obs, base, alpha)))
    ratio = mis_m / mis_b if mis_b > 0 else (math.inf if mis_m > 0 else 1.0)
    note = (f"model {_fmt(mis_m)} vs NegBin {_fmt(mis_b)} over {len(keys)} {freq}s "
            f"({'no worse' if ratio <= 1 else 'worse'} than the baseline)")  # fmt: skip
    return Measured(ratio, observed=f"NegBin MIS {_fmt(mis_b)}", note=note)


_PANELS = {"year": _year_panel, "month": _month_panel}


def _fit_measure(freq: str, *, score: bool) -> Measure:
    """P1 measures: coverage of the 90 % interval, or the interval-score ratio to NegBin."""

    def fit(p: Pattern, unit: Unit, ctx: Context) -> Measured:
        panel = _PANELS[freq](p, unit, ctx)
        level = float(p.params["level"])
        if score:
            return _score_measured(panel, level, int(p.params["window"]), freq)
        return _coverage_measured(panel, level, freq)

    return fit


for _freq in _PANELS:
    MEASURES[f"country_{_freq}_coverage"] = _fit_measure(_freq, score=False)
    MEASURES[f"country_{_freq}_interval_score"] = _fit_measure(_freq, score=True)


# -- P2: timing ----------------------------------------------------------------------------------
def _first_year(values: np.ndarray, years: np.ndarray, threshold: float) -> np.ndarray:
    """(M, Y) yearly values -> (M,) first year reaching ``threshold`` (NaN: never)."""
    hit = values >= threshold
    first = np.argmax(hit, axis=-1)
    return np.where(hit.any(axis=-1), years[first].astype(float), NAN)


@measure
def first_year_above(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    ds = ctx.need("ds")
    thr = float(p.params["threshold"])
    core = ("MLI", "BFA", "NER")
    observed = ""
    if ctx.observed_cy is not None:
        oc = ctx.observed_cy[ctx.observed_cy["iso3"] == unit.unit]
        oc = oc[(oc["year"] >= p.years[0]) & (oc["year"] <= p.years[1])]
        y = _first_year(oc["deaths_total"].to_numpy(float)[None], oc["year"].to_numpy(), thr)
        if oc.empty:
            observed = "UCDP: no rows"
        else:
            observed = f"UCDP: {int(y[0])}" if np.isfinite(y[0]) else "UCDP: not reached"
    ring = ""
    if unit.unit not in core:
        if unit.unit not in [str(c) for c in ds.country.values]:
            raise NotEvaluated(f"{country_name(unit.unit)} has no cells in the grid; {observed}")
        if ctx.cell_country is not None:
            n = int(_mask_country(ctx, unit.unit).sum())
            ring = f"; {country_name(unit.unit)} enters as {n} border cells with no forces"
    yr = annual(ds, "deaths_total", *p.years).sel(country=unit.unit)
    first = _first_year(yr.values, yr.year.values, thr)
    never = int(np.isnan(first).sum())
    m = _from_members(first, observed=observed or f"{unit.target_text()}")
    if never * 2 > first.size:
        m.value = NAN
    m.note = (f"first year with >= {thr:g} deaths; {never} of {first.size} members never reach "
              f"it by {p.years[1]}{ring}")  # fmt: skip
    if not np.isfinite(m.value):
        m.passed = False
    return m


# -- P3: geography -------------------------------------------------------------------------------
@measure
def admin1_share(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    names = list(unit.params["admin1"])
    adm = ctx.need("cell_admin1")
    cd = _cell_deaths(ctx)
    y0, y1 = _years(p, unit)
    in_country = _mask_country(ctx, unit.unit)
    known = set(a for a in adm[in_country] if a is not None)
    absent = [n for n in names if n not in known]
    if absent:
        raise NotEvaluated(f"no grid cell of {country_name(unit.unit)} has its centre in "
                           f"{', '.join(absent)} (Natural Earth admin-1)")  # fmt: skip
    in_area = in_country & np.isin(adm.astype(str), names)
    sub = cd.sel(month=(cd.year >= y0) & (cd.year <= y1)).values.astype(float).sum(axis=1)
    total = sub[:, in_country].sum(axis=1)
    share = np.where(total > 0, sub[:, in_area].sum(axis=1) / np.maximum(total, 1e-12), NAN)
    m = _from_members(share, observed=f"{unit.target_text()} (tolerance {unit.tolerance:g})")
    m.note = (f"{int(in_area.sum())} of {int(in_country.sum())} cells; model deaths in the "
              f"country {_fmt(float(np.median(total)))} (median)")  # fmt: skip
    return m


# -- P4: concentration ---------------------------------------------------------------------------
def top_share(cell_year: np.ndarray, top: float) -> np.ndarray:
    """(M, C) yearly deaths of a country's cells -> (M,) share in the top ``top`` of cells."""
    k = max(1, math.ceil(top * cell_year.shape[-1]))
    s = -np.sort(-cell_year, axis=-1)
    total = s.sum(axis=-1)
    return np.where(total > 0, s[:, :k].sum(axis=-1) / np.maximum(total, 1e-12), NAN)


@measure
def top_decile_share(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    cd = _cell_deaths(ctx)
    mask = _mask_country(ctx, unit.unit)
    top = float(p.params["top"])
    years = [y for y in range(p.years[0], p.years[1] + 1) if (cd.year == y).any()]
    if not years:
        raise NotEvaluated(f"the run has no month in {p.years[0]}-{p.years[1]}")
    per_year = []
    for y in years:
        block = cd.sel(month=cd.year == y).values[:, :, mask].astype(float).sum(axis=1)
        per_year.append(_quantiles(top_share(block, top)))
    q = np.array(per_year)  # (Y, 3): median, q05, q95
    med = float(np.nanmedian(q[:, 0]))
    n_pass = int(np.sum([unit.passes(v) for v in q[:, 0] if np.isfinite(v)]))
    note = (f"{n_pass} of {len(years)} years pass; per-year medians "
            f"{np.nanmin(q[:, 0]):.2f}–{np.nanmax(q[:, 0]):.2f}; top {math.ceil(top * mask.sum())}"
            f" of {int(mask.sum())} cells")  # fmt: skip
    return Measured(med, float(np.nanmedian(q[:, 1])), float(np.nanmedian(q[:, 2])),
                    observed=f"{unit.target_text()} every year", note=note)  # fmt: skip


# -- P5: territory -------------------------------------------------------------------------------
@measure
def territory_share(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    ds = ctx.need("ds")
    (code,) = _countries(unit, ctx)
    y0, y1 = p.years
    sub = ds["territory_state"].sel(month=(ds.year >= y0) & (ds.year <= y1), country=code)
    if sub.sizes["month"] == 0:
        raise NotEvaluated(f"the run has no month in {y0}-{y1}")
    m = _from_members(sub.mean("month").values, observed=unit.target_text() or "(reported)")
    m.note = f"mean over {sub.sizes['month']} months of the state-held area share"
    return m


# -- P6: displacement ----------------------------------------------------------------------------
@measure
def idp_coverage(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    ds = ctx.need("ds")
    obs = ctx.need("observed_cy")
    (code,) = _countries(unit, ctx)
    level = float(p.params["level"])
    dec = ds["idps"].sel(country=code).where(ds.month_of_year == 12, drop=True)
    dec = dec.assign_coords(month=dec.year.values).rename(month="y")
    oc = obs[(obs["iso3"] == code) & obs["idps"].notna()]
    oc = oc[(oc["year"] >= p.years[0]) & (oc["year"] <= p.years[1]) & oc["year"].isin(dec.y.values)]
    if oc.empty:
        raise NotEvaluated(f"no observed IDP stocks for {country_name(code)} in the window")
    o = oc["idps"].to_numpy(float)
    draws = dec.sel(y=oc["year"].to_numpy()).values.T  # (Y, M)
    inside = coverage(o, draws, level)
    last = -1
    med = np.median(draws, axis=-1)
    note = (f"{int(inside.sum())} of {len(o)} years inside; {int(oc['year'].iloc[last])}: observed"
            f" {_fmt(o[last])}, model median {_fmt(med[last])}")  # fmt: skip
    return Measured(float(inside.mean()), observed=f"{len(o)} years (UNHCR/IDMC)", note=note)


def _dtm_by_area(dtm: pd.DataFrame, date: str, level: str, region_map: dict) -> pd.Series:
    rows = dtm[(dtm["measure"] == "idp_ind") & (pd.to_datetime(dtm["date"]) == pd.Timestamp(date))]
    if rows.empty:
        raise NotEvaluated(f"no IOM DTM snapshot on {date}")
    if level == "admin1":
        keys = rows["admin1"].map(admin_key).map(region_map)
        unmapped = sorted(set(rows["admin1"][keys.isna()].dropna()))
        if unmapped:
            raise NotEvaluated(f"DTM regions without a Natural Earth polygon: {unmapped}")
    else:
        keys = rows["admin2"].map(admin_key)
    return rows["value"].groupby(keys.to_numpy()).sum()


@measure
def dtm_spearman(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    level = str(unit.params["level"])
    ds = ctx.need("ds")
    if level == "admin2":
        if ctx.cell_admin2 is None:
            raise NotEvaluated("no admin-2 (cercle) polygons in the data folder and the DTM rows "
                               "carry no coordinates, so cells cannot be assigned to cercles")  # fmt: skip
        areas = np.array([admin_key(a) if a else None for a in ctx.cell_admin2], dtype=object)
    else:
        areas = ctx.need("cell_admin1")
    dtm = ctx.need("dtm")
    if "cell_idp" not in ds:
        raise NotEvaluated("the run did not record cell IDPs")
    date = pd.Timestamp(unit.params["date"])
    mid = int(month_id(date.year, date.month))
    if mid not in ds.month.values:
        raise NotEvaluated(f"the run does not cover {date:%Y-%m}")
    obs = _dtm_by_area(dtm, str(unit.params["date"]), level, dict(p.params.get("region_map", {})))
    mask = _mask_country(ctx, unit.unit)
    idp = ds["cell_idp"].sel(month=mid).values[:, mask].astype(float)  # (M, C_k)
    a = areas[mask]
    names = [n for n in obs.index if n in set(a)]
    if len(names) < 4:
        raise NotEvaluated(f"only {len(names)} DTM areas match model cells (4 needed)")
    model = np.stack([idp[:, a == n].sum(axis=1) for n in names], axis=1)  # (M, A)
    o = obs.loc[names].to_numpy(float)
    rho = np.array([spearmanr(o, row).statistic if np.ptp(row) > 0 else NAN for row in model])
    m = _from_members(rho, observed=f"{len(names)} areas, {_fmt(o.sum())} IDPs (DTM)")
    m.note = (f"Spearman over {len(names)} areas; model median total "
              f"{_fmt(float(np.median(model.sum(axis=1))))} IDPs")  # fmt: skip
    return m


# -- P7: heavy tail ------------------------------------------------------------------------------
@measure
def heavy_tail_cell_months(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    cd = _cell_deaths(ctx)
    mask = np.zeros(cd.sizes["cell"], dtype=bool)
    for c in _countries(unit, ctx):
        mask |= _mask_country(ctx, c)
    thr = float(p.params["threshold"])
    years = [y for y in range(p.years[0], p.years[1] + 1) if (cd.year == y).any()]
    if not years:
        raise NotEvaluated(f"the run has no month in {p.years[0]}-{p.years[1]}")
    counts = np.stack(
        [(cd.sel(month=cd.year == y).values[:, :, mask] >= thr).sum(axis=(1, 2)) for y in years],
        axis=1,
    )  # fmt: skip  (M, Y)
    per_year = np.median(counts, axis=0)
    n_ok = int(np.sum([unit.passes(v) for v in per_year]))
    m = _from_members(counts.mean(axis=1), observed=f"{unit.target_text()} a year")
    m.note = (f"cell-months >= {thr:g} deaths a year; per-year medians "
              f"{', '.join(f'{y}: {v:g}' for y, v in zip(years, per_year, strict=True))}; "
              f"{n_ok} of {len(years)} years in range")  # fmt: skip
    return m


# -- P8: levers respond --------------------------------------------------------------------------
def paired_difference(a: xr.Dataset, b: xr.Dataset, outcome: str, countries: list[str],
                      window_start: int) -> np.ndarray:  # fmt: skip
    """(members,) scenario minus reference of ``outcome`` summed over ``countries``."""
    if not np.array_equal(a.member.values, b.member.values):
        raise ValueError("paired difference needs the same members in both runs")
    ta, tb = outcome_table(a, window_start), outcome_table(b, window_start)
    return (tb[outcome].sel(country=countries).sum("country")
            - ta[outcome].sel(country=countries).sum("country")).values  # fmt: skip


@measure
def lever_response(p: Pattern, unit: Unit, ctx: Context) -> Measured:
    if ctx.lever is None:
        raise NotEvaluated(ctx.missing.get("lever", "no scenario runner"))
    outcome = str(unit.params["outcome"])
    countries = list(unit.params["countries"])
    ref = str(p.params.get("reference", "acceleration"))
    a, b = ctx.lever(ref, unit.unit, *p.years)
    d = paired_difference(a, b, outcome, countries, int(month_id(p.years[0], 1)))
    level = float(p.params.get("level", 0.9))
    q = [(1 - level) / 2, (1 + level) / 2]
    m_lo, m_hi = np.quantile(d, q)
    # the effect: the mean paired difference, with a bootstrap interval over members
    rng = np.random.default_rng(np.random.SeedSequence(20261201, spawn_key=(d.size,)))
    boot = d[rng.integers(0, d.size, size=(2000, d.size))].mean(axis=1)
    lo, hi = np.quantile(boot, q)
    mean = float(d.mean())
    responds = bool(lo > 0 or hi < 0)
    what = f"{variable_name(outcome)} ({', '.join(country_name(c) for c in countries)})"
    note = (f"{unit.unit} minus {ref}, {d.size} paired members: {what}; mean effect {_fmt(mean)}, "
            f"members' 90 % range {_fmt(m_lo)}..{_fmt(m_hi)}"
            + ("" if responds else f"; inert: the 90 % interval of the mean effect "
               f"{_fmt(lo)}..{_fmt(hi)} includes 0"))  # fmt: skip
    return Measured(mean, float(lo), float(hi), observed="", note=note, passed=responds,
                    target=f"{level * 100:g} % interval of the mean effect excludes 0")  # fmt: skip
