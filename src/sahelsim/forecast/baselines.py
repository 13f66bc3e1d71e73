"""Baseline forecasters of the conflict-forecasting field (VIEWS), as sample forecasts.

Every forecaster has the scikit-learn shape: ``__init__`` only stores settings, ``fit(history)``
learns from a long frame and sets attributes ending in ``_``, ``predict(periods, ...)`` returns
draws. The baselines:

* :class:`ZeroBaseline`: every draw is 0 (very hard to beat at grid level).
* :class:`LastValuePoisson`: Poisson draws with mean the unit's last value.
* :class:`Conflictology`: draws resampled uniformly from the unit's own last ``window`` values
  (VIEWS: 36 months; 3 for yearly data).
* :class:`NegBinRecent`: a negative binomial fitted by the method of moments to the unit's last
  ``window`` values (Poisson when the variance does not exceed the mean).
* :class:`GlobalBootstrap`: draws resampled uniformly from every unit-period of the whole
  history, all units pooled (VIEWS's "global bootstrap" benchmark).

Input
    ``history`` has columns ``unit`` (any hashable id: ISO3 string, Gleditsch-Ward number,
    ``priogrid_gid``...), ``period`` (integer: VIEWS ``month_id`` or calendar year) and ``value``
    (non-negative fatalities). One row per unit-period at most. Rows with a missing value are
    dropped (logged).

Recent window
    By default (``fill_missing=0.0``) the history is read as a complete panel: a unit-period
    without a row counts as ``fill_missing`` fatalities (UCDP/VIEWS convention: no recorded event
    means zero), and the window is the last ``window`` periods of the whole history, ending at
    its last period (``last_period_``), the same for every unit. With ``fill_missing=None`` only
    rows present count, and a unit's window is its own last ``window`` rows.
    ``window=None`` means 36 for monthly and 3 for yearly periods; the frequency is inferred
    (periods >= 1800 are years, smaller ones month ids) unless ``freq`` is given.

Output (:meth:`predict`)
    A dict ``{(unit, period): draws}`` with ``draws`` a float64 array of length ``n_draws``, for
    every unit seen in ``fit`` (or the ``units`` given; units with no history get zeros) and
    every requested period. :func:`forecasts_to_frame` turns it into a long frame and
    :func:`sahelsim.forecast_io.to_views` into the VIEWS submission layout.

Random numbers
    The draws of one unit-period come from ``numpy.random.default_rng(SeedSequence(seed,
    spawn_key=(unit_key(unit), period)))``: reproducible for a seed, independent of which other
    units are forecast and in what order, and independent across units and periods.
    :func:`unit_key` is a stable integer (no salted ``hash()``).
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Iterable, Sequence
from typing import Literal, Self

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

Freq = Literal["auto", "month", "year"]
Forecasts = dict[tuple[Hashable, int], np.ndarray]

#: Default window per frequency: 36 months (VIEWS "conflictology") or 3 years.
DEFAULT_WINDOW: dict[str, int] = {"month": 36, "year": 3}
#: Periods at or above this are calendar years; below, VIEWS month ids (month_id 1800 is 2129).
YEAR_THRESHOLD = 1800
HISTORY_COLUMNS: tuple[str, ...] = ("unit", "period", "value")


def infer_freq(periods: Iterable[int]) -> Literal["month", "year"]:
    """``"year"`` if every period is >= :data:`YEAR_THRESHOLD`, ``"month"`` if every one is below."""
    p = np.asarray(list(periods) if not isinstance(periods, np.ndarray) else periods)
    if p.size == 0:
        raise ValueError("cannot infer the frequency of an empty history")
    if np.all(p >= YEAR_THRESHOLD):
        return "year"
    if np.all(p < YEAR_THRESHOLD):
        return "month"
    raise ValueError(
        f"periods mix years and month ids (min {p.min()}, max {p.max()}); pass freq explicitly"
    )


def unit_key(unit: Hashable) -> int:
    """Stable non-negative integer for a unit id, used in the random-number spawn key.

    Integers (``country_id``, ``priogrid_gid``) are used as they are; strings (ISO3 codes) are
    their UTF-8 bytes read as one big-endian integer. No ``hash()`` (salted per process).
    """
    if isinstance(unit, bool):
        raise TypeError(f"unit ids must be integers or strings, got {unit!r}")
    if isinstance(unit, (int, np.integer)):
        if int(unit) < 0:
            raise ValueError(f"integer unit ids must be non-negative, got {unit}")
        return int(unit)
    if isinstance(unit, str):
        return int.from_bytes(unit.encode("utf-8"), "big")
    raise TypeError(f"unit ids must be integers or strings, got {type(unit).__name__} {unit!r}")


def draw_rng(seed: int, unit: Hashable, period: int) -> np.random.Generator:
    """The generator of one unit-period: ``SeedSequence(seed, spawn_key=(unit_key, period))``."""
    if int(period) < 0:
        raise ValueError(f"periods must be non-negative integers, got {period}")
    return np.random.default_rng(
        np.random.SeedSequence(int(seed), spawn_key=(unit_key(unit), int(period)))
    )


def _validate_history(history: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in HISTORY_COLUMNS if c not in history.columns]
    if missing:
        raise ValueError(
            f"history lacks column(s) {missing}; expected {list(HISTORY_COLUMNS)}, "
            f"got {list(history.columns)}"
        )
    h = history.loc[:, list(HISTORY_COLUMNS)].copy()
    if not pd.api.types.is_integer_dtype(h["period"]):
        p = pd.to_numeric(h["period"], errors="raise")
        if p.isna().any() or not np.all(np.mod(p, 1) == 0):
            raise ValueError("history 'period' must be integers (month_id or year)")
        h["period"] = p.astype(np.int64)
    h["period"] = h["period"].astype(np.int64)
    h["value"] = pd.to_numeric(h["value"], errors="raise").astype(np.float64)
    n_nan = int(h["value"].isna().sum())
    if n_nan:
        log.info("history: %d row(s) with a missing value dropped", n_nan)
        h = h[h["value"].notna()]
    if (h["value"] < 0).any():
        bad = h[h["value"] < 0].iloc[0]
        raise ValueError(
            f"history has negative values (e.g. unit {bad['unit']!r}, period {bad['period']})"
        )
    dup = h.duplicated(["unit", "period"])
    if dup.any():
        bad = h[dup].iloc[0]
        raise ValueError(
            f"history has several rows for one unit-period (e.g. unit {bad['unit']!r}, "
            f"period {bad['period']}); aggregate first"
        )
    return h


class _Baseline:
    """Shared fit/predict machinery: subclasses implement :meth:`_fit_units` and :meth:`_sample`."""

    def __init__(
        self, window: int | None = None, *, freq: Freq = "auto", fill_missing: float | None = 0.0
    ) -> None:
        self.window = window
        self.freq = freq
        self.fill_missing = fill_missing

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, history: pd.DataFrame) -> Self:
        """Learn each unit's recent history from a long ``unit, period, value`` frame."""
        h = _validate_history(history)
        if h.empty:
            raise ValueError("history has no usable rows")
        if self.freq not in ("auto", "month", "year"):
            raise ValueError(f"freq must be 'auto', 'month' or 'year', got {self.freq!r}")
        self.freq_ = infer_freq(h["period"].to_numpy()) if self.freq == "auto" else self.freq
        self.last_period_ = int(h["period"].max())
        self.first_period_ = int(h["period"].min())
        window = self._default_window() if self.window is None else int(self.window)
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window}")
        self.window_ = window
        self.window_ = self._span()  # 1 for the baselines that look at the last value only
        self.units_ = sorted(pd.unique(h["unit"]).tolist(), key=lambda u: (str(type(u)), u))
        self.recent_ = self._recent(h, self.window_)
        self._fit_units()
        log.debug(
            "%s fitted: %d units, freq %s, window %d, last period %d",
            type(self).__name__,
            len(self.units_),
            self.freq_,
            self.window_,
            self.last_period_,
        )
        return self

    def _default_window(self) -> int:
        """The window when ``window=None``: :data:`DEFAULT_WINDOW` of the frequency."""
        return DEFAULT_WINDOW[self.freq_]

    def _span(self) -> int:
        """How many recent periods the model looks at (``window_`` is set to this)."""
        return self.window_

    def _recent(self, h: pd.DataFrame, span: int) -> dict[Hashable, np.ndarray]:
        """Each unit's last ``span`` values in period order (see the module doc)."""
        if self.fill_missing is None:
            h = h.sort_values(["unit", "period"])
            return {u: g["value"].to_numpy()[-span:] for u, g in h.groupby("unit", sort=False)}
        periods = np.arange(self.last_period_ - span + 1, self.last_period_ + 1)
        recent = h[h["period"] >= periods[0]]
        panel = recent.pivot(index="unit", columns="period", values="value")
        panel = panel.reindex(index=pd.Index(self.units_, dtype=object), columns=periods)
        values = panel.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), float(self.fill_missing), values)
        return {u: values[i] for i, u in enumerate(self.units_)}

    def _fit_units(self) -> None:  # pragma: no cover - overridden
        pass

    # -- predicting ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "units_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(history) first")

    def predict(
        self,
        periods: Sequence[int],
        n_draws: int = 1000,
        seed: int = 0,
        *,
        units: Sequence[Hashable] | None = None,
    ) -> Forecasts:
        """Draws for every unit (``units`` or those seen in ``fit``) and each of ``periods``.

        Returns ``{(unit, period): float64 array of n_draws}``. The same forecast is made for
        every period (these baselines have no dynamics), but each unit-period has its own random
        stream (see the module doc), so draws differ between periods.
        """
        self._check_fitted()
        if int(n_draws) < 1:
            raise ValueError(f"n_draws must be >= 1, got {n_draws}")
        if int(seed) < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        per = [int(p) for p in periods]
        todo = self.units_ if units is None else list(units)
        known = set(self.units_)
        out: Forecasts = {}
        for u in todo:
            for p in per:
                rng = draw_rng(seed, u, p)
                if u in known:
                    d = self._sample(u, rng, int(n_draws))
                else:
                    d = np.zeros(int(n_draws))
                out[(u, p)] = np.asarray(d, dtype=np.float64)
        unseen = [u for u in todo if u not in known]
        if unseen:
            log.info("%s: %d unit(s) without history get zeros", type(self).__name__, len(unseen))
        return out

    def _sample(
        self, unit: Hashable, rng: np.random.Generator, n_draws: int
    ) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError


