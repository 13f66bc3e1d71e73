"""Before/after statistics of counts around a dated event.

:func:`before_after` compares event counts (deaths, events...) in the periods before and after
an event. Period convention: the event's own period is **excluded**; "before" is the ``window``
periods strictly earlier, "after" the ``window`` periods strictly later (all of them when
``window`` is None). Excluding the event period avoids splitting a year or month by hand and
keeps the event's own burst (a massacre, a coup) out of both sides.

With counts :math:`Y_b, Y_a` and exposures :math:`E_b, E_a` (number of periods, or population
person-periods), the rate ratio is :math:`RR = (Y_a/E_a)/(Y_b/E_b)`. Two intervals are given:

* exact (Poisson, conditional on the total): :math:`Y_a \\mid N \\sim \\mathrm{Bin}(N, \\pi)`
  with :math:`\\pi = RR\\,E_a/(RR\\,E_a + E_b)`; a Clopper-Pearson interval for :math:`\\pi`
  (``scipy.stats.beta`` quantiles) is mapped back to RR. The p-value is the exact binomial test of
  :math:`\\pi_0 = E_a/(E_a+E_b)`. Valid when counts are Poisson, which conflict deaths are not:
  deaths come in bursts.
* over-dispersion adjusted (quasi-Poisson): Wald interval on log RR with
  :math:`SE = \\sqrt{1/Y_a + 1/Y_b}\\,\\sqrt{\\phi}`, where :math:`\\phi` is the Pearson
  dispersion of the period counts around the two-rate fit, floored at 1. When :math:`\\phi > 1`
  is used, quantiles come from Student's t with the residual degrees of freedom
  (:math:`n_b + n_a - 2`), otherwise from the normal. A zero count on either side gets 0.5 added
  to both sides for this interval (said in ``note``), and the interval is then opened to 0
  (zero after) or infinity (zero before) so it still contains the point estimate.

Overlapping events (a coup and sanctions in the same year) confound each other; nothing here
separates them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy

# ``scipy.stats`` (1.4 s to import, most of the explorer's import time) is reached as
# ``scipy.stats`` at call time: SciPy loads its submodules lazily on first attribute access, so
# importing this module (every scenario run imports it through the timeline) does not load it.


@dataclass(frozen=True)
class BeforeAfter:
    """Rates before and after an event (see the module docstring for the method).

    ``n_before``/``n_after`` count periods; ``total_*`` are summed counts; ``exposure_*`` summed
    exposure (the number of periods when no exposure is given); rates are per unit exposure.
    ``rr_low_exact``/``rr_high_exact`` form the exact conditional (Clopper-Pearson) interval,
    ``rr_low_overdispersed``/``rr_high_overdispersed`` the quasi-Poisson one; ``dispersion`` is
    the Pearson estimate before flooring (NaN when there are too few periods); ``p_value`` is the
    exact two-sided test of RR = 1, ``p_value_overdispersed`` the quasi-Poisson Wald test.
    """

    at: int
    window: int | None
    level: float
    n_before: int
    n_after: int
    total_before: float
    total_after: float
    exposure_before: float
    exposure_after: float
    rate_before: float
    rate_after: float
    rate_ratio: float
    rr_low_exact: float
    rr_high_exact: float
    rr_low_overdispersed: float
    rr_high_overdispersed: float
    dispersion: float
    p_value: float
    p_value_overdispersed: float
    note: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _exp(x: float) -> float:
    """``math.exp`` that saturates to 0 / inf instead of raising OverflowError."""
    if x > 709.0:
        return math.inf
    return math.exp(x)


def _pi_to_rr(pi: float, e_b: float, e_a: float) -> float:
    if pi <= 0.0:
        return 0.0
    if pi >= 1.0:
        return math.inf
    return pi / (1.0 - pi) * (e_b / e_a)


def before_after(
    counts: pd.Series,
    exposure: pd.Series | None,
    at: int,
    window: int | None = None,
    *,
    level: float = 0.9,
) -> BeforeAfter:
    """Compare the rate of ``counts`` before and after period ``at``.

    ``counts``: non-negative numbers indexed by an integer period (year, or ViEWS ``month_id``).
    ``exposure``: optional positive weights on the same index (population, days...); None means
    one unit per period. ``at``: the event's period, excluded from both sides. ``window``:
    number of periods on each side (None = all available). Periods absent from ``counts`` (or
    with NaN count or exposure) are not counted; say so by filling zeros first when absence
    means zero. Non-integer counts are rounded for the exact interval (noted).
    """
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be in (0, 1), got {level}")
    if window is not None and window < 1:
        raise ValueError(f"window must be a positive number of periods or None, got {window}")
    s = pd.Series(counts, dtype=float)
    if not s.index.is_unique:
        raise ValueError("counts has repeated periods in its index")
    try:
        idx = np.asarray(s.index, dtype=np.int64)
    except (TypeError, ValueError) as exc:
        raise ValueError("counts must be indexed by integer periods (year or month_id)") from exc
    vals = s.to_numpy(dtype=float)
    if exposure is None:
        expo = np.ones_like(vals)
    else:
        e = pd.Series(exposure, dtype=float).reindex(s.index)
        expo = e.to_numpy(dtype=float)
    notes: list[str] = []
    at = int(at)
    before = idx < at
    after = idx > at
    if window is not None:
        before &= idx >= at - window
        after &= idx <= at + window
    use = (before | after) & ~np.isnan(vals) & ~np.isnan(expo)
    dropped = int(((before | after) & ~use).sum())
    if dropped:
        notes.append(f"{dropped} period(s) with missing count or exposure left out")
    if np.any(vals[use] < 0):
        raise ValueError("counts must be non-negative")
    if np.any(expo[use] <= 0):
        raise ValueError("exposure must be positive in the compared periods")
    b, a = before & use, after & use
    n_b, n_a = int(b.sum()), int(a.sum())
    y_b, y_a = float(vals[b].sum()), float(vals[a].sum())
    e_b, e_a = float(expo[b].sum()), float(expo[a].sum())
    nan = math.nan
    if n_b == 0 or n_a == 0:
        notes.append("no period before the event" if n_b == 0 else "no period after the event")
        return BeforeAfter(
            at,
            window,
            level,
            n_b,
            n_a,
            y_b,
            y_a,
            e_b,
            e_a,
            y_b / e_b if n_b else nan,
            y_a / e_a if n_a else nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            nan,
            "; ".join(notes),
        )
    rate_b, rate_a = y_b / e_b, y_a / e_a
    if rate_b > 0:
        rr = rate_a / rate_b
    elif rate_a > 0:
        rr = math.inf
    else:
        rr = nan
    alpha = 1.0 - level

    stats = scipy.stats  # loaded on first use (see the import)
    # exact conditional interval ---------------------------------------------------------------
    k_a, k_b = round(y_a), round(y_b)
    if k_a != y_a or k_b != y_b:
        notes.append("non-integer counts rounded for the exact interval")
    n_tot = k_a + k_b
    if n_tot == 0:
        lo_x, hi_x, p = 0.0, math.inf, 1.0
        notes.append("all counts are zero: the rate ratio is undefined")
    else:
        pi_lo = 0.0 if k_a == 0 else float(stats.beta.ppf(alpha / 2, k_a, n_tot - k_a + 1))
        pi_hi = 1.0 if k_a == n_tot else float(stats.beta.ppf(1 - alpha / 2, k_a + 1, n_tot - k_a))
        lo_x, hi_x = _pi_to_rr(pi_lo, e_b, e_a), _pi_to_rr(pi_hi, e_b, e_a)
        p = float(stats.binomtest(k_a, n_tot, e_a / (e_a + e_b)).pvalue)

    # over-dispersion adjusted interval -----------------------------------------------------------
    mu = np.where(b, rate_b * expo, rate_a * expo)[use]
    y = vals[use]
    pos = mu > 0
    chi2 = float(np.sum((y[pos] - mu[pos]) ** 2 / mu[pos]))
    df = n_b + n_a - 2
    phi_hat = chi2 / df if df > 0 else nan
    if df <= 0:
        notes.append("too few periods to estimate dispersion: Poisson variance used")
    phi = phi_hat if (df > 0 and phi_hat > 1.0) else 1.0
    if n_tot == 0:
        lo_o, hi_o, p_o = 0.0, math.inf, 1.0
    else:
        ya_c, yb_c = y_a, y_b
        if y_a == 0 or y_b == 0:
            ya_c, yb_c = y_a + 0.5, y_b + 0.5
            notes.append("zero count on one side: 0.5 added to both for the log-scale interval")
        log_rr = math.log((ya_c / e_a) / (yb_c / e_b))
        se = math.sqrt(1.0 / ya_c + 1.0 / yb_c) * math.sqrt(phi)
        dist = stats.t(df) if phi > 1.0 else stats.norm()
        q = float(dist.ppf(1 - alpha / 2))
        lo_o = 0.0 if y_a == 0 else _exp(log_rr - q * se)
        hi_o = math.inf if y_b == 0 else _exp(log_rr + q * se)
        p_o = float(2 * dist.sf(abs(log_rr) / se))
    return BeforeAfter(
        at=at,
        window=window,
        level=level,
        n_before=n_b,
        n_after=n_a,
        total_before=y_b,
        total_after=y_a,
        exposure_before=e_b,
        exposure_after=e_a,
        rate_before=rate_b,
        rate_after=rate_a,
        rate_ratio=rr,
        rr_low_exact=lo_x,
        rr_high_exact=hi_x,
        rr_low_overdispersed=lo_o,
        rr_high_overdispersed=hi_o,
        dispersion=phi_hat,
        p_value=p,
        p_value_overdispersed=p_o,
        note="; ".join(notes),
    )
