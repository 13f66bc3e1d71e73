"""Proper scoring of sample (ensemble) forecasts, the way the VIEWS prediction challenge does it.

A forecast of one unit-period is a vector of draws (VIEWS: 1,000 per unit-month) and an
observation (UCDP fatalities). Every elementwise function here takes

* ``obs``: array of shape ``S`` (a scalar is shape ``()``);
* ``draws``: array of shape ``S + (n,)``, the draws on the **last** axis;

and returns an array of shape ``S`` (lower is better for every score). A ``NaN`` observation
gives a ``NaN`` score (``False`` for :func:`coverage`); draws must be finite.

Scores
    * :func:`crps_ensemble`: continuous ranked probability score of the empirical distribution of
      the draws, ``CRPS = E|X - y| - 1/2 E|X - X'|`` (the "qd"/"nrg" estimator, identical to
      ``properscoring.crps_ensemble`` that VIEWS uses; not the "fair" estimator). Computed by
      ``scoringrules`` (imported lazily: it compiles Numba code at import) and by
      :func:`crps_ensemble_reference` when ``scoringrules`` is not installed.
    * :func:`ignorance_score`: log2 score of the binned predictive distribution over the VIEWS
      bins, with the challenge's add-one smoothing (see the function for the exact rule).
    * :func:`interval_score`: Gneiting & Raftery (2007) interval score of the central
      ``(1 - alpha)`` interval taken from empirical quantiles; :func:`coverage` and
      :func:`mean_interval_score` go with it.
    * :func:`score_table`: all of the above, averaged by groups of a long forecast frame.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from types import ModuleType
from typing import Literal

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: Left edges of the VIEWS ignorance-score bins (2023/24 prediction challenge). The last bin is
#: ``[1000.5, +inf)``, so there are 11 bins: ``{0}`` (for counts), 1–2, 3–5, 6–10, 11–25, 26–50,
#: 51–100, 101–250, 251–500, 501–1000 and more than 1000.
VIEWS_BINS: tuple[float, ...] = (0.0, 0.5, 2.5, 5.5, 10.5, 25.5, 50.5, 100.5, 250.5, 500.5, 1000.5)

#: Pseudo-count added to every bin by the VIEWS challenge code ("append one observation in each
#: bin-category to the forecasts to prevent 0 probability").
VIEWS_PSEUDO_COUNT = 1.0

#: Central interval levels reported by :func:`score_table` by default (VIEWS's own headline
#: interval score is at 95 %: pass ``levels=(0.5, 0.9, 0.95)`` to get it too).
DEFAULT_LEVELS: tuple[float, ...] = (0.5, 0.9)

Engine = Literal["auto", "scoringrules", "reference"]

# Lazy scoringrules import: checked once per process (tests reset these three).
_sr_checked = False
_sr_module: ModuleType | None = None
_fallback_logged = False


def _scoringrules() -> ModuleType | None:
    """The ``scoringrules`` module, or ``None`` when it is not installed (checked once)."""
    global _sr_checked, _sr_module
    if not _sr_checked:
        try:
            import scoringrules
        except ImportError:
            _sr_module = None
        else:
            _sr_module = scoringrules
        _sr_checked = True
    return _sr_module


def _prepare(obs: np.ndarray, draws: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Float64 copies with matching shapes; finite, non-empty draws."""
    y = np.asarray(obs, dtype=np.float64)
    x = np.asarray(draws, dtype=np.float64)
    if x.ndim == 0:
        raise ValueError(f"{what}: draws must have at least one axis (the draws axis, last)")
    if x.shape[-1] == 0:
        raise ValueError(f"{what}: no draws (the last axis of draws has length 0)")
    if y.shape != x.shape[:-1]:
        raise ValueError(
            f"{what}: obs has shape {y.shape} but draws has shape {x.shape}; "
            f"draws must be obs.shape + (n_draws,)"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what}: draws contain NaN or infinite values")
    return y, x


def crps_ensemble_reference(obs: np.ndarray, draws: np.ndarray) -> np.ndarray:
    """Exact CRPS of the empirical distribution of ``draws`` (independent NumPy implementation).

    With the draws sorted, ``x_(1) <= ... <= x_(n)``:

    ``CRPS = (1/n) sum_i |x_i - y|  -  (1/n^2) sum_i (2i - n - 1) x_(i)``

    where the second term is ``1/2 E|X - X'|`` (``E|X - X'| = (2/n^2) sum_i (2i - n - 1) x_(i)``).
    Cost O(n log n) per unit for the sort. Ties need no special treatment.
    """
    y, x = _prepare(obs, draws, "crps_ensemble_reference")
    n = x.shape[-1]
    xs = np.sort(x, axis=-1)
    weights = 2.0 * np.arange(1, n + 1, dtype=np.float64) - n - 1.0
    spread = (xs * weights).sum(axis=-1) / (n * n)
    accuracy = np.abs(x - y[..., None]).mean(axis=-1)
    return accuracy - spread