class ZeroBaseline(_Baseline):
    """Every draw is 0."""

    def _span(self) -> int:
        return 1

    def _sample(self, unit: Hashable, rng: np.random.Generator, n_draws: int) -> np.ndarray:
        return np.zeros(n_draws)


class LastValuePoisson(_Baseline):
    """Poisson draws around the unit's last value (``last_value_[unit]``).

    The last value is the unit's value in the history's last period (``fill_missing`` when it
    has no row there), or with ``fill_missing=None`` its latest row. ``window`` is not used.
    """

    def _span(self) -> int:
        return 1

    def _fit_units(self) -> None:
        self.last_value_: dict[Hashable, float] = {
            u: float(v[-1]) if v.size else 0.0 for u, v in self.recent_.items()
        }

    def _sample(self, unit: Hashable, rng: np.random.Generator, n_draws: int) -> np.ndarray:
        return rng.poisson(self.last_value_[unit], size=n_draws).astype(np.float64)


class Conflictology(_Baseline):
    """Draws resampled uniformly, with replacement, from the unit's last ``window`` values."""

    def _sample(self, unit: Hashable, rng: np.random.Generator, n_draws: int) -> np.ndarray:
        values = self.recent_[unit]
        if values.size == 0:
            return np.zeros(n_draws)
        return rng.choice(values, size=n_draws, replace=True)


