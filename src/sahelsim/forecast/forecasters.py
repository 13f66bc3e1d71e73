"""Country-month forecasters with one signature, for forecasts from an origin and backtests.

A *forecaster* is any callable

    ``forecaster(history, origin, horizon, draws, seed) -> DataFrame``

* ``history``: the observed country-months up to and including ``origin`` (a wide frame
  ``iso3, month_id, sb, ns, os``: UCDP GED best deaths by type of violence, see
  :func:`observed_cm`). A forecaster must not look at rows after ``origin``; the ones here
  drop them defensively.
* ``origin``: the last observed month (VIEWS ``month_id``); ``horizon``: months ahead, the
  forecast covers ``origin + 1 .. origin + horizon``; ``draws``: sample size per
  country-month; ``seed``: the one seed every random number comes from.
* the result is long: ``month_id, iso3, target, draw, outcome`` with ``target`` in
  ``sb, ns, os`` (deaths in that month) and optionally ``idps`` (the stock of internally
  displaced people at the end of that month, given for Decembers only).

:class:`BaselineForecaster` wraps the baselines of :mod:`sahelsim.forecast.baselines`
(:func:`baseline_forecasters` gives the five of the backtest); :class:`ModelForecaster` is
the free-running model (posterior predictive started in January 2012 and cut at the origin).
The particle-filtered model forecaster is injected by the caller under the same signature.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from sahelsim.core.canon import month_id, month_id_to_year_month
from sahelsim.forecast.baselines import (
    Conflictology,
    GlobalBootstrap,
    LastValuePoisson,
    NegBinRecent,
    ZeroBaseline,
)
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.scenarios.posterior import Posterior, load_posterior
from sahelsim.scenarios.run import HISTORY_START, make_space, posterior_param_matrix
from sahelsim.scenarios.scenario import Scenario, load_scenario
from sahelsim.scenarios.setup import build_drivers

log = logging.getLogger(__name__)

#: Forecast targets: short name -> model dataset variable (UCDP type_of_violence 1, 2, 3).
TARGETS: dict[str, str] = {
    "sb": "deaths_state_based",
    "ns": "deaths_non_state",
    "os": "deaths_one_sided",
}
#: A stable integer per target, for random-number spawn keys.
TARGET_KEY: dict[str, int] = {"sb": 1, "ns": 2, "os": 3, "idps": 4}
CORE: tuple[str, ...] = ("MLI", "BFA", "NER")
#: Store columns of the ViEWS GED country-month table, per target.
GED_CM_COLUMNS: dict[str, str] = {"sb": "ged_best_sb", "ns": "ged_best_ns", "os": "ged_best_os"}
OBSERVED_COLUMNS: tuple[str, ...] = ("iso3", "month_id", "sb", "ns", "os")
FORECAST_COLUMNS: tuple[str, ...] = ("month_id", "iso3", "target", "draw", "outcome")

Forecaster = Callable[[pd.DataFrame, int, int, int, int], pd.DataFrame]


def sub_seed(seed: int, *keys: int) -> int:
    """A non-negative int64 seed derived from ``SeedSequence(seed, spawn_key=keys)``."""
    if int(seed) < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    words = np.random.SeedSequence(int(seed), spawn_key=tuple(int(k) for k in keys))
    a, b = (int(w) for w in words.generate_state(2, dtype=np.uint32))
    return ((a << 32) | b) & ((1 << 63) - 1)


def month_text(mid: int) -> str:
    y, m = month_id_to_year_month(int(mid))
    return f"{int(y):04d}-{int(m):02d}"


def check_observed_cm(frame: pd.DataFrame, *, source: str = "observed_cm") -> pd.DataFrame:
    """Validate a wide country-month frame (``iso3, month_id, sb, ns, os``) and return it
    sorted, core countries only, ``month_id`` int64 and deaths float64. Errors name the row
    and the field."""
    missing = [c for c in OBSERVED_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; expected {OBSERVED_COLUMNS}")
    df = frame.loc[frame["iso3"].astype(str).isin(CORE), list(OBSERVED_COLUMNS)].copy()
    df["iso3"] = df["iso3"].astype(str)
    mid = pd.to_numeric(df["month_id"], errors="coerce")
    bad = mid.isna() | (mid % 1 != 0) | (mid < 1)
    if bad.any():
        i = bad.idxmax()
        raise ValueError(f"{source}: row {i}, field month_id: {frame.loc[i, 'month_id']!r} is "
                         "not a positive integer month id")  # fmt: skip
    df["month_id"] = mid.astype(np.int64)
    for t in TARGETS:
        v = pd.to_numeric(df[t], errors="coerce")
        bad = v.isna() | (v < 0) | ~np.isfinite(v)
        if bad.any():
            i = bad.idxmax()
            raise ValueError(f"{source}: row {i}, field {t}: {frame.loc[i, t]!r} is not a "
                             "non-negative number of deaths")  # fmt: skip
        df[t] = v.astype(np.float64)
    dup = df.duplicated(["iso3", "month_id"])
    if dup.any():
        i = dup.idxmax()
        raise ValueError(f"{source}: row {i}: a second row for {df.loc[i, 'iso3']} month_id "
                         f"{df.loc[i, 'month_id']} (fields iso3, month_id)")  # fmt: skip
    if df.empty:
        raise ValueError(f"{source}: no rows for {CORE}")
    return df.sort_values(["month_id", "iso3"], ignore_index=True)


def observed_cm(store: Any) -> pd.DataFrame:
    """The ViEWS UCDP GED country-month table of the store as ``iso3, month_id, sb, ns, os``."""
    raw = store.table("ged_country_month")
    if raw.empty:
        raise LookupError("the store has no UCDP GED country-month rows (source ucdp_ged_cm): "
                          "ingest the data directory first")  # fmt: skip
    frame = raw.rename(columns={v: k for k, v in GED_CM_COLUMNS.items()})
    return check_observed_cm(frame, source="store table ged_country_month")


def history_until(observed: pd.DataFrame, origin: int) -> pd.DataFrame:
    """The rows of ``observed`` with ``month_id <= origin`` (what a forecaster may see)."""
    return observed[observed["month_id"] <= int(origin)].reset_index(drop=True)


def check_request(origin: int, horizon: int, draws: int) -> None:
    if int(horizon) < 1:
        raise ValueError(f"horizon must be >= 1 month, got {horizon}")
    if int(draws) < 1:
        raise ValueError(f"draws must be >= 1, got {draws}")
    if int(origin) < 1:
        raise ValueError(f"origin must be a month id >= 1, got {origin}")


class BaselineForecaster:
    """A baseline of :mod:`sahelsim.forecast.baselines` as a :data:`Forecaster`.

    Per target, the baseline is fitted to the history up to the origin (complete panel of the
    three countries, missing months read as 0 deaths) and predicts every month of the horizon
    with the same distribution; draws come from ``sub_seed(seed, target key, origin)`` and the
    baseline's own per-unit-period streams.
    """

    def __init__(self, cls: type, **settings: Any) -> None:
        self.cls = cls
        self.settings = settings

    def __repr__(self) -> str:
        return f"BaselineForecaster({self.cls.__name__}, {self.settings})"

    def __call__(self, history: pd.DataFrame, origin: int, horizon: int, draws: int,
                 seed: int) -> pd.DataFrame:  # fmt: skip
        check_request(origin, horizon, draws)
        h = history_until(history, origin)
        if h.empty:
            raise ValueError(f"{self.cls.__name__}: no history up to origin {month_text(origin)}")
        months = list(range(int(origin) + 1, int(origin) + int(horizon) + 1))
        blocks: list[tuple[int, str, str, np.ndarray]] = []
        for t in TARGETS:
            frame = pd.DataFrame({"unit": h["iso3"], "period": h["month_id"], "value": h[t]})
            model = self.cls(freq="month", **self.settings).fit(frame)
            pred = model.predict(months, n_draws=int(draws),
                                 seed=sub_seed(seed, TARGET_KEY[t], origin), units=list(CORE))  # fmt: skip
            blocks += [(int(mid), str(unit), t, arr) for (unit, mid), arr in pred.items()]
        return long_frame(blocks)


def long_frame(blocks: list[tuple[int, str, str, np.ndarray]]) -> pd.DataFrame:
    """The long forecaster frame of ``(month_id, iso3, target, draws)`` blocks."""
    values = [np.asarray(b[3], dtype=np.float64).ravel() for b in blocks]
    sizes = np.array([v.size for v in values], dtype=np.int64)
    return pd.DataFrame({
        "month_id": np.repeat(np.array([b[0] for b in blocks], dtype=np.int64), sizes),
        "iso3": np.repeat(np.array([b[1] for b in blocks], dtype=object), sizes),
        "target": np.repeat(np.array([b[2] for b in blocks], dtype=object), sizes),
        "draw": np.concatenate([np.arange(n, dtype=np.int64) for n in sizes]),
        "outcome": np.concatenate(values),
    })  # fmt: skip


def baseline_forecasters(window: int = 36) -> dict[str, Forecaster]:
    """The five country-month baselines: zero, last value (Poisson), conflictology (resample the
    last ``window`` months), global bootstrap (resample every country-month of the history,
    the three countries pooled) and a negative binomial fitted by moments to the last
    ``window`` months (36 by default, the ViEWS window)."""
    return {
        "zero": BaselineForecaster(ZeroBaseline),
        "last_value": BaselineForecaster(LastValuePoisson),
        "conflictology": BaselineForecaster(Conflictology, window=window),
        "bootstrap": BaselineForecaster(GlobalBootstrap),
        "negbin": BaselineForecaster(NegBinRecent, window=window),
    }


Parameters = Literal["auto", "posterior", "prior"]


def posterior_end(post: Posterior) -> int | None:
    """The last month of the data the posterior was fitted to (December of its last year)."""
    years = post.meta.get("settings", {}).get("years") or post.meta.get("diagnostics", {}).get(
        "years"
    )
    if not years:
        return None
    return int(month_id(int(years[-1]), 12))


class ModelForecaster:
    """The free-running model as a :data:`Forecaster` (until the particle filter lands).

    Each member starts in January 2012 from the model's initial state and runs the known
    history (timeline coups forced) to the origin, then on to ``origin + horizon`` with coups
    drawn by the model (``projection_start = origin + 1``). ``history`` is not used: the
    members are wherever their own history took them, not where the Sahel is (issue 12).

    Parameters per member: ``"posterior"`` draws them from ``posterior`` (default: the shipped
    one), ``"prior"`` uses the prior defaults, ``"auto"`` (default) the posterior only when it
    was fitted to data ending at or before the origin (otherwise the data after the origin
    would leak into the forecast) and the prior defaults otherwise (logged).

    The history run is chained with the engine's state (``simulate(state0=...,
    return_state=True)``): forecasts at increasing origins extend one run per (seed, draws,
    parameters), with numbers identical to a fresh run from 2012. Target ``idps`` gives the
    December stocks of displaced people in the horizon.
    """

    def __init__(self, *, data_dir: Path | None = None, synthetic: bool = False,
                 scenario: str | Scenario = "acceleration", parameters: Parameters = "auto",
                 posterior: Posterior | None = None, space: Space | None = None,
                 idps: bool = True) -> None:  # fmt: skip
        if parameters not in ("auto", "posterior", "prior"):
            raise ValueError(f"parameters must be 'auto', 'posterior' or 'prior', got "
                             f"{parameters!r}")  # fmt: skip
        self.data_dir = data_dir
        self.synthetic = synthetic
        self.scenario = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        self.parameters = parameters
        self.posterior = posterior
        self.space = space
        self.idps = idps
        self._chains: dict[tuple[int, int, str], tuple[int, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:  # ship settings to workers, not cached states
        return {**self.__dict__, "_chains": {}}

    def _space(self) -> Space:
        if self.space is None:
            self.space = make_space(self.data_dir, HISTORY_START, synthetic=self.synthetic)
        return self.space

    def parameter_source(self, origin: int) -> tuple[str, Posterior | None]:
        """``("posterior", post)`` or ``("prior", None)`` for a forecast from ``origin``."""
        if self.parameters == "prior":
            return "prior", None
        post = self.posterior if self.posterior is not None else load_posterior()
        if post is None:
            if self.parameters == "posterior":
                raise ValueError("parameters='posterior' but no posterior ships or was given")
            return "prior", None
        if self.parameters == "posterior":
            return "posterior", post
        end = posterior_end(post)
        if end is None or end > int(origin):
            log.info("posterior fitted to data until %s, after the origin %s: the model "
                     "forecast uses the prior defaults", month_text(end) if end else "unknown",
                     month_text(origin))  # fmt: skip
            return "prior", None
        return "posterior", post

    def _run(self, state: Any, start: int, months: int, ids: np.ndarray, seed: int,
             pm: np.ndarray | None, projection_start: int | None) -> tuple[Any, Any]:  # fmt: skip
        space = self._space()
        drivers = build_drivers(space, start, months,
                                levers=self.scenario.lever_series(start, months),
                                flags=self.scenario.flags, projection_start=projection_start)  # fmt: skip
        return simulate(space, Params.default(), drivers, members=ids, seed=int(seed),
                        record=Record(cells=()), state0=state, param_matrix=pm,
                        return_state=True)  # fmt: skip

    def __call__(self, history: pd.DataFrame, origin: int, horizon: int, draws: int,
                 seed: int) -> pd.DataFrame:  # fmt: skip
        check_request(origin, horizon, draws)
        origin, horizon, draws = int(origin), int(horizon), int(draws)
        if origin < HISTORY_START:
            raise ValueError(f"origin {month_text(origin)} is before the model's start "
                             f"{month_text(HISTORY_START)}")  # fmt: skip
        kind, post = self.parameter_source(origin)
        ids = np.arange(draws)
        pm = posterior_param_matrix(ids, int(seed), posterior=post) if post is not None else None
        key = (int(seed), draws, kind)
        done, state = self._chains.get(key, (HISTORY_START - 1, None))
        if done > origin:  # an earlier origin than the cached chain: start again
            done, state = HISTORY_START - 1, None
        if origin > done:
            _, state = self._run(state, done + 1, origin - done, ids, seed, pm, None)
            self._chains[key] = (origin, state)
        ds, _ = self._run(state, origin + 1, horizon, ids, seed, pm, origin + 1)
        return dataset_forecast(ds, idps=self.idps)


def dataset_forecast(ds: Any, *, idps: bool = True) -> pd.DataFrame:
    """A model dataset (member, month, country) as the long forecaster frame (draw = member
    position); ``idps`` adds the December stocks of displaced people."""
    blocks: list[tuple[int, str, str, np.ndarray]] = []
    variables: Mapping[str, str] = {**TARGETS, **({"idps": "idps"} if idps else {})}
    months = ds["month"].values
    for t, var in variables.items():
        keep = months if t != "idps" else months[month_id_to_year_month(months)[1] == 12]
        for c in CORE:
            arr = ds[var].sel(country=c, month=keep).values  # (member, month)
            blocks += [(int(mid), c, t, arr[:, j]) for j, mid in enumerate(keep)]
    return long_frame(blocks)
