"""Ensembles of sample forecasters: an equally weighted median (quantile) combination and a
trained linear pool, as forecasters and on the rows of a backtest.

Median ensemble (:func:`median_combine`, :class:`MedianEnsemble`)
    The US COVID-19 Forecast Hub's combination (Ray et al. 2022), on samples. For one unit
    and period with ``K`` member samples, ``n`` output draws are made at stratified random
    quantile levels ``u_j = (j + V_j) / n``, ``j = 0..n-1``, ``V_j ~ Uniform(0, 1]``. At each
    level every member's quantile is read from its sorted sample with the inverted-CDF rule
    (``x_(ceil(u m))`` of ``m`` draws, so a member's quantile is always one of its draws), and
    the ensemble's quantile is the median of the ``K`` members' (the mean of the two middle
    ones when ``K`` is even). The ``n`` values, a sample of the combined quantile function by
    stratified inverse-transform sampling, are returned in a random order. Every member
    counts equally. With identical members (and ``n = m``) the output is exactly the member's
    sample, permuted.

Linear pool (:func:`fit_pool_weights`, :func:`pool_sample`, :class:`LinearPool`)
    The mixture ``F = sum_k w_k F_k`` with ``w`` on the simplex, fitted by minimising the mean
    CRPS of the mixture over training forecasts. For empirical members CRPS is exact and
    quadratic in ``w``::

        CRPS(F, y) = sum_k w_k E|X_k - y| - 1/2 sum_k sum_l w_k w_l E|X_k - X_l|

    (``E|X_k - X_k'|`` over all pairs of one sample, the "qd" estimator of
    :func:`sahelsim.forecast.scoring.crps_ensemble`), so the mean over training rows is
    ``w . a - 1/2 w' B w`` with ``a``, ``B`` averaged over rows; it is minimised on the simplex
    by SLSQP (:func:`scipy.optimize.minimize`), starting from equal weights. Training rows of
    a forecast from origin ``o`` are the forecasts made at origins strictly before ``o`` whose
    target period is at most ``o`` (their outcome is known at ``o``); with none, the weights
    are equal. Draws of the pool: component ``k`` of draw ``i`` by systematic sampling
    (``u_i = (i + V) / n`` against the cumulative weights), then a uniformly chosen draw of
    that component.

Random numbers come from ``SeedSequence(seed, spawn_key=(ensemble key, origin))``; rows are
processed in sorted key order, so results do not depend on how the work was split.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from sahelsim.forecast.forecasters import (
    TARGETS,
    Forecaster,
    check_request,
    history_until,
    sub_seed,
)

log = logging.getLogger(__name__)

MEDIAN_NAME = "median_ensemble"
POOL_NAME = "linear_pool"
ENSEMBLE_KEY = {MEDIAN_NAME: 101, POOL_NAME: 102}
ROW_KEYS: tuple[str, ...] = ("iso3", "target")


# -- median (quantile) combination ---------------------------------------------------------------
def median_combine(
    samples: Sequence[np.ndarray], n_draws: int, rng: np.random.Generator
) -> np.ndarray:
    """Median-of-quantiles combination of member samples, row-wise.

    ``samples``: ``K`` arrays of shape ``(R, m_k)`` (``R`` unit-periods, members may differ in
    sample size). Returns ``(R, n_draws)`` (see the module doc for the exact rule).
    """
    if not samples:
        raise ValueError("median_combine: no member samples")
    rows = {np.asarray(s).shape[0] for s in samples}
    if len(rows) != 1:
        raise ValueError(f"median_combine: members have different numbers of rows {rows}")
    (R,) = rows
    n = int(n_draws)
    v = 1.0 - rng.random((R, n))  # (0, 1]
    u = (np.arange(n)[None, :] + v) / n
    quantiles = []
    for s in samples:
        x = np.sort(np.asarray(s, dtype=np.float64), axis=1)
        m = x.shape[1]
        idx = np.clip(np.ceil(u * m).astype(np.int64) - 1, 0, m - 1)
        quantiles.append(np.take_along_axis(x, idx, axis=1))
    combined = np.median(np.stack(quantiles), axis=0)
    return rng.permuted(combined, axis=1)


# -- linear pool ---------------------------------------------------------------------------------
def mean_abs_diff(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Row-wise ``E|X - Y| = mean_{i,j} |x_i - y_j|`` of two samples ``(R, m)`` and ``(R, p)``,
    from ``int (F (1 - G) + G (1 - F)) dt`` over the merged sorted values (exact)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    m, p = x.shape[1], y.shape[1]
    z = np.concatenate([x, y], axis=1)
    order = np.argsort(z, axis=1, kind="stable")
    zs = np.take_along_axis(z, order, axis=1)
    from_x = order < m
    f = np.cumsum(from_x, axis=1) / m
    g = np.cumsum(~from_x, axis=1) / p
    gap = np.diff(zs, axis=1)
    integrand = f[:, :-1] * (1.0 - g[:, :-1]) + g[:, :-1] * (1.0 - f[:, :-1])
    return (gap * integrand).sum(axis=1)


def pool_terms(samples: Sequence[np.ndarray], obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row CRPS terms of the mixture: ``a (R, K)`` with ``a_k = E|X_k - y|`` and
    ``B (R, K, K)`` with ``B_kl = E|X_k - X_l|``."""
    K = len(samples)
    y = np.asarray(obs, dtype=np.float64)
    a = np.column_stack([np.abs(np.asarray(s, np.float64) - y[:, None]).mean(axis=1)
                         for s in samples])  # fmt: skip
    B = np.zeros((y.size, K, K))
    for k in range(K):
        for j in range(k, K):
            d = mean_abs_diff(samples[k], samples[j])
            B[:, k, j] = d
            B[:, j, k] = d
    return a, B


