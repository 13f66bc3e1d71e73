"""The filtered model as a forecaster: projections start from the observed present.

:class:`FilteredForecaster` conditions the ensemble on the observations up to the origin with
the particle filter (:mod:`sahelsim.inference.filter`: country-month deaths by type where they
exist, country-years after, December IDP stocks, Burkina Faso's territory range), then runs the
model on from the filtered state for the horizon, and passes each simulated count through the
observation model (negative binomial, the filter's monthly dispersion), so a draw is what UCDP
would record.

One filter pass per seed serves every origin: the filter is sequential, so the ensemble kept at
the end of an origin month (a checkpoint) depends only on the data observed up to it. Origins
are gathered when the forecaster is built (``origins``) or as they are asked for; asking for
an origin earlier than the last pass reached starts a new pass. The dispersion of the
observation model is estimated on the data before the first origin only. Only data up to the
origin enter a forecast (tested by perturbing later data).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from sahelsim.evidence.timeline import load_timeline
from sahelsim.forecast.forecasters import check_request, dataset_forecast, month_text
from sahelsim.inference.abc import CALIBRATED
from sahelsim.inference.calibrate import pre_origin_posterior
from sahelsim.inference.filter import (
    RECENT,
    Context,
    LiuWest,
    ParamScale,
    filter_pass,
    initial_params,
    streams,
    systematic_resample,
)
from sahelsim.inference.likelihood import (
    COUNT_OBSERVABLES,
    SIM_VARIABLE,
    ObsModel,
    dispersion_from_data,
    series_dispersion,
    until_month,
)
from sahelsim.model.engine import Record, simulate
from sahelsim.model.fields_table import LEVERS
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.posterior import Posterior, load_posterior
from sahelsim.scenarios.run import HISTORY_START, make_space
from sahelsim.scenarios.scenario import Scenario, load_scenario
from sahelsim.scenarios.setup import build_drivers

log = logging.getLogger(__name__)

#: spawn-key tag of the forecaster's own draws (resampling to ``draws``, observation noise)
TAG = 0xF0CA


class FilteredForecaster:
    """A :data:`~sahelsim.forecast.forecasters.Forecaster` that filters, then projects.

    ``observations``: the filter's table (:func:`sahelsim.inference.likelihood.observations`,
    all the data; rows after an origin never enter its forecast). ``members``: particles of
    the filter; ``draws`` of a forecast are the filtered particles resampled by weight and run
    on with their own member keys. ``start``: the parameters' starting distribution (default the
    shipped posterior; ``"prior"`` for uniform priors). ``noise``: add the observation model to
    the draws (default True)."""

    def __init__(
        self,
        observations: pd.DataFrame,
        *,
        space: Space | None = None,
        data_dir: Path | None = None,
        synthetic: bool = False,
        members: int = 200,
        params: Sequence[str] = CALIBRATED,
        start: Posterior | str | None = None,
        origins: Sequence[int] = (),
        scenario: str | Scenario = "acceleration",
        noise: bool = True,
        idps: bool = True,
        anchor: float = 1.0,
        anchor_months: int = 12,
        noise_by_series: bool = True,
        noise_level: str = "month",
        history_until_origin: bool = True,
    ) -> None:
        self.observations = observations
        self.space = space
        self.data_dir = data_dir
        self.synthetic = synthetic
        self.members = int(members)
        self.params = tuple(params)
        self.start = start
        self.origins = sorted({int(o) for o in origins})
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.noise = noise
        self.idps = idps
        if not 0.0 <= float(anchor) <= 1.0:
            raise ValueError(f"anchor must lie in [0, 1], got {anchor}")
        if not 1 <= int(anchor_months) <= RECENT:
            raise ValueError(f"anchor_months must lie in 1..{RECENT}, got {anchor_months}")
        self.anchor = float(anchor)
        self.noise_by_series = bool(noise_by_series)
        if noise_level not in ("month", "year"):
            raise ValueError(f"noise_level must be 'month' or 'year', got {noise_level!r}")
        self.noise_level = noise_level
        self.history_until_origin = bool(history_until_origin)
        self._tl: pd.DataFrame | None = None
        self.anchor_months = int(anchor_months)
        self._kept: dict[tuple[int, int], tuple[Any, np.ndarray, np.ndarray]] = {}
        self._recent: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}
        self._reach: dict[int, int] = {}
        self._obs_model: ObsModel | None = None
        self.passes = 0

    def __repr__(self) -> str:
        return (f"FilteredForecaster(members={self.members}, anchor={self.anchor}, "
                f"anchor_months={self.anchor_months}, noise={self.noise}, "
                f"noise_by_series={self.noise_by_series}, noise_level={self.noise_level!r}, "
                f"history_until_origin={self.history_until_origin})")  # fmt: skip

    def __getstate__(self) -> dict[str, Any]:  # ship settings to workers, not filtered states
        return {**self.__dict__, "_kept": {}, "_reach": {}, "_recent": {}}

    def _timeline(self) -> pd.DataFrame:
        if self._tl is None:
            self._tl = load_timeline()
        return self._tl

    def _space(self) -> Space:
        if self.space is None:
            self.space = make_space(self.data_dir, HISTORY_START, synthetic=self.synthetic)
        return self.space

    def obs_model(self, first_origin: int) -> ObsModel:
        """The observation model, its dispersion estimated on data up to ``first_origin``."""
        if self._obs_model is None:
            self._obs_model = dispersion_from_data(until_month(self.observations, first_origin))
        return self._obs_model

    def _start(self) -> Posterior | None:
        if self.start == "prior":
            return None
        return self.start if isinstance(self.start, Posterior) else load_posterior()

    def _pass(self, seed: int, origin: int) -> None:
        """One filter pass for ``seed`` to the last wanted origin >= ``origin``, keeping every
        wanted origin on the way."""
        want = sorted({o for o in self.origins if o >= origin} | {origin})
        end = want[-1]
        first = min([*self.origins, origin])
        ctx = Context(self._space(), "acceleration")
        scale = ParamScale(self.params)
        rngs = streams(seed)
        pm = initial_params(scale, self.members, rngs["init"], self._start(), seed)
        obs = self.observations[self.observations["month_id"] <= end]
        res = filter_pass(ctx, obs, pm, scale, end=end, model_seed=seed, rngs=rngs,
                          obs_model=self.obs_model(first), move=LiuWest(0.98),
                          checkpoints=want, label=f"filter (seed {seed})")  # fmt: skip
        self.passes += 1
        for o, kept in res.checkpoints.items():
            self._kept[(seed, o)] = kept
        for o, rec in res.recent.items():
            self._recent[(seed, o)] = rec
        self._reach[seed] = end

    def seed_with(self, origin: int, seed: int, state: Any, param_matrix: np.ndarray,
                  log_weights: np.ndarray | None = None,
                  recent: tuple[np.ndarray, np.ndarray] | None = None) -> None:  # fmt: skip
        """Use an ensemble already filtered to ``origin`` (``sahelsim assimilate``) for
        forecasts from ``origin`` with ``seed``, instead of filtering again; ``recent``: the
        members' simulated counts of the last months (months, (N, months, 3, countries)), for
        the anchoring (without them the forecast is not anchored)."""
        n = state.members
        lw = np.full(n, -np.log(n)) if log_weights is None else np.asarray(log_weights, float)
        self._kept[(int(seed), int(origin))] = (state, np.asarray(param_matrix, float), lw)
        if recent is not None:
            self._recent[(int(seed), int(origin))] = recent

    def filtered(self, origin: int, seed: int) -> tuple[Any, np.ndarray, np.ndarray]:
        """(state, parameter matrix, normalised log-weights) at the end of ``origin``."""
        key = (int(seed), int(origin))
        if key not in self._kept:
            if int(origin) < HISTORY_START + 1:
                raise ValueError(f"origin {month_text(origin)} leaves the filter nothing to "
                                 f"filter (it starts in {month_text(HISTORY_START)})")  # fmt: skip
            self._pass(int(seed), int(origin))
        return self._kept[key]

    def __call__(self, history: pd.DataFrame, origin: int, horizon: int, draws: int,
                 seed: int) -> pd.DataFrame:  # fmt: skip
        check_request(origin, horizon, draws)
        origin, horizon, draws, seed = int(origin), int(horizon), int(draws), int(seed)
        state, pm, logw = self.filtered(origin, seed)
        rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(TAG, origin)))
        w = np.exp(logw - logw.max())
        idx = rng.permutation(systematic_resample(w / w.sum(), rng))  # members, by weight
        idx = idx[np.arange(draws) % idx.size]
        space = self._space()
        tl = self._timeline()
        levers = self.scenario.lever_series(origin + 1, horizon)
        if self.history_until_origin:  # what happened after the origin was not known at it
            tl = tl[tl["month_id"] <= origin]
            levers = held_levers(self.scenario.lever_series(origin, 1), horizon)
        drv = build_drivers(space, origin + 1, horizon, timeline=tl, levers=levers,
                            flags=self.scenario.flags, projection_start=origin + 1)  # fmt: skip
        ds = simulate(space, Params.default(), drv, members=np.arange(draws), seed=seed,
                      record=Record(cells=()), state0=state.take(idx), param_matrix=pm[idx])  # fmt: skip
        rec = self._recent.get((seed, origin))
        if self.anchor > 0 and rec is not None:
            ratio = anchor_ratios(self.observations, origin, rec[0], rec[1][idx],
                                  space.countries, gamma=self.anchor,
                                  window=self.anchor_months)  # fmt: skip
            ds = anchor_dataset(ds, ratio)
        elif self.anchor > 0:
            log.info("forecast from %s: no recent simulated counts kept, not anchored",
                     month_text(origin))  # fmt: skip
        out = dataset_forecast(ds, idps=self.idps)
        if self.noise:
            om = self.obs_model(min([*self.origins, origin]))
            deaths = (out["target"] != "idps").to_numpy()
            if self.noise_by_series:
                ks = series_dispersion(self.observations, origin, default=om.k_month)
                keys = zip(out.loc[deaths, "iso3"], out.loc[deaths, "target"], strict=True)
                k = np.array([ks.get(key, om.k_month) for key in keys])
            else:
                k = om.k_month
            mu = np.maximum(out.loc[deaths, "outcome"].to_numpy(dtype=float), 0.0)
            # the floor once per observed period: per month, or spread over a year's months
            mu = mu + (om.floor / 12.0 if self.noise_level == "year" else om.floor)
            if self.noise_level == "year":
                out.loc[deaths, "outcome"] = _year_noise(out.loc[deaths], mu, om.k_year, rng)
            else:
                out.loc[deaths, "outcome"] = rng.negative_binomial(k, k / (k + mu)).astype(float)
        return out


def _year_noise(rows: pd.DataFrame, mu: np.ndarray, k_year: float,
                rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """Counts whose calendar-year sums have the country-year dispersion ``k_year``: one
    Gamma(k, 1/k) factor per (draw, year, country, type) scales every month of that year, then
    Poisson per month (a year total is then negative binomial with size ``k_year``)."""
    year = (rows["month_id"].to_numpy() - 1) // 12
    key = pd.MultiIndex.from_arrays([rows["draw"].to_numpy(), year, rows["iso3"].to_numpy(),
                                     rows["target"].to_numpy()])  # fmt: skip
    codes, uniques = pd.factorize(key)
    g = rng.gamma(k_year, 1.0 / k_year, size=len(uniques))
    return rng.poisson(mu * g[codes]).astype(float)


def held_levers(at_origin: dict[str, np.ndarray], months: int) -> dict[str, np.ndarray]:
    """Lever series that hold each lever at its value of the origin month (``at_origin``: one
    month of :meth:`Scenario.lever_series`) for ``months``; impulse levers (a pulse in the month
    it happens) are 0: a backtest must not know the dated lever history after its origin
    (the end of Barkhane, the northern accord's collapse, the ECOWAS exit)."""
    impulse = {lv.name for lv in LEVERS if lv.kind == "impulse"}
    return {k: (np.zeros((months, v.shape[1])) if k in impulse
                else np.repeat(np.asarray(v[:1], dtype=float), months, axis=0))
            for k, v in at_origin.items()}  # fmt: skip


#: One-sided deaths by perpetrator (scaled with the one-sided factor when anchoring).
ONE_SIDED_PARTS = ("civilians_killed_by_state_side", "civilians_killed_by_jnim",
                   "civilians_killed_by_issp", "civilians_killed_by_other_groups")  # fmt: skip


def anchor_dataset(ds: xr.Dataset, ratio: np.ndarray) -> xr.Dataset:
    """``ds`` (member, month, country) with deaths by type multiplied by ``ratio`` (members,
    3, countries: :func:`anchor_ratios`); one-sided deaths by perpetrator follow the one-sided
    factor, the state side's losses the state-based one, and ``deaths_total`` changes by the
    same number of deaths, so the parts still add up. Cell variables are left as they are."""
    ds = ds.copy()
    before = sum(ds[SIM_VARIABLE[o]] for o in COUNT_OBSERVABLES)
    for j, o in enumerate(COUNT_OBSERVABLES):
        f = xr.DataArray(ratio[:, j, :], dims=("member", "country"))
        names = (SIM_VARIABLE[o], *(ONE_SIDED_PARTS if o == "os" else ()),
                 *(("state_losses",) if o == "sb" else ()))  # fmt: skip
        for v in names:
            if v in ds:
                ds[v] = ds[v] * f
    if "deaths_total" in ds:
        ds["deaths_total"] = ds["deaths_total"] + (
            sum(ds[SIM_VARIABLE[o]] for o in COUNT_OBSERVABLES) - before)  # fmt: skip
    ds.attrs["anchored"] = "deaths by type anchored on the 12 observed months to the origin"
    return ds


def anchor_ratios(observations: pd.DataFrame, origin: int, months: np.ndarray,
                  counts: np.ndarray, countries: Sequence[str], *, gamma: float = 1.0,
                  window: int = 12, prior: float = 1.0) -> np.ndarray:  # fmt: skip
    """(N, 3, countries) factors that anchor each member's projected deaths by type on the
    observed level: ``((O + a) / (S_i + a)) ** gamma``, with O the deaths UCDP recorded in the
    observation rows (country-months, or whole-period sums) that lie inside the last
    ``window`` months up to ``origin``, S_i the member's simulated deaths of the same months
    (``counts``: (N, months, 3, countries) over ``months``) and a = ``prior`` deaths per month
    covered (so a series with no deaths on either side keeps factor 1). A series the window's
    rows cover for fewer than half its months keeps factor 1. Only rows observed by the origin
    enter (rows after it are dropped here)."""
    n, k = counts.shape[0], len(countries)
    out = np.ones((n, len(COUNT_OBSERVABLES), k))
    lo = int(origin) - int(window) + 1
    rows = observations[(observations["month_id"] <= origin) & (observations["first_month"] >= lo)
                        & observations["resolution"].isin(["month", "year"])]  # fmt: skip
    months = np.asarray(months)
    for (iso, obs_name), g in rows.groupby(["iso3", "observable"]):
        if iso not in countries or obs_name not in COUNT_OBSERVABLES:
            continue
        sel = np.zeros(months.size, dtype=bool)
        for r in g.itertuples(index=False):
            sel |= (months >= r.first_month) & (months <= r.month_id)
        covered = int(sel.sum())
        if covered < max(1, window // 2):
            continue
        o_sum = float(g["value"].sum())
        s_sum = counts[:, sel, COUNT_OBSERVABLES.index(obs_name), countries.index(iso)].sum(axis=1)
        a = prior * covered
        out[:, COUNT_OBSERVABLES.index(obs_name), countries.index(iso)] = (
            (o_sum + a) / (np.maximum(s_sum, 0.0) + a)) ** gamma  # fmt: skip
    return out


def calibration_years(origins: Sequence[int], every: int = 0) -> dict[int, int]:
    """{origin: the last year of data its starting posterior may be calibrated on}: the last
    complete year at or before the first origin, moved forward every ``every`` years of
    origins (0: one calibration before the first origin). An origin in January 2017 may use
    2012-2016; a December-2016 origin (country-year) may use 2012-2016."""
    if every < 0:
        raise ValueError(f"every must be >= 0 years, got {every}")
    ends = {int(o): (int(o) - 1) // 12 + 1980 - (0 if int(o) % 12 == 0 else 1) for o in origins}
    if not ends:
        return {}
    first = min(ends.values())
    if every == 0:
        return dict.fromkeys(ends, first)
    return {o: first + every * ((e - first) // every) for o, e in ends.items()}


class ExpandingForecaster:
    """The filtered model with its starting parameters re-calibrated on an expanding window:
    each origin is forecast by the forecaster of its block (``blocks``: calibration end year
    -> a :class:`FilteredForecaster` started from a posterior fitted to 2012..that year, with
    the block's origins), so no parameter has seen data after the origin."""

    def __init__(self, blocks: dict[int, FilteredForecaster], years: dict[int, int]) -> None:
        missing = sorted({y for y in years.values()} - set(blocks))
        if missing:
            raise ValueError(f"no forecaster for calibration years {missing}")
        self.blocks = dict(blocks)
        self.years = dict(years)

    def __call__(self, history: pd.DataFrame, origin: int, horizon: int, draws: int,
                 seed: int) -> pd.DataFrame:  # fmt: skip
        if int(origin) not in self.years:
            raise ValueError(f"origin {month_text(origin)} is not one of this forecaster's "
                             "origins")  # fmt: skip
        return self.blocks[self.years[int(origin)]](history, origin, horizon, draws, seed)


def expanding_forecaster(store: Any, observations: pd.DataFrame, origins: Sequence[int], *,
                         every: int, out: Path, members: int = 200, n_particles: int = 300,
                         generations: int = 8, seed: int = 0, data_dir: Path | None = None,
                         space: Space | None = None, progress: Any = None,
                         backend: Any = None,
                         noise_level: str = "month") -> tuple[ExpandingForecaster, pd.DataFrame]:  # fmt: skip
    """The :class:`ExpandingForecaster` of a backtest over ``origins``: one ABC calibration per
    block (:func:`~sahelsim.inference.calibrate.pre_origin_posterior`, cached under
    ``out/calibration_2012-YYYY``), one filtered forecaster per block. Returns it and a table
    of the blocks (calibration years, first and last origin, unique particles)."""
    years = calibration_years(origins, every)
    blocks, rows = {}, []
    for end in sorted(set(years.values())):
        post = pre_origin_posterior(store, last_year=end, out=Path(out) / f"calibration_2012-{end}",
                                    n_particles=n_particles, generations=generations, seed=seed,
                                    data_dir=data_dir, progress=progress, backend=backend)  # fmt: skip
        mine = sorted(o for o, y in years.items() if y == end)
        blocks[end] = FilteredForecaster(observations, space=space, data_dir=data_dir,
                                         members=members, start=post, origins=mine,
                                         noise_level=noise_level)  # fmt: skip
        rows.append({"calibrated_on": f"2012-{end}", "first_origin": month_text(mine[0]),
                     "last_origin": month_text(mine[-1]), "origins": len(mine),
                     "unique_particles": int(np.unique(post.particles, axis=0).shape[0])})  # fmt: skip
    return ExpandingForecaster(blocks, years), pd.DataFrame(rows)
