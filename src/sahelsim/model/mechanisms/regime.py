"""11. Regime survival (article: "What Comes After", "The Sovereignty Paradox").

Legitimacy L (0..1) drifts towards 0.5 at ``legit_drift`` per month, falls with the month's
deaths (``legit_loss`` per log10 of deaths in the country), rises by ``legit_performance`` with
each performative sovereignty event (the charter, the confederation, the joint force), and takes
the ``legitimacy_shock`` lever. Coups from the timeline are forced during history; in
projections the monthly coup hazard is

    h = coup_base * exp(coup_slope * (0.5 - L))

A coup resets legitimacy to 0.6 (a new junta's honeymoon). Under the default rule the new junta
stays in the AES and keeps its policies; under ``coup_rule = "transition"`` it opens a political
transition with probability 1 - dependency (a regime that depends on Russia rarely changes
course), which raises the external constraint (:mod:`.schedule`).
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..space import CORE
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    p, d, f = ctx.p, ctx.d, ctx.flows
    K = s.legitimacy.shape[1]
    deaths_k = ctx.to_country(f.deaths_total())
    L = s.legitimacy
    L += p.legit_drift * (0.5 - L)
    L -= p.legit_loss * np.log10(1 + deaths_k / 100.0)
    L += p.legit_performance * d.performative[None, :]
    L += d.lever["legitimacy_shock"][None, :]
    np.clip(L, 0.0, 1.0, out=L)
    core = np.zeros(K, dtype=bool)
    core[ctx.space.core_country_index()] = True
    coup = np.broadcast_to(d.forced_coup[None, :] > 0, L.shape).copy()
    if d.stochastic_coups:
        h = np.clip(p.coup_base * np.exp(p.coup_slope * (0.5 - L)), 0.0, 1.0)
        coup |= (ctx.uk("coup") < h) & core[None, :]
    if coup.any():
        s.coups += coup
        L[coup] = 0.6
        if d.flags.get("coup_rule") == "transition":
            trans = coup & (ctx.uk("transition") < 1 - s.dependency)
            s.transition[trans] = 1.0
    f.coup_k += coup
    s.deaths_last[:] = f.deaths_total()
    s.deaths_last_k[:] = deaths_k
    _ = CORE
