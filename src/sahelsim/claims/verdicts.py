"""Verdicts of the claims audit and the helpers that decide and word them.

A test returns a :class:`Result`; it raises :class:`Untestable` when the data it needs are
missing. Trends are judged by a no-change forecast (:mod:`sahelsim.claims.trend`); model
differences are decided by the 5-95 % range over paired members.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

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


def pooled_verdict(pooled: str, countries: Iterable[str]) -> str:
    """The pooled verdict, unless a country points the other way (then mixed)."""
    other = {SUPPORTED: CONTRADICTED, CONTRADICTED: SUPPORTED}.get(pooled)
    if other is not None and other in set(countries):
        return MIXED
    return pooled