def crps_ensemble(obs: np.ndarray, draws: np.ndarray, *, engine: Engine = "auto") -> np.ndarray:
    """CRPS of each ensemble forecast (draws on the last axis) against its observation.

    ``engine="auto"`` uses ``scoringrules.crps_ensemble(..., estimator="qd")`` when the package
    is installed and otherwise :func:`crps_ensemble_reference` (logging that once per process);
    the two agree to floating-point rounding. ``"scoringrules"`` requires the package;
    ``"reference"`` never imports it.
    """
    global _fallback_logged
    y, x = _prepare(obs, draws, "crps_ensemble")
    if engine == "reference":
        return crps_ensemble_reference(y, x)
    if engine not in ("auto", "scoringrules"):
        raise ValueError(f"crps_ensemble: unknown engine {engine!r}")
    sr = _scoringrules()
    if sr is None:
        if engine == "scoringrules":
            raise ImportError("crps_ensemble(engine='scoringrules'): scoringrules is not installed")
        if not _fallback_logged:
            log.warning(
                "scoringrules is not installed: CRPS is computed by the NumPy reference "
                "implementation (same values, no Numba)"
            )
            _fallback_logged = True
        return crps_ensemble_reference(y, x)
    out = sr.crps_ensemble(y, x, m_axis=-1, estimator="qd")
    return np.asarray(out, dtype=np.float64)


def bin_index(values: np.ndarray, bins: Sequence[float] = VIEWS_BINS) -> np.ndarray:
    """Index of the bin of each value: bin ``i`` is ``[bins[i], bins[i+1])``, the last is open.

    ``len(bins)`` bins in all; this is VIEWS's ``np.digitize(x, bins, right=False) - 1``.
    Values below ``bins[0]`` (negative fatalities) raise ``ValueError``.
    """
    edges = _check_bins(bins)
    v = np.asarray(values, dtype=np.float64)
    if np.any(v < edges[0]):
        raise ValueError(f"values below the first bin edge {edges[0]} (negative outcomes?)")
    return np.searchsorted(edges, v, side="right") - 1


def _check_bins(bins: Sequence[float]) -> np.ndarray:
    edges = np.asarray(bins, dtype=np.float64)
    if edges.ndim != 1 or edges.size < 1:
        raise ValueError("bins must be a non-empty 1-D sequence of left edges")
    if not np.all(np.isfinite(edges)) or np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be finite and strictly increasing, got {list(bins)}")
    return edges


def ignorance_score(
    obs: np.ndarray,
    draws: np.ndarray,
    bins: Sequence[float] = VIEWS_BINS,
    *,
    eps: float = VIEWS_PSEUDO_COUNT,
) -> np.ndarray:
    """Ignorance (log2) score of the binned predictive distribution, in bits.

    ``bins`` are left edges; with the default :data:`VIEWS_BINS` there are ``K = 11`` bins
    ``[0, 0.5), [0.5, 2.5), ..., [500.5, 1000.5), [1000.5, +inf)`` (the first holds exactly 0
    for counts). Exact rule, for ``n`` draws of which ``c`` fall in the observation's bin::

        p   = (c + eps) / (n + eps * K)
        IGN = -log2(p)

    i.e. ``eps`` pseudo-draws are added to every bin so that an empty bin has a finite score.
    The default ``eps = 1`` is the rule of the VIEWS 2023/24 challenge code (one synthetic draw
    appended per bin category); ``eps = 1 / K`` gives a lighter smoothing. With 1,000 draws the
    best possible score (all draws in the observed bin) is ``-log2(1001 / 1011) = 0.0143`` and the
    worst (none there) is ``-log2(1 / 1011) = 9.98``. Negative values raise ``ValueError``.
    """
    if not eps > 0:
        raise ValueError(f"ignorance_score: eps (pseudo-count per bin) must be > 0, got {eps}")
    y, x = _prepare(obs, draws, "ignorance_score")
    edges = _check_bins(bins)
    k = edges.size
    n = x.shape[-1]
    nan_obs = np.isnan(y)
    obs_bin = bin_index(np.where(nan_obs, edges[0], y), edges)
    draw_bin = bin_index(x, edges)
    count = (draw_bin == obs_bin[..., None]).sum(axis=-1)
    p = (count + eps) / (n + eps * k)
    out = -np.log2(p)
    return np.where(nan_obs, np.nan, out)