def pool_crps(w: np.ndarray, a: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per-row CRPS of the mixture with weights ``w`` (see the module doc)."""
    w = np.asarray(w, dtype=np.float64)
    return a @ w - 0.5 * np.einsum("k,rkl,l->r", w, B, w)


def fit_pool_weights(a: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Simplex weights minimising the mean mixture CRPS over rows (equal weights without rows).

    The objective ``w . mean(a) - 1/2 w' mean(B) w`` is convex on the simplex (CRPS of a
    mixture is convex in its weights); SLSQP from equal weights, then clipped and renormalised.
    """
    K = a.shape[1]
    equal = np.full(K, 1.0 / K)
    if a.shape[0] == 0:
        return equal
    abar = a.mean(axis=0)
    bbar = B.mean(axis=0)

    def f(w: np.ndarray) -> float:
        return float(w @ abar - 0.5 * w @ bbar @ w)

    def grad(w: np.ndarray) -> np.ndarray:
        return abar - bbar @ w

    res = minimize(f, equal, jac=grad, method="SLSQP", bounds=[(0.0, 1.0)] * K,
                   constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0,
                                 "jac": lambda w: np.ones_like(w)}],
                   options={"ftol": 1e-12, "maxiter": 500})  # fmt: skip
    w = np.where(res.x > 1e-9, res.x, 0.0)
    if not res.success or w.sum() <= 0 or f(w / w.sum()) > f(equal) + 1e-12:
        log.debug("linear pool: SLSQP did not improve on equal weights (%s)", res.message)
        return equal if f(equal) <= f(w / max(w.sum(), 1e-300)) else w / w.sum()
    return w / w.sum()


def pool_sample(samples: Sequence[np.ndarray], weights: np.ndarray, n_draws: int,
                rng: np.random.Generator) -> np.ndarray:  # fmt: skip
    """``(R, n_draws)`` draws of the mixture (systematic component allocation per row)."""
    w = np.asarray(weights, dtype=np.float64)
    R = np.asarray(samples[0]).shape[0]
    n = int(n_draws)
    cw = np.cumsum(w / w.sum())
    cw[-1] = 1.0
    u = (np.arange(n)[None, :] + rng.random((R, 1))) / n
    comp = np.minimum(np.searchsorted(cw, u, side="right"), len(w) - 1)
    comp = rng.permuted(comp, axis=1)
    out = np.zeros((R, n))
    for k, s in enumerate(samples):
        s = np.asarray(s, dtype=np.float64)
        rr, cc = np.nonzero(comp == k)
        out[rr, cc] = s[rr, rng.integers(0, s.shape[1], size=rr.size)]
    return out


