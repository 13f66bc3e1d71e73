"""State estimation: a bootstrap particle filter over the ensemble.

Members are particles. Between observation times all members advance together through the
engine's batch interface (``simulate(..., state0=, param_matrix=, members=slots,
return_state=True)``, drivers of that window); at each observation time they are reweighted by
the observation model of :mod:`sahelsim.inference.likelihood` and resampled (systematic) when
the effective sample size falls below ``ess_threshold * N``. Parameters travel with their
particle and are rejuvenated after each resampling by the Liu-West shrinkage kernel (Liu &
West 2001) on a logit scale of each parameter's prior range [lo, hi], so the ensemble does not
collapse onto a few parameter values. :mod:`sahelsim.inference.if2` reuses one pass of this
filter with a random-walk perturbation instead (iterated filtering).

Reproducibility: every draw comes from ``SeedSequence(seed, spawn_key=(TAG, pass, stream))``
(initial parameters, resampling, jitter); the model's noise comes from its member keys
``SeedSequence(model_seed, spawn_key=(slot,))``. Slots keep their ids through resampling, so
two copies of one particle resampled into different slots draw different model noise.
Why the filter is written here rather than taken from ``pypfilt`` or ``particles``:
``docs/decisions.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import expit, logit, logsumexp

from sahelsim.evidence.timeline import load_timeline
from sahelsim.inference.abc import CALIBRATED
from sahelsim.inference.analysis import enkf_stocks
from sahelsim.inference.likelihood import (
    COUNT_OBSERVABLES,
    SIM_VARIABLE,
    ObsModel,
    predictive_cdf,
    predictive_quantiles,
    row_loglik,
)
from sahelsim.model.drivers import Drivers
from sahelsim.model.engine import Record, simulate
from sahelsim.model.fields_table import SPECS
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.model.state import State, initial_state
from sahelsim.scenarios.posterior import Posterior
from sahelsim.scenarios.run import HISTORY_START, posterior_param_matrix
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.scenarios.setup import build_drivers

log = logging.getLogger(__name__)

#: spawn-key tag of the filter's own random streams (member keys use 1-tuples, posteriors 2).
TAG = 0x5F11
STREAM_INIT, STREAM_RESAMPLE, STREAM_MOVE, STREAM_ANALYSIS = 0, 1, 2, 3
#: Parameters that act only through the initial state (``model.state.initial_state``): an
#: initial-value parameter is drawn per particle at the start and not moved afterwards. None
#: today: the armed groups' founding strengths are scaled per member (``scale_*``) inside the
#: compiled kernel when each unit appears, so the initial state is the same for every particle.
INITIAL_ONLY: tuple[str, ...] = ()
SPEC_INDEX = {s.name: j for j, s in enumerate(SPECS)}
_EPS = 1e-6
#: Months of simulated counts each checkpoint keeps per particle (for anchoring forecasts).
RECENT = 24
Progress = Callable[[str, int, int], None]


def streams(seed: int, pass_id: int = 0) -> dict[str, np.random.Generator]:
    """The filter's random generators for one pass, each from its own SeedSequence."""
    return {name: np.random.default_rng(np.random.SeedSequence(int(seed),
                                                               spawn_key=(TAG, pass_id, s)))
            for name, s in (("init", STREAM_INIT), ("resample", STREAM_RESAMPLE),
                            ("move", STREAM_MOVE), ("analysis", STREAM_ANALYSIS))}  # fmt: skip


