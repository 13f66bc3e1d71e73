"""10. Patron dependency (article: "The Russian Calculation").

Russian personnel (lever ``russia_personnel``, persons per country) protect regimes and sites
rather than hold ground: ``russia_capital_share`` (share, default 0.7) is posted to the capital
and urban cores; the rest joins clearing operations. Dependency D (0..1) grows with the Russian
share of force and with every failed defence (deaths in urban cores last month):

    D <- D + (dependency_gain * R / (R + pool) + dependency_fail * deaths_urban) * (1 - D)
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    sp, p = ctx.space, ctx.p
    s.russia[:] = ctx.lever("russia_personnel")[None, :]
    urban = sp.urban.astype(float)
    w = urban * sp.pop0
    wk = w @ ctx.onehot  # (K,)
    frac = np.where(wk[sp.country] > 0, w / np.maximum(wk[sp.country], 1e-9), 0.0)
    frac = np.where(sp.country >= 0, frac, 0.0)
    ctx.flows.russia_cell[:] = ctx.by_cell(s.russia * p.russia_capital_share) * frac[None, :]
    share = s.russia / np.maximum(s.russia + s.pool, 1.0)
    deaths_urban = ctx.to_country(s.deaths_last * urban[None, :])
    growth = p.dependency_gain * share + p.dependency_fail * deaths_urban
    s.dependency[:] = np.clip(s.dependency + growth * (1 - s.dependency), 0.0, 1.0)