# -- on long forecaster frames -------------------------------------------------------------------
def _stack(
    frames: Mapping[str, pd.DataFrame], period: str
) -> tuple[pd.DataFrame, list[np.ndarray]]:
    """Rows (period, iso3, target) common to every member and each member's ``(R, m)`` draws."""
    keys: pd.DataFrame | None = None
    mats = []
    for name, fr in frames.items():
        fr = fr[fr["target"].isin(TARGETS)]
        wide = fr.pivot_table(index=[period, *ROW_KEYS], columns="draw", values="outcome",
                              aggfunc="first", observed=True).sort_index()  # fmt: skip
        if wide.isna().any().any():
            raise ValueError(f"member {name!r}: unequal draw counts across rows")
        idx = wide.index.to_frame(index=False)
        if keys is None:
            keys = idx
        elif not keys.equals(idx):
            raise ValueError(f"member {name!r} forecasts other rows than the first member")
        mats.append(wide.to_numpy(dtype=np.float64))
    assert keys is not None
    return keys, mats


def _long(keys: pd.DataFrame, values: np.ndarray) -> pd.DataFrame:
    R, n = values.shape
    out = keys.loc[np.repeat(np.arange(R), n)].reset_index(drop=True)
    out["draw"] = np.tile(np.arange(n, dtype=np.int64), R)
    out["outcome"] = values.ravel()
    return out[["month_id", "iso3", "target", "draw", "outcome"]]


class MedianEnsemble:
    """Equally weighted median (quantile) combination of member forecasters (module doc)."""

    def __init__(self, members: Mapping[str, Forecaster]) -> None:
        if not members:
            raise ValueError("MedianEnsemble needs at least one member forecaster")
        self.members = dict(members)

    def __call__(self, history: pd.DataFrame, origin: int, horizon: int, draws: int,
                 seed: int) -> pd.DataFrame:  # fmt: skip
        check_request(origin, horizon, draws)
        h = history_until(history, origin)
        frames = {k: f(h, origin, horizon, draws, seed) for k, f in self.members.items()}
        keys, mats = _stack(frames, "month_id")
        rng = np.random.default_rng(sub_seed(seed, ENSEMBLE_KEY[MEDIAN_NAME], origin))
        return _long(keys, median_combine(mats, draws, rng))


class LinearPool:
    """Linear pool of member forecasters with weights fitted on earlier origins (module doc).

    Called at ``origin``, it re-runs the members at ``train_origins`` earlier origins
    ``origin - step * j`` (``j = 1..train_origins``), each for the months up to ``origin``
    only, scores them against the history, fits the weights (``weights_``) and samples the
    mixture of the members' forecasts at ``origin``.
    """

    def __init__(self, members: Mapping[str, Forecaster], *, train_origins: int = 8,
                 step: int = 3) -> None:  # fmt: skip
        if not members:
            raise ValueError("LinearPool needs at least one member forecaster")
        if train_origins < 0 or step < 1:
            raise ValueError("train_origins must be >= 0 and step >= 1")
        self.members = dict(members)
        self.train_origins = int(train_origins)
        self.step = int(step)

    def __call__(self, history: pd.DataFrame, origin: int, horizon: int, draws: int,
                 seed: int) -> pd.DataFrame:  # fmt: skip
        check_request(origin, horizon, draws)
        h = history_until(history, origin)
        obs = h.melt(id_vars=["iso3", "month_id"], value_vars=list(TARGETS), var_name="target",
                     value_name="obs")  # fmt: skip
        a_parts, b_parts = [], []
        first = int(h["month_id"].min()) if len(h) else origin
        for j in range(self.train_origins, 0, -1):
            o = origin - self.step * j
            if o <= first:
                continue
            hh = history_until(h, o)
            frames = {k: f(hh, o, min(horizon, origin - o), draws, seed)
                      for k, f in self.members.items()}  # fmt: skip
            keys, mats = _stack(frames, "month_id")
            y = keys.merge(obs, on=["iso3", "month_id", "target"], how="left")["obs"].to_numpy()
            ok = ~np.isnan(y)
            if ok.any():
                a, B = pool_terms([m[ok] for m in mats], y[ok])
                a_parts.append(a)
                b_parts.append(B)
        K = len(self.members)
        a = np.concatenate(a_parts) if a_parts else np.zeros((0, K))
        B = np.concatenate(b_parts) if b_parts else np.zeros((0, K, K))
        self.weights_ = dict(zip(self.members, fit_pool_weights(a, B), strict=True))
        frames = {k: f(h, origin, horizon, draws, seed) for k, f in self.members.items()}
        keys, mats = _stack(frames, "month_id")
        rng = np.random.default_rng(sub_seed(seed, ENSEMBLE_KEY[POOL_NAME], origin))
        w = np.array(list(self.weights_.values()))
        return _long(keys, pool_sample(mats, w, draws, rng))