# -- parameter scale ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ParamScale:
    """The moving parameters and the logit transform of their prior ranges."""

    names: tuple[str, ...]

    def __post_init__(self) -> None:
        bad = [n for n in self.names if n not in SPEC_INDEX]
        if bad:
            raise ValueError(f"unknown parameters {bad}; choose from the model's SPECS")

    @property
    def cols(self) -> np.ndarray:
        return np.array([SPEC_INDEX[n] for n in self.names], dtype=np.int64)

    @property
    def lo(self) -> np.ndarray:
        return np.array([SPECS[SPEC_INDEX[n]].lo for n in self.names], dtype=float)

    @property
    def hi(self) -> np.ndarray:
        return np.array([SPECS[SPEC_INDEX[n]].hi for n in self.names], dtype=float)

    @property
    def initial_only(self) -> np.ndarray:
        return np.array([n in INITIAL_ONLY for n in self.names], dtype=bool)

    def to_z(self, theta: np.ndarray) -> np.ndarray:
        u = (np.asarray(theta, dtype=float) - self.lo) / (self.hi - self.lo)
        return logit(np.clip(u, _EPS, 1.0 - _EPS))

    def from_z(self, z: np.ndarray) -> np.ndarray:
        return self.lo + (self.hi - self.lo) * expit(np.asarray(z, dtype=float))

    def prior_draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Uniform draws over the prior ranges (the calibration's prior), shape (n, p)."""
        return self.lo + (self.hi - self.lo) * rng.random((n, len(self.names)))


def base_matrix(n: int) -> np.ndarray:
    return np.broadcast_to(Params.default().vector(), (n, len(SPECS))).copy()


def initial_params(scale: ParamScale, n: int, rng: np.random.Generator,
                   start: Posterior | np.ndarray | None = None, seed: int = 0) -> np.ndarray:  # fmt: skip
    """(n, N_PARAMS) starting parameter matrix: the defaults, with the moving parameters drawn
    from their uniform priors, or taken from ``start`` (a full matrix, or a posterior drawn by
    weight; moving parameters the posterior lacks are drawn from their priors)."""
    if isinstance(start, np.ndarray):
        pm = np.asarray(start, dtype=float)
        if pm.shape != (n, len(SPECS)):
            raise ValueError(f"starting parameter matrix must have shape ({n}, {len(SPECS)})")
        return pm.copy()
    pm = base_matrix(n)
    pm[:, scale.cols] = scale.prior_draws(n, rng)
    if start is not None:
        drawn = posterior_param_matrix(np.arange(n), seed, posterior=start)
        have = [SPEC_INDEX[m] for m in start.names]
        pm[:, have] = drawn[:, have]
    return pm


# -- the moves ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LiuWest:
    """Liu-West kernel: after resampling, z_i <- a z_i + (1 - a) zbar + N(0, (1 - a^2) V) with
    zbar, V the weighted mean and covariance before resampling, a = (3 delta - 1) / (2 delta)
    (the mixture keeps the first two moments). Initial-value parameters are not moved."""

    delta: float = 0.98

    def __post_init__(self) -> None:
        if not (0.5 < self.delta < 1.0):
            raise ValueError(f"Liu-West discount delta must lie in (0.5, 1), got {self.delta}")

    def after_resample(self, z_pre: np.ndarray, w_pre: np.ndarray, idx: np.ndarray,
                       movable: np.ndarray, rng: np.random.Generator) -> np.ndarray:  # fmt: skip
        a = (3.0 * self.delta - 1.0) / (2.0 * self.delta)
        z = z_pre[idx].copy()
        if not movable.any():
            return z
        zm = z_pre[:, movable]
        mean = w_pre @ zm
        d = zm - mean
        cov = (d * w_pre[:, None]).T @ d + 1e-10 * np.eye(d.shape[1])
        chol = np.linalg.cholesky(cov)
        eps = rng.standard_normal((z.shape[0], d.shape[1])) @ chol.T
        z[:, movable] = a * z[:, movable] + (1.0 - a) * mean + np.sqrt(1.0 - a * a) * eps
        return z


@dataclass(frozen=True)
class RandomWalk:
    """IF2's perturbation: before each window z += N(0, sd^2 * months / 12) (``sd`` per year on
    the logit scale); initial-value parameters get one N(0, (ivp_factor sd)^2) at the start."""

    sd: float
    ivp_factor: float = 2.0

    def at_start(
        self, z: np.ndarray, initial_only: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray:
        z = z.copy()
        if initial_only.any():
            z[:, initial_only] += self.ivp_factor * self.sd * rng.standard_normal(
                (z.shape[0], int(initial_only.sum())))  # fmt: skip
        return z

    def before_window(self, z: np.ndarray, months: int, movable: np.ndarray,
                      rng: np.random.Generator) -> np.ndarray:  # fmt: skip
        z = z.copy()
        if movable.any():
            s = self.sd * np.sqrt(months / 12.0)
            z[:, movable] += s * rng.standard_normal((z.shape[0], int(movable.sum())))
        return z


# -- resampling and weights -----------------------------------------------------------------------
def systematic_resample(w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Systematic resampling: indices of ``len(w)`` draws with one uniform offset."""
    n = w.size
    pos = (rng.random() + np.arange(n)) / n
    cw = np.cumsum(w)
    cw[-1] = 1.0
    return np.minimum(np.searchsorted(cw, pos, side="right"), n - 1)


def ess(w: np.ndarray) -> float:
    """Effective sample size 1 / sum w^2 of normalised weights."""
    return float(1.0 / np.sum(w**2))


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: Sequence[float]) -> np.ndarray:
    o = np.argsort(x, kind="stable")
    cw = np.cumsum(w[o])
    cw /= cw[-1]
    return np.array([x[o][min(np.searchsorted(cw, q), x.size - 1)] for q in qs])


# -- the run context: space, scenario, drivers per window ---------------------------------------
@dataclass
class Context:
    """What every pass shares: the grid, the historical scenario and its drivers per window."""

    space: Space
    scenario: str = "acceleration"
    start: int = HISTORY_START
    timeline: pd.DataFrame | None = None  # default: the packaged timeline, loaded once
    _drivers: dict[tuple[int, int], Drivers] = field(default_factory=dict, repr=False)

    def drivers(self, first: int, months: int) -> Drivers:
        key = (int(first), int(months))
        if key not in self._drivers:
            if self.timeline is None:
                self.timeline = load_timeline()
            sc = load_scenario(self.scenario)
            self._drivers[key] = build_drivers(
                self.space, first, months, timeline=self.timeline,
                levers=sc.lever_series(first, months), flags=sc.flags, projection_start=None)  # fmt: skip
        return self._drivers[key]

    def initial_state(self, pm: np.ndarray, scale: ParamScale) -> State:
        """The 2012 state of each particle (per particle when initial-value parameters move)."""
        base = Params.default()
        if not scale.initial_only.any():
            return initial_state(self.space, base, pm.shape[0])
        parts = [
            initial_state(
                self.space,
                base.with_values(**{n: float(row[SPEC_INDEX[n]]) for n in INITIAL_ONLY}),
                1,
            ).arrays()
            for row in pm
        ]
        return State(**{k: np.concatenate([p[k] for p in parts]) for k in parts[0]})


@dataclass
class PassResult:
    state: State
    param_matrix: np.ndarray
    log_weights: np.ndarray  # normalised
    diagnostics: pd.DataFrame
    checks: pd.DataFrame
    loglik: float
    end: int
    final: xr.Dataset | None  # the country outputs of the last month (member, country)
    #: month -> (state, parameter matrix, normalised log-weights) at the end of that month
    checkpoints: dict[int, tuple[State, np.ndarray, np.ndarray]] = field(default_factory=dict)
    #: month -> (months, counts): each particle's simulated deaths by type of the last
    #: :data:`RECENT` months up to that checkpoint, (N, months, 3, countries), aligned with the
    #: checkpoint's particles (resampled with them)
    recent: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def _windows(times: np.ndarray, start: int, end: int,
             stops: Sequence[int] = ()) -> list[tuple[int, int, bool]]:  # fmt: skip
    """(first month, last month, observed) windows from ``start`` to ``end``; ``stops`` are
    extra window ends without observations (checkpoints)."""
    seen = {int(t) for t in times}
    out, cur = [], start
    for t in sorted(seen | {int(c) for c in stops if start <= int(c) <= end}):
        out.append((cur, int(t), t in seen))
        cur = int(t) + 1
    if cur <= end:
        out.append((cur, end, False))
    return out


def filter_pass(
    ctx: Context,
    obs: pd.DataFrame,
    pm: np.ndarray,
    scale: ParamScale,
    *,
    end: int,
    model_seed: int,
    rngs: dict[str, np.random.Generator],
    obs_model: ObsModel,
    move: LiuWest | RandomWalk,
    ess_threshold: float = 0.5,
    always_resample: bool = False,
    progress: Progress | None = None,
    label: str = "filter",
    checkpoints: Sequence[int] = (),
    stock_update: str = "enkf",
) -> PassResult:
    """One pass of the filter from ``ctx.start`` to ``end`` (inclusive) over the rows of
    ``obs`` observed in that span, starting from parameter matrix ``pm`` (N, N_PARAMS).
    ``checkpoints``: months at whose end the filtered ensemble (state, parameters, normalised
    log-weights) is kept in ``PassResult.checkpoints``; each depends only on the rows observed
    up to it (the filter is sequential), so one pass serves every forecast origin.
    ``stock_update``: ``"enkf"`` assimilates the displaced-people stocks by an ensemble Kalman
    analysis of the state (:func:`enkf_stocks`), ``"weight"`` by reweighting like every other
    observation."""
    if stock_update not in ("enkf", "weight"):
        raise ValueError(f"stock_update must be 'enkf' or 'weight', got {stock_update!r}")
    n = pm.shape[0]
    slots = np.arange(n)
    obs = obs[(obs["month_id"] >= ctx.start) & (obs["month_id"] <= end)]
    obs = obs[obs["first_month"] >= ctx.start].reset_index(drop=True)
    times = np.unique(obs["month_id"].to_numpy(dtype=np.int64))
    pm = pm.copy()
    z = scale.to_z(pm[:, scale.cols])
    movable = ~scale.initial_only
    if isinstance(move, RandomWalk):
        z = move.at_start(z, scale.initial_only, rngs["move"])
        pm[:, scale.cols] = scale.from_z(z)
    state = ctx.initial_state(pm, scale)
    logw = np.full(n, -np.log(n))
    buf_months: list[int] = []
    buf = np.zeros((n, 0, len(COUNT_OBSERVABLES), ctx.space.n_countries))
    countries = {c: i for i, c in enumerate(ctx.space.countries)}
    diag, checks, total, last_ds = [], [], 0.0, None
    wins = _windows(times, ctx.start, end, checkpoints)
    kept: dict[int, tuple[State, np.ndarray, np.ndarray]] = {}
    recent: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    rec_months = np.zeros(0, dtype=np.int64)
    rec = np.zeros((n, 0, len(COUNT_OBSERVABLES), ctx.space.n_countries))
    stops = {int(c) for c in checkpoints}
    for i, (first, last, observed) in enumerate(wins):
        months = last - first + 1
        if isinstance(move, RandomWalk):
            z = move.before_window(z, months, movable, rngs["move"])
            pm[:, scale.cols] = scale.from_z(z)
        ds, state = simulate(ctx.space, Params.default(), ctx.drivers(first, months),
                             members=slots, seed=model_seed, record=Record(cells=()),
                             state0=state, param_matrix=pm, return_state=True)  # fmt: skip
        counts = np.stack([ds[SIM_VARIABLE[o]].values for o in COUNT_OBSERVABLES], axis=2)
        last_ds = ds.isel(month=-1)
        buf_months, buf = _this_year(
            buf_months + list(range(first, last + 1)), np.concatenate([buf, counts], axis=1), last
        )
        rec_months = np.concatenate([rec_months, np.arange(first, last + 1)])[-RECENT:]
        rec = np.concatenate([rec, counts], axis=1)[:, -RECENT:]
        if progress:
            progress(label, i + 1, len(wins))
        if not observed:
            if last in stops:
                kept[last] = (state.copy(), pm.copy(), logw.copy())
                recent[last] = (rec_months.copy(), rec.copy())
            continue
        rows = obs[obs["month_id"] == last].reset_index(drop=True)
        sim = _simulated(rows, ds, buf_months, buf, countries)
        w_prior = np.exp(logw)
        stock = (rows["resolution"] == "stock").to_numpy() & (stock_update == "enkf")
        n_rows, ll_stock = len(rows), 0.0
        if stock.any():  # displaced stocks: an ensemble Kalman analysis of the state
            sim_a, ll_stock = enkf_stocks(rows[stock], sim[:, stock], w_prior, state,
                                          ctx.space, obs_model, rngs["analysis"])  # fmt: skip
            checks.append(_checks(rows[stock].reset_index(drop=True), sim[:, stock], w_prior,
                                  w_prior, obs_model, sim_filtered=sim_a))  # fmt: skip
            total += ll_stock
            for j, r in enumerate(rows[stock].itertuples(index=False)):
                last_ds[SIM_VARIABLE[r.observable]].values[:, countries[r.iso3]] = sim_a[:, j]
            rows, sim = rows[~stock].reset_index(drop=True), sim[:, ~stock]
        ll = row_loglik(rows, sim, obs_model).sum(axis=1)
        ll = np.where(np.isfinite(ll), ll, -np.inf)
        if not np.isfinite(ll).any():
            raise FloatingPointError(f"month {last}: every particle has zero likelihood")
        inc = float(logsumexp(logw + ll))
        logw = logw + ll - inc
        w = np.exp(logw)
        e = ess(w)
        if len(rows):
            checks.append(_checks(rows, sim, w_prior, w, obs_model))
        total += inc
        resampled, unique = False, n
        if always_resample or e < ess_threshold * n:
            idx = systematic_resample(w, rngs["resample"])
            unique = int(np.unique(idx).size)
            state = state.take(idx)
            buf = buf[idx]
            rec = rec[idx]
            last_ds = last_ds.isel(member=idx).assign_coords(member=slots)
            if isinstance(move, LiuWest):
                z = move.after_resample(z, w, idx, movable, rngs["move"])
            else:
                z = z[idx]
            pm = pm[idx]
            pm[:, scale.cols] = scale.from_z(z)
            logw = np.full(n, -np.log(n))
            resampled = True
            if unique < 0.1 * n:
                log.warning("%s: month %d: only %d unique particles of %d after resampling "
                            "(degenerate)", label, last, unique, n)  # fmt: skip
        if last in stops:
            kept[last] = (state.copy(), pm.copy(), logw.copy())
            recent[last] = (rec_months.copy(), rec.copy())
        diag.append({"month_id": last, "n_obs": n_rows, "ess": e, "loglik_increment": inc + ll_stock,
                     "unique": unique, "resampled": resampled,
                     "degenerate": bool(unique < 0.1 * n)})  # fmt: skip
    diagnostics = pd.DataFrame(diag, columns=["month_id", "n_obs", "ess", "loglik_increment",
                                              "unique", "resampled", "degenerate"])  # fmt: skip
    chk = pd.concat(checks, ignore_index=True) if checks else pd.DataFrame()
    return PassResult(state, pm, logw, diagnostics, chk, total, end, last_ds, kept, recent)


def _year(mid: int) -> int:
    return (int(mid) - 1) // 12


def _this_year(months: list[int], buf: np.ndarray, last: int) -> tuple[list[int], np.ndarray]:
    keep = [j for j, m in enumerate(months) if _year(m) == _year(last)]
    return [months[j] for j in keep], buf[:, keep]


def _simulated(rows: pd.DataFrame, ds: xr.Dataset, buf_months: list[int], buf: np.ndarray,
               countries: dict[str, int]) -> np.ndarray:  # fmt: skip
    """(particles, rows): each row's simulated quantity at its observation time."""
    bm = np.asarray(buf_months)
    out = np.empty((buf.shape[0], len(rows)))
    for i, r in enumerate(rows.itertuples(index=False)):
        k = countries[r.iso3]
        if r.resolution in ("month", "year"):
            sel = (bm >= r.first_month) & (bm <= r.month_id)
            if not sel.any() or sel.sum() != r.month_id - r.first_month + 1:
                raise ValueError(
                    f"row {r.iso3} {r.observable} {r.month_id}: months "
                    f"{r.first_month}..{r.month_id} not all simulated this year"
                )
            out[:, i] = buf[:, sel, COUNT_OBSERVABLES.index(r.observable), k].sum(axis=1)
        else:
            out[:, i] = ds[SIM_VARIABLE[r.observable]].values[:, -1, k]
    return out


def _checks(rows: pd.DataFrame, sim: np.ndarray, w_prior: np.ndarray, w: np.ndarray,
            model: ObsModel, sim_filtered: np.ndarray | None = None) -> pd.DataFrame:  # fmt: skip
    """Each observed row against the ensemble: the one-step-ahead predictive (before
    reweighting, observation noise included: quantiles and PIT) and the filtered ensemble of the
    simulated quantity (after reweighting)."""
    out = rows[["iso3", "year", "month_id", "observable", "resolution", "value", "lo", "hi"]].copy()
    pred = predictive_quantiles(rows, sim, w_prior, model, (0.05, 0.5, 0.95))
    for j, q in enumerate(("q05", "q50", "q95")):
        out[f"pred_{q}"] = pred[:, j]
    sf = sim if sim_filtered is None else sim_filtered
    filt = np.array([weighted_quantiles(sf[:, i], w, (0.05, 0.5, 0.95)) for i in range(len(rows))])
    for j, q in enumerate(("q05", "q50", "q95")):
        out[f"sim_{q}"] = filt[:, j]
    val = out["value"].to_numpy(dtype=float)
    below = predictive_cdf(rows, sim, w_prior, model, np.where(np.isfinite(val), val - 1, 0.0))
    at = predictive_cdf(rows, sim, w_prior, model, np.where(np.isfinite(val), val, 0.0))
    count = out["resolution"].isin(["month", "year"]).to_numpy()
    out["pit"] = np.where(count, (below + at) / 2.0, at)  # mid-PIT for counts
    out.loc[out["resolution"] == "range", "pit"] = np.nan
    rng_row = out["resolution"] == "range"
    t_lo = np.where(rng_row, out["lo"], val)
    t_hi = np.where(rng_row, out["hi"], val)
    out["pred_in_90"] = (out["pred_q05"] <= t_hi) & (out["pred_q95"] >= t_lo)
    out["sim_in_90"] = (out["sim_q05"] <= t_hi) & (out["sim_q95"] >= t_lo)
    return out


# -- the particle filter --------------------------------------------------------------------------
@dataclass
class FilterResult:
    """The filtered ensemble at ``end`` and the run's diagnostics."""

    state: State
    param_matrix: np.ndarray  # (N, N_PARAMS), SPECS order
    weights: np.ndarray  # (N,) equal: the last weights are resampled into the members
    names: tuple[str, ...]  # the moving parameters
    diagnostics: pd.DataFrame  # month_id, n_obs, ess, loglik_increment, unique, resampled
    checks: pd.DataFrame  # observed rows with predictive and filtered 90 % intervals
    loglik: float
    start: int
    end: int
    seed: int
    obs_model: ObsModel
    final: xr.Dataset | None = None  # country outputs of month ``end`` (member, country)
    #: (months, counts): each member's simulated deaths by type of the last RECENT months,
    #: (N, months, 3, countries), for anchoring forecasts from ``end``
    recent: tuple[np.ndarray, np.ndarray] | None = None

    def parameter_frame(self) -> pd.DataFrame:
        df = pd.DataFrame(self.param_matrix, columns=[s.name for s in SPECS])
        df.insert(0, "member", np.arange(len(df)))
        df["weight"] = self.weights
        return df


class ParticleFilter:
    """Bootstrap particle filter with Liu-West parameter rejuvenation. Settings in
    ``__init__``; :meth:`run` does the work."""

    def __init__(
        self,
        space: Space,
        *,
        particles: int = 200,
        params: Sequence[str] = tuple(n for n in CALIBRATED),
        seed: int = 0,
        obs_model: ObsModel | None = None,
        ess_threshold: float = 0.5,
        delta: float = 0.98,
        start: Posterior | np.ndarray | None = None,
        scenario: str = "acceleration",
        progress: Progress | None = None,
    ) -> None:
        if particles < 2:
            raise ValueError(f"particles must be at least 2, got {particles}")
        if not (0.0 < ess_threshold <= 1.0):
            raise ValueError(f"ess_threshold must lie in (0, 1], got {ess_threshold}")
        self.ctx = Context(space, scenario)
        self.particles = int(particles)
        self.scale = ParamScale(tuple(params))
        self.seed = int(seed)
        self.obs_model = obs_model or ObsModel()
        self.ess_threshold = ess_threshold
        self.move = LiuWest(delta)
        self.start = start
        self.progress = progress

    def run(self, obs: pd.DataFrame, until: int) -> FilterResult:
        """Filter from January 2012 to the end of month ``until`` on the rows of ``obs`` observed
        at or before it (later rows are dropped here: they cannot enter)."""
        until = int(until)
        rngs = streams(self.seed)
        pm = initial_params(self.scale, self.particles, rngs["init"], self.start, self.seed)
        res = filter_pass(self.ctx, obs[obs["month_id"] <= until], pm, self.scale, end=until,
                          model_seed=self.seed, rngs=rngs, obs_model=self.obs_model,
                          move=self.move, ess_threshold=self.ess_threshold,
                          progress=self.progress, checkpoints=(until,))  # fmt: skip
        state, pm, final = res.state, res.param_matrix, res.final
        recent = res.recent.get(until)
        w = np.exp(res.log_weights)
        if not np.allclose(w, 1.0 / self.particles):  # the saved ensemble is equally weighted
            idx = systematic_resample(w / w.sum(), rngs["resample"])
            state, pm = state.take(idx), pm[idx]
            if recent is not None:
                recent = (recent[0], recent[1][idx])
            if final is not None:
                final = final.isel(member=idx).assign_coords(member=np.arange(self.particles))
        d = res.diagnostics
        log.info("filter to %d: log-likelihood %.1f, final ESS %.0f, %d resamplings",
                 until, res.loglik, d["ess"].iloc[-1] if len(d) else self.particles,
                 int(d["resampled"].sum()) if len(d) else 0)  # fmt: skip
        return FilterResult(state, pm, np.full(self.particles, 1.0 / self.particles),
                            self.scale.names, d, res.checks, res.loglik, self.ctx.start, until,
                            self.seed, self.obs_model, final, recent)  # fmt: skip
