"""9. Displacement and population (article: "Fragmentation's Feedback Loops": over two million
displaced; borders that hardened when ECOWAS free movement ended).

    leave = residents * min(0.3, flee_per_death * deaths / (residents / 10,000)
                                 + flee_control * (share_jnim + share_issp))

A share ``abroad_share * border_openness`` of leavers crosses a border (refugees of the
country); the rest go to state-held urban cores of the same country (weighted by population;
the capital when none is held). Displaced people hosted in a cell return or settle at
``idp_return`` per month. Residents grow at the cell's WorldPop growth rate; the growth is
counted so that residents + displaced + refugees + dead = initial + growth exactly.
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    sp, p, f = ctx.space, ctx.p, ctx.flows
    M, C = s.pop.shape
    deaths = f.deaths_total()
    per10k = deaths / (np.maximum(s.pop, 1.0) / 1e4)
    rate = np.minimum(
        0.3, p.flee_per_death * per10k + p.flee_control * (s.share_jnim + s.share_issp)
    )
    rate = np.where(sp.country[None, :] >= 0, rate, 0.0)
    leave = np.floor(np.maximum(s.pop, 0.0) * rate)
    border = ctx.by_cell(ctx.lever("border_openness"))[None, :]
    abroad = np.floor(leave * p.abroad_share * np.clip(border, 0.0, 1.0))
    internal = leave - abroad
    s.pop -= leave
    f.displaced_new += leave
    s.refugees += ctx.to_country(abroad)
    # destinations: state-held urban cores of the same country
    w = sp.urban[None, :] * (s.hold == 1) * sp.pop0[None, :]
    wk = ctx.to_country(w)
    cap_w = np.zeros((M, C))
    has_cap = sp.capital >= 0
    cap_w[:, sp.capital[has_cap]] = 1.0
    use_cap = wk <= 0
    w = np.where(ctx.by_cell(use_cap.astype(float)) > 0, cap_w, w)
    wk = ctx.to_country(w)
    frac = w / np.maximum(ctx.by_cell(wk), 1e-12)
    s.idp += frac * ctx.by_cell(ctx.to_country(internal))
    # returns / local integration
    ret = s.idp * p.idp_return
    s.idp -= ret
    s.pop += ret
    # growth of residents
    g = s.pop * sp.growth[None, :]
    s.pop += g
    s.growth_cum += g.sum(axis=1)
