"""8. Territorial control (MODEL.md 3.8; article: "Three Futures": governments reduced to
urban cores while the periphery is held by others; the Malian state at about a fifth of its
territory, "The Counterterrorism Illusion").

A Tullock contest over effective strengths gives each side's share of influence in a cell:

    F_state = forces + militia + Russians + joint/intervention + admin_presence * services
    F_jnim  = J * (1 + gov_strength * gov),   F_issp = I_s
    share_i = F_i^m / sum_j F_j^m,   m = contest_exponent

A side holds the cell when its share exceeds ``hold_threshold`` (default 0.6); otherwise the
cell is contested. Codes: 0 contested, 1 state, 2 JNIM, 3 ISSP.
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    p, f = ctx.p, ctx.flows
    fs = (
        f.state_cell + f.militia_cell + f.russia_cell + f.extra_cell + p.admin_presence * s.services
    )
    fj = s.jnim * (1 + p.gov_strength * s.gov)
    fi = s.issp
    m = p.contest_exponent
    ws, wj, wi = (np.power(np.maximum(x, 0.0), m) for x in (fs, fj, fi))
    tot = ws + wj + wi
    none = tot <= 0
    tot = np.where(none, 1.0, tot)
    s.share_state[:] = np.where(none, 1.0, ws / tot)
    s.share_jnim[:] = np.where(none, 0.0, wj / tot)
    s.share_issp[:] = np.where(none, 0.0, wi / tot)
    shares = np.stack([s.share_state, s.share_jnim, s.share_issp])
    best = shares.argmax(axis=0)
    held = shares.max(axis=0) > p.hold_threshold
    s.hold[:] = np.where(held, best + 1, 0).astype(np.int8)
