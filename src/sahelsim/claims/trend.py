"""Trend claims judged by a no-change forecast from the years before the event.

A claim "X went up after event E" is checked by asking whether the observed years after E lie
outside what the years before E would produce if nothing changed:

* the **level** is the mean of ``log(count + 1)`` over the before years (back-transformed: a
  geometric mean, so one extreme year does not set it);
* the **year-to-year swings** come from the series' own longer history up to the last before
  year (:data:`SWING_YEARS` year-on-year changes): under a model of independent yearly
  deviations around a level, a change between two years has twice a year's variance, so
  ``sd_year = rms(changes) / sqrt(2)``, counting only changes between years with at least
  :data:`ACTIVE` (UCDP's 25 deaths of an active conflict-year); it is never below the Poisson
  counting noise of the level, ``1 / sqrt(level + 1)`` on the log scale;
* the **90 % predictive interval** of the after years' mean log count is
  ``level +/- t(df) * sd_year * sqrt(1/n + 1/k)`` (n before years, k after years),
  back-transformed to counts a year. ``df`` is the Satterthwaite degrees of freedom of the
  swing estimate (neighbouring changes share a year, so ``m`` changes carry about
  ``m**2 / (1.5 m - 0.5)`` degrees of freedom).

Only years up to the last before year enter the forecast; the after years are only compared with
it. Verdicts: above the interval -> supported (for an increase claim), below -> contradicted,
inside -> mixed ("within what the earlier years' level and swings would produce").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy

from sahelsim.claims.verdicts import (
    CONTRADICTED,
    LEVEL,
    MIXED,
    NOT_TESTABLE,
    SUPPORTED,
    count_text,
    years_text,
)

# ``scipy.stats`` (over a second to import) is reached at call time through SciPy's lazy
# submodules, as in ``evidence/before_after.py``, so importing the claims costs nothing.

#: Year-on-year changes (ending at the last before year) that measure the swings.
SWING_YEARS = 10
#: Fewest year-on-year changes with which the swings are measured at all.
MIN_CHANGES = 4
#: Swings are measured only between years with at least this count: UCDP's threshold of an
#: active conflict-year (25 battle-related deaths). Below it ``log(count + 1)`` jumps by whole
#: units between, say, 0 and 26 deaths, which says nothing about a series at thousands.
ACTIVE = 25.0

Counts = Mapping[int, float] | pd.Series


@dataclass(frozen=True)
class NoChange:
    """A no-change forecast of the after years from the before years, and what was observed.

    ``level``, ``low``, ``high`` and ``observed`` are counts a year (back-transformed means of
    ``log(count + 1)``); ``sd_year`` is on the log scale. ``reason`` is set (and the numbers
    are NaN) when the forecast cannot be made.
    """

    before: tuple[int, ...]
    after: tuple[int, ...]
    swing_years: tuple[int, int] | None
    changes: int
    df: float
    level: float
    sd_year: float
    low: float
    high: float
    observed: float
    reason: str = ""
    #: The year-on-year changes of ``log(count + 1)`` the swings were measured on, by the
    #: later year (pooling several series uses them to measure how the series move together).
    change_by_year: tuple[tuple[int, float], ...] = ()

    @property
    def testable(self) -> bool:
        return not self.reason


def _check_years(before: Sequence[int], after: Sequence[int]) -> None:
    if not before or not after:
        raise ValueError(
            f"no-change forecast: before {list(before)} and after {list(after)} must both "
            "name at least one year"
        )
    if max(before) >= min(after):
        raise ValueError(
            f"no-change forecast: every before year must precede every after year "
            f"(before {years_text(before)}, after {years_text(after)})"
        )


def _values(counts: Counts) -> dict[int, float]:
    out: dict[int, float] = {}
    for y, v in counts.items():
        x = float(v)
        if math.isnan(x):
            continue
        if x < 0:
            raise ValueError(f"no-change forecast: count {x} in year {y} is negative")
        out[int(y)] = x
    return out


def not_testable(before: Sequence[int], after: Sequence[int], reason: str) -> NoChange:
    """A forecast that could not be made, and why."""
    nan = math.nan
    return NoChange(tuple(before), tuple(after), None, 0, nan, nan, nan, nan, nan, nan, reason)


def changes_df(m: int) -> float:
    """Satterthwaite degrees of freedom of ``rms`` of ``m`` year-on-year changes of independent
    yearly values (neighbouring changes correlate -0.5)."""
    return m * m / (1.5 * m - 0.5)


def no_change(
    counts: Counts,
    before: Sequence[int],
    after: Sequence[int],
    swing_years: int = SWING_YEARS,
    level: float = LEVEL,
    active: float = ACTIVE,
) -> NoChange:
    """The no-change forecast of the ``after`` years' yearly level from the ``before`` years.

    ``counts``: yearly counts by year (missing or NaN years are skipped). The swings are
    measured on the ``swing_years`` year-on-year changes ending at the last before year (only
    pairs of consecutive years both present with counts of at least ``active``). Raises ``ValueError`` on overlapping periods or
    negative counts; returns an untestable result (``reason`` set) when data are missing.
    """
    _check_years(before, after)
    if not 0 < level < 1:
        raise ValueError(f"no-change forecast: level {level} must lie in (0, 1)")
    vals = _values(counts)
    before, after = sorted(before), sorted(after)
    missing = [y for y in before if y not in vals]
    if missing:
        return not_testable(before, after, f"no count for {years_text(missing)} (before years)")
    seen = [y for y in after if y in vals]
    if not seen:
        return not_testable(before, after, f"no count for {years_text(after)} (after years)")
    last = before[-1]
    first = last - swing_years
    logs = {y: math.log1p(v) for y, v in vals.items() if first <= y <= last and v >= active}
    pairs = [y for y in range(first + 1, last + 1) if y in logs and y - 1 in logs]
    diffs = [logs[y] - logs[y - 1] for y in pairs]
    if len(diffs) < MIN_CHANGES:
        return not_testable(
            before,
            after,
            f"only {len(diffs)} year-on-year change(s) between years with at least "
            f"{count_text(active)} in {first}-{last} to measure the swings (need {MIN_CHANGES})",
        )
    m = len(diffs)
    mu = float(np.mean([math.log1p(vals[y]) for y in before]))
    floor = 1.0 / math.sqrt(math.expm1(mu) + 1.0)
    sd = max(math.sqrt(float(np.mean(np.square(diffs))) / 2.0), floor)
    df = changes_df(m)
    n, k = len(before), len(seen)
    half = float(scipy.stats.t.ppf(0.5 + level / 2.0, df)) * sd * math.sqrt(1.0 / n + 1.0 / k)
    obs = float(np.mean([math.log1p(vals[y]) for y in seen]))
    span = (pairs[0] - 1, pairs[-1])
    return NoChange(
        before=tuple(before),
        after=tuple(seen),
        swing_years=span,
        changes=m,
        df=df,
        level=math.expm1(mu),
        sd_year=sd,
        low=max(math.expm1(mu - half), 0.0),
        high=math.expm1(mu + half),
        observed=math.expm1(obs),
        change_by_year=tuple(zip(pairs, diffs, strict=True)),
    )


def side(value: float, low: float, high: float) -> int:
    """1 above the range, -1 below it, 0 within it."""
    return 1 if value > high else -1 if value < low else 0


def range_verdict(value: float, low: float, high: float, increase: bool = True) -> str:
    """Supported / contradicted / mixed for an increase (or, ``increase=False``, a decrease)
    claim: ``value`` above, below or within the no-change range."""
    s = side(value, low, high) * (1 if increase else -1)
    return {1: SUPPORTED, -1: CONTRADICTED, 0: MIXED}[s]


def range_position(value: float, low: float, high: float) -> str:
    """``above`` / ``below`` / ``within the expected range``."""
    return {1: "above", -1: "below", 0: "within"}[side(value, low, high)] + " the expected range"


def trend_verdict(nc: NoChange, increase: bool = True) -> str:
    """:func:`range_verdict` of the observed level against the no-change interval."""
    if not nc.testable:
        return NOT_TESTABLE
    return range_verdict(nc.observed, nc.low, nc.high, increase)


def position(nc: NoChange) -> str:
    """Where the observed level lies: above, below or within the expected range."""
    return range_position(nc.observed, nc.low, nc.high)


def round_text(x: float, observed: float | None = None) -> str:
    """A forecast count: two significant digits from 100 on (the interval is not sharper),
    thousands separators; more digits when rounding would put ``observed`` on the other side
    of the bound (the printed range never contradicts the verdict)."""
    if not math.isfinite(x):
        return "n/a"
    if x >= 100:
        for digits in (2, 3, 4, 6, 9):
            r = float(f"{x:.{digits}g}")
            if observed is None or (
                (observed > x) == (observed > r) and (observed < x) == (observed < r)
            ):
                return count_text(r)
    return count_text(x)


def _range_text(nc: NoChange) -> str:
    return f"{round_text(nc.low, nc.observed)}-{round_text(nc.high, nc.observed)}"


def forecast_text(nc: NoChange) -> str:
    """E.g. ``2024 observed 6,233 a year; a no-change forecast from 2021-22 (5,200 a year;
    year-to-year swings from 2012-22) expected 2,100-7,300 (90 %)``."""
    if not nc.testable:
        return f"{years_text(nc.after)} vs {years_text(nc.before)}: not testable ({nc.reason})"
    a, b = nc.swing_years or (0, 0)
    return (
        f"{years_text(nc.after)} observed {count_text(nc.observed)} a year; a no-change forecast "
        f"from {years_text(nc.before)} ({round_text(nc.level)} a year; year-to-year swings from "
        f"{years_text(range(a, b + 1))}) expected {_range_text(nc)} "
        f"({LEVEL * 100:.0f} %)"
    )


def interval_text(nc: NoChange) -> str:
    """E.g. ``expected 2,100-7,300 a year (90 %, no-change forecast from 2021-22); observed
    6,233``."""
    if not nc.testable:
        return f"not testable: {nc.reason}"
    return (
        f"expected {_range_text(nc)} a year ({LEVEL * 100:.0f} %, "
        f"no-change forecast from {years_text(nc.before)}); observed {count_text(nc.observed)}"
    )


@dataclass(frozen=True)
class PooledRatio:
    """Several series, each against its own no-change forecast: the geometric mean of
    ``(observed + 1) / (level + 1)`` over the series, the range no change would give, and the
    correlation of the series' swings it allows for."""

    ratio: float
    low: float
    high: float
    df: float
    series: int
    correlation: float = math.nan