class NegBinRecent(_Baseline):
    """Negative binomial fitted by the method of moments to the unit's last ``window`` values.

    With ``m`` the mean and ``v`` the sample variance (``ddof=1``; 0 for a single value) of the
    window: ``v > m`` gives ``NB(r = m^2 / (v - m), p = m / v)`` (numpy's parameterisation, mean
    ``m``, variance ``v``); ``v <= m`` gives ``Poisson(m)``; ``m = 0`` gives zeros.
    ``moments_[unit] = (m, v)``.
    """

    def _fit_units(self) -> None:
        self.moments_: dict[Hashable, tuple[float, float]] = {}
        for u, v in self.recent_.items():
            mean = float(v.mean()) if v.size else 0.0
            var = float(v.var(ddof=1)) if v.size > 1 else 0.0
            self.moments_[u] = (mean, var)

    def _sample(self, unit: Hashable, rng: np.random.Generator, n_draws: int) -> np.ndarray:
        m, v = self.moments_[unit]
        if m <= 0.0:
            return np.zeros(n_draws)
        if v <= m:
            return rng.poisson(m, size=n_draws).astype(np.float64)
        return rng.negative_binomial(m * m / (v - m), m / v, size=n_draws).astype(np.float64)


class GlobalBootstrap(_Baseline):
    """Draws resampled uniformly, with replacement, from all units' values pooled.

    ``window=None`` (default) pools the whole history (every unit-period from the first to the
    last period, missing unit-periods read as ``fill_missing``); an integer pools the last
    ``window`` periods. Every unit gets the same predictive distribution (``pool_``).
    """

    def _default_window(self) -> int:
        return self.last_period_ - self.first_period_ + 1

    def _fit_units(self) -> None:
        parts = [v for v in self.recent_.values() if v.size]
        self.pool_ = np.concatenate(parts) if parts else np.zeros(1)

    def _sample(self, unit: Hashable, rng: np.random.Generator, n_draws: int) -> np.ndarray:
        return rng.choice(self.pool_, size=n_draws, replace=True)


def forecasts_to_frame(forecasts: Forecasts) -> pd.DataFrame:
    """``{(unit, period): draws}`` as a frame with columns ``unit``, ``period``, ``draws``.

    One row per unit-period (``draws`` holds the array), ready to be merged with observations
    and passed to :func:`sahelsim.scoring.score_table`.
    """
    rows = [(u, int(p), np.asarray(d, dtype=np.float64)) for (u, p), d in forecasts.items()]
    frame = pd.DataFrame(rows, columns=["unit", "period", "draws"])
    frame["period"] = frame["period"].astype(np.int64)
    return frame