def _central_bounds(x: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    q = np.quantile(x, [alpha / 2.0, 1.0 - alpha / 2.0], axis=-1)  # method="linear"
    return q[0], q[1]


def interval_score(obs: np.ndarray, draws: np.ndarray, alpha: float) -> np.ndarray:
    """Interval score of the central ``(1 - alpha)`` interval (Gneiting & Raftery 2007, eq. 43).

    ``l`` and ``u`` are the empirical ``alpha/2`` and ``1 - alpha/2`` quantiles of the draws
    (``numpy.quantile``, linear interpolation, as in VIEWS's ``mean_interval_score``)::

        IS = (u - l) + (2/alpha) (l - y) 1{y < l} + (2/alpha) (y - u) 1{y > u}
    """
    y, x = _prepare(obs, draws, "interval_score")
    lo, hi = _central_bounds(x, alpha)
    below = np.where(y < lo, (2.0 / alpha) * (lo - y), 0.0)
    above = np.where(y > hi, (2.0 / alpha) * (y - hi), 0.0)
    out = (hi - lo) + below + above
    return np.where(np.isnan(y), np.nan, out)


def coverage(obs: np.ndarray, draws: np.ndarray, level: float) -> np.ndarray:
    """Whether each observation lies in the central ``level`` interval (bounds included).

    The interval is ``[q((1 - level)/2), q((1 + level)/2)]`` of the draws, as in
    :func:`interval_score` with ``alpha = 1 - level``. ``NaN`` observations give ``False``.
    """
    y, x = _prepare(obs, draws, "coverage")
    lo, hi = _central_bounds(x, 1.0 - level)
    return (y >= lo) & (y <= hi)


def mean_interval_score(obs: np.ndarray, draws: np.ndarray, level: float = 0.9) -> float:
    """Mean interval score (MIS) of the central ``level`` interval over all units (NaN skipped)."""
    return float(np.nanmean(interval_score(obs, draws, 1.0 - level)))


def mean_interval_score_50(obs: np.ndarray, draws: np.ndarray) -> float:
    """:func:`mean_interval_score` of the central 50 % interval."""
    return mean_interval_score(obs, draws, 0.5)


def mean_interval_score_90(obs: np.ndarray, draws: np.ndarray) -> float:
    """:func:`mean_interval_score` of the central 90 % interval."""
    return mean_interval_score(obs, draws, 0.9)


def _level_tag(level: float) -> str:
    pct = level * 100.0
    if not 0.0 < level < 1.0:
        raise ValueError(f"interval levels must be in (0, 1), got {level}")
    return str(round(pct)) if math.isclose(pct, round(pct)) else f"{pct:g}".replace(".", "_")


def score_rows(
    frame: pd.DataFrame,
    *,
    draws_col: str = "draws",
    obs_col: str = "obs",
    levels: Sequence[float] = DEFAULT_LEVELS,
    bins: Sequence[float] = VIEWS_BINS,
    eps: float = VIEWS_PSEUDO_COUNT,
) -> pd.DataFrame:
    """Per-row scores of a long forecast frame (one row per unit-period).

    ``frame[draws_col]`` holds one 1-D array of draws per row (rows may differ in length);
    ``frame[obs_col]`` the observation. Returns a frame with the same index and columns
    ``crps``, ``ignorance``, ``is{L}`` and ``coverage{L}`` for each level ``L`` in percent
    (``is50``, ``is90``, ``coverage50``, ``coverage90`` by default). Rows with a missing
    observation get ``NaN`` scores (``NaN`` coverage).
    """
    for col in (draws_col, obs_col):
        if col not in frame.columns:
            raise KeyError(
                f"score_rows: frame has no column {col!r} (columns: {list(frame.columns)})"
            )
    tags = [_level_tag(lv) for lv in levels]
    columns = ["crps", "ignorance"] + [f"is{t}" for t in tags] + [f"coverage{t}" for t in tags]
    out = np.full((len(frame), len(columns)), np.nan)
    obs = pd.to_numeric(frame[obs_col], errors="raise").to_numpy(dtype=np.float64, na_value=np.nan)
    arrays = [np.asarray(d, dtype=np.float64).ravel() for d in frame[draws_col].to_numpy()]
    lengths = np.array([a.size for a in arrays], dtype=np.int64)
    for n in np.unique(lengths):
        rows = np.flatnonzero(lengths == n)
        x = np.stack([arrays[i] for i in rows])
        y = obs[rows]
        block = [crps_ensemble(y, x), ignorance_score(y, x, bins, eps=eps)]
        block += [interval_score(y, x, 1.0 - lv) for lv in levels]
        block += [np.where(np.isnan(y), np.nan, coverage(y, x, lv)) for lv in levels]
        out[rows] = np.column_stack(block)
    return pd.DataFrame(out, index=frame.index, columns=columns)


def score_table(
    frame: pd.DataFrame,
    *,
    draws_col: str = "draws",
    obs_col: str = "obs",
    by: Sequence[str] = (),
    levels: Sequence[float] = DEFAULT_LEVELS,
    bins: Sequence[float] = VIEWS_BINS,
    eps: float = VIEWS_PSEUDO_COUNT,
) -> pd.DataFrame:
    """Mean scores of a long forecast frame, by the ``by`` columns.

    Scores each row with :func:`score_rows` and averages ``crps``, ``ignorance``, ``is50``,
    ``is90``, ``coverage50``, ``coverage90`` (one pair per entry of ``levels``) over the rows of
    each group, skipping rows whose observation is missing; ``n`` counts the rows scored. With
    ``by=()`` the result has a single row. Coverage columns are shares in ``[0, 1]``.
    """
    by = list(by)
    missing = [c for c in by if c not in frame.columns]
    if missing:
        raise KeyError(f"score_table: frame has no column(s) {missing} to group by")
    scores = score_rows(
        frame, draws_col=draws_col, obs_col=obs_col, levels=levels, bins=bins, eps=eps
    )
    scored = scores["crps"].notna()
    n_missing = int((~scored).sum())
    if n_missing:
        log.info("score_table: %d row(s) without an observation are not scored", n_missing)
    scores["n"] = scored.astype(np.int64)
    if not by:
        means = scores.drop(columns="n").mean(axis=0, skipna=True).to_frame().T
        means.insert(0, "n", int(scores["n"].sum()))
        return means
    scores[by] = frame[by]
    grouped = scores.groupby(by, sort=True, dropna=False, observed=True)
    means = grouped[[c for c in scores.columns if c not in (*by, "n")]].mean()
    means.insert(0, "n", grouped["n"].sum())
    return means.reset_index()


def randomised_pit(obs: np.ndarray, draws: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Randomised probability integral transform of count observations (Czado, Gneiting &
    Held 2009), from the empirical CDF ``F`` of the draws::

        u = F(y^-) + V * (F(y) - F(y^-)),   V ~ Uniform(0, 1)

    ``F(y^-)`` is the share of draws strictly below ``y`` and ``F(y)`` the share at or below
    it, so a calibrated count forecast gives uniform ``u`` (a continuous one the ordinary PIT).
    ``rng`` supplies ``V`` (one per observation, drawn for every element, NaN or not, so the
    stream does not depend on missing values); a ``NaN`` observation gives ``NaN``.
    """
    y, x = _prepare(obs, draws, "randomised_pit")
    below = (x < y[..., None]).mean(axis=-1)
    at_or_below = (x <= y[..., None]).mean(axis=-1)
    v = rng.random(size=y.shape)
    u = below + v * (at_or_below - below)
    return np.where(np.isnan(y), np.nan, u)


def pit_histogram(u: np.ndarray, bins: int = 10) -> np.ndarray:
    """Shares of PIT values in ``bins`` equal bins of [0, 1] (the last bin includes 1); NaN
    values are skipped. A flat histogram (every share ``1/bins``) is calibration; a U shape
    is over-confidence, a hump under-confidence, a slope bias."""
    if int(bins) < 1:
        raise ValueError(f"pit_histogram: bins must be >= 1, got {bins}")
    v = np.asarray(u, dtype=np.float64).ravel()
    v = v[~np.isnan(v)]
    if v.size == 0:
        return np.full(int(bins), np.nan)
    if np.any((v < 0) | (v > 1)):
        raise ValueError("pit_histogram: PIT values must lie in [0, 1]")
    idx = np.minimum((v * bins).astype(np.int64), int(bins) - 1)
    return np.bincount(idx, minlength=int(bins)) / v.size