#: Fewest common years on which two series' swings are correlated; with fewer, they are taken
#: to move together fully (the widest range).
MIN_COMMON = 4


def swing_correlation(forecasts: Sequence[NoChange]) -> float:
    """The mean correlation of the series' year-on-year changes over the years they share,
    clipped to [0, 1] (a negative estimate is taken as 0; a pair with fewer than
    :data:`MIN_COMMON` common years counts as 1): regional shocks move the countries together,
    and pooling them as independent would make the range too narrow."""
    rs = []
    for i, a in enumerate(forecasts):
        for b in forecasts[i + 1 :]:
            da, db = dict(a.change_by_year), dict(b.change_by_year)
            common = sorted(set(da) & set(db))
            if len(common) < MIN_COMMON:
                rs.append(1.0)
                continue
            x = np.array([da[y] for y in common])
            y = np.array([db[y] for y in common])
            if x.std() == 0 or y.std() == 0:
                rs.append(1.0)
                continue
            rs.append(float(np.clip(np.corrcoef(x, y)[0, 1], 0.0, 1.0)))
    return float(np.mean(rs)) if rs else 0.0


def pooled_ratio(forecasts: Sequence[NoChange], level: float = LEVEL) -> PooledRatio:
    """Pool testable forecasts on the log scale: the mean of the series' log ratios. Its
    no-change variance is ``(sum_i v_i + rho * sum_{i != j} sqrt(v_i v_j)) / c**2`` with ``v_i``
    each series' own and ``rho`` the measured correlation of their swings
    (:func:`swing_correlation`); degrees of freedom: the smallest of the series'."""
    ok = [f for f in forecasts if f.testable]
    if not ok:
        return PooledRatio(math.nan, math.nan, math.nan, math.nan, 0)
    c = len(ok)
    d = float(np.mean([math.log1p(f.observed) - math.log1p(f.level) for f in ok]))
    v = np.array([(f.sd_year**2) * (1.0 / len(f.before) + 1.0 / len(f.after)) for f in ok])
    rho = swing_correlation(ok)
    sq = np.sqrt(v)
    var = (float(v.sum()) + rho * (float(sq.sum()) ** 2 - float(v.sum()))) / c**2
    df = min(f.df for f in ok)
    half = float(scipy.stats.t.ppf(0.5 + level / 2.0, df)) * math.sqrt(var)
    return PooledRatio(math.exp(d), math.exp(-half), math.exp(half), df, c, rho)


