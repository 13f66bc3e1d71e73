"""Verdicts of the claims audit and the helpers that decide and word them.

A test returns a :class:`Result`; it raises :class:`Untestable` when the data it needs are
missing. Trends are rate ratios of yearly counts from
:func:`sahelsim.evidence.timeline.before_after`, decided by the over-dispersion-adjusted 90 %
interval; model differences are decided by the 5-95 % range over paired members.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sahelsim.evidence.timeline import BeforeAfter, before_after

SUPPORTED = "supported"
CONTRADICTED = "contradicted"
MIXED = "mixed"
NOT_TESTABLE = "not testable with the data present"
#: A count compared with a source that is a conservative floor (UCDP): the floor reaches the
#: claimed figure's range, or stays below it (which does not refute a larger count).
CONSISTENT = "consistent with the data"
NOT_CONSISTENT = "not consistent with the data"
#: Model-only verdicts: what the model's assumptions imply for a quantity it was not fitted to.
MODEL_CONSISTENT = "model: consistent"
MODEL_NOT_CONSISTENT = "model: not consistent"
MODEL_MIXED = "model: mixed"
#: The allowed verdicts.
VERDICTS: tuple[str, ...] = (
    SUPPORTED,
    CONTRADICTED,
    MIXED,
    CONSISTENT,
    NOT_CONSISTENT,
    MODEL_CONSISTENT,
    MODEL_NOT_CONSISTENT,
    MODEL_MIXED,
    NOT_TESTABLE,
)
#: ``evidence`` values: what decided the verdict ("none" when nothing could).
EVIDENCE: tuple[str, ...] = ("data", "model", "none")

#: Level of every interval the audit reports.
LEVEL = 0.9


@dataclass(frozen=True)
class Result:
    verdict: str
    figure: str
    source: str
    definitions: str
    evidence: str
    interval: str = ""


class Untestable(Exception):
    """Raised by a test when the data it needs are not in the store."""


def count_text(x: float) -> str:
    """A count with thousands separators (no decimals)."""
    return f"{x:,.0f}" if math.isfinite(x) else "n/a"


def ratio_text(x: float) -> str:
    """A ratio with three significant digits."""
    if not math.isfinite(x):
        return "inf" if x == math.inf else "n/a"
    return f"{x:.3g}"


def years_text(ys: Sequence[int]) -> str:
    ys = sorted(ys)
    if not ys:
        return "none"
    if len(ys) == 1:
        return str(ys[0])
    if ys == list(range(ys[0], ys[-1] + 1)):
        return (
            f"{ys[0]}-{str(ys[-1])[-2:]}" if ys[0] // 100 == ys[-1] // 100 else f"{ys[0]}-{ys[-1]}"
        )
    return ", ".join(map(str, ys))


def period_ratio(
    counts: Mapping[int, float] | pd.Series,
    before: Sequence[int],
    after: Sequence[int],
    exposure: Mapping[int, float] | pd.Series | None = None,
) -> BeforeAfter:
    """Rate ratio of ``after`` vs ``before`` periods (any sets of years) via ``before_after``.

    The periods are laid out as 0..nb-1 (before), nb (the left-out event period) and nb+1...
    (after), so ``before_after``'s convention (event period excluded) applies unchanged.
    """
    get = counts.get
    nb = len(before)
    idx = list(range(nb)) + list(range(nb + 1, nb + 1 + len(after)))
    yrs = [*before, *after]
    s = pd.Series([float(get(y, np.nan)) for y in yrs], index=idx, dtype=float)
    e = None
    if exposure is not None:
        e = pd.Series([float(exposure.get(y, np.nan)) for y in yrs], index=idx, dtype=float)
    return before_after(s, e, at=nb, level=LEVEL)


def rr_verdict(r: BeforeAfter, increase: bool = True) -> str:
    lo, hi = r.rr_low_overdispersed, r.rr_high_overdispersed
    if math.isnan(lo) or math.isnan(hi):
        return NOT_TESTABLE
    if lo > 1.0:
        return SUPPORTED if increase else CONTRADICTED
    if hi < 1.0:
        return CONTRADICTED if increase else SUPPORTED
    return MIXED


def rr_text(r: BeforeAfter) -> str:
    return (
        f"RR {ratio_text(r.rate_ratio)}, 90 % interval [{ratio_text(r.rr_low_overdispersed)}, "
        f"{ratio_text(r.rr_high_overdispersed)}] (over-dispersion adjusted; exact "
        f"[{ratio_text(r.rr_low_exact)}, {ratio_text(r.rr_high_exact)}])"
    )


def pooled_verdict(pooled: str, countries: Iterable[str]) -> str:
    """The pooled verdict, unless a country points the other way (then mixed)."""
    other = {SUPPORTED: CONTRADICTED, CONTRADICTED: SUPPORTED}.get(pooled)
    if other is not None and other in set(countries):
        return MIXED
    return pooled