# -- on backtest rows ----------------------------------------------------------------------------
def add_ensembles(frame: pd.DataFrame, *, period: str, members: Sequence[str], draws: int,
                  seed_col: str = "seed") -> tuple[pd.DataFrame, pd.DataFrame]:  # fmt: skip
    """Median ensemble and linear-pool rows for a backtest frame.

    ``frame`` has one row per (seed, origin, period, iso3, target, forecaster) with a
    ``draws`` array and ``obs``; ``members`` names the forecasters combined. Returns the new
    rows (same columns, ``forecaster`` = :data:`MEDIAN_NAME` / :data:`POOL_NAME`) and the
    pool weights per (seed, origin, member) with the number of training rows. Pool weights at
    origin ``o`` use only rows with ``origin < o`` and ``period <= o`` (module doc).
    """
    members = list(members)
    keys = [seed_col, "origin", period, *ROW_KEYS]
    sub = frame[frame["forecaster"].isin(members)]
    rows, weights = [], []
    by_member = {m: sub[sub["forecaster"] == m].set_index(keys).sort_index() for m in members}
    index = by_member[members[0]].index
    for m in members[1:]:
        if not by_member[m].index.equals(index):
            raise ValueError(f"forecaster {m!r} has other rows than {members[0]!r}")
    base = by_member[members[0]]
    samples = [np.stack(by_member[m]["draws"].to_numpy()) for m in members]
    obs = base["obs"].to_numpy(dtype=np.float64)
    known = ~np.isnan(obs)
    a = np.zeros((obs.size, len(members)))
    B = np.zeros((obs.size, len(members), len(members)))
    if known.any():
        a[known], B[known] = pool_terms([s[known] for s in samples], obs[known])
    idx = base.index.to_frame(index=False)
    for (seed, origin), pos in idx.groupby([seed_col, "origin"], sort=True).indices.items():
        train = np.flatnonzero((idx[seed_col].to_numpy() == seed)
                               & (idx["origin"].to_numpy() < origin)
                               & (idx[period].to_numpy() <= origin) & known)  # fmt: skip
        w = fit_pool_weights(a[train], B[train])
        weights += [{seed_col: seed, "origin": origin, "member": m, "weight": float(wk),
                     "n_train": int(train.size)} for m, wk in zip(members, w, strict=True)]  # fmt: skip
        part = [s[pos] for s in samples]
        for name, fn in ((MEDIAN_NAME, lambda r, p=part: median_combine(p, draws, r)),
                         (POOL_NAME, lambda r, p=part, w=w: pool_sample(p, w, draws, r))):  # fmt: skip
            rng = np.random.default_rng(sub_seed(int(seed), ENSEMBLE_KEY[name], int(origin)))
            values = fn(rng)
            block = base.iloc[pos].reset_index()
            block["forecaster"] = name
            block["draws"] = list(values)
            rows.append(block)
    new = pd.concat(rows, ignore_index=True)[list(frame.columns)] if rows else frame.iloc[:0]
    return new, pd.DataFrame(weights)


def ensemble_summary(weights: pd.DataFrame) -> dict[str, Any]:
    """Mean pool weight per member over origins and seeds (for logs and reports)."""
    if weights.empty:
        return {}
    return weights.groupby("member")["weight"].mean().round(3).to_dict()