def pooled_ratio_verdict(p: PooledRatio, increase: bool = True) -> str:
    if p.series == 0:
        return NOT_TESTABLE
    return range_verdict(p.ratio, p.low, p.high, increase)


def outcome_text(nc: NoChange, verdict: str) -> str:
    """``-> above the expected range (supported)``, or the reason it is not testable."""
    if not nc.testable:
        return f"-> {verdict}"
    return f"-> {position(nc)} ({verdict})"


def comparison_text(nc: NoChange, increase: bool = True) -> str:
    """The forecast, the observation and the verdict in one phrase."""
    return f"{forecast_text(nc)} {outcome_text(nc, trend_verdict(nc, increase))}"


def sensitivity_text(label: str, nc: NoChange, increase: bool = True) -> str:
    """The sensitivity comparison, shorter: ``[sensitivity (label): 2023-24 observed 7,147 a
    year; expected 2,000-12,000 -> within the expected range (mixed)]``."""
    v = trend_verdict(nc, increase)
    if not nc.testable:
        return f"[sensitivity ({label}): not testable, {nc.reason}]"
    return (
        f"[sensitivity ({label}): {years_text(nc.after)} observed {count_text(nc.observed)} a "
        f"year; expected {_range_text(nc)} {outcome_text(nc, v)}]"
    )


def mixed_reading(nc: NoChange) -> str:
    """Why a verdict is mixed, in words: the direction of the change, and that it is within
    what the earlier years would produce."""
    if not nc.testable:
        return ""
    d = math.log1p(nc.observed) - math.log1p(nc.level)
    way = "about the same as" if abs(d) < 0.05 else ("higher than" if d > 0 else "lower than")
    return (
        f"reading: the observed level is {way} the before years' level, within what the "
        "earlier years' level and swings would produce; the data neither show the claimed "
        "change nor rule it out"
    )


def disagreement_text(named: Mapping[str, str]) -> str:
    """Plain words when the named comparisons (name -> verdict) do not all agree, else ``""``:
    ``the comparisons differ: Burkina Faso supported; Mali, Niger mixed``."""
    groups: dict[str, list[str]] = {}
    for name, v in named.items():
        groups.setdefault(v, []).append(name)
    if len(groups) < 2:
        return ""
    return "the comparisons differ: " + "; ".join(
        f"{', '.join(names)} {v}" for v, names in groups.items()
    )
