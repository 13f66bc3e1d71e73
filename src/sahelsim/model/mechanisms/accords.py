"""Local accords with JNIM (article: "Three Futures", second scenario: negotiated
accommodation; FIELD.md: dozens of local accords in central Mali since 2020).

Where JNIM dominates a cell (contest share > 0.5), a local accord forms each month with
probability ``negotiation_propensity`` (lever, 1/month). An accord ends when the state regains
the cell. Under an accord, clearing operations avoid the cell, ``accord_battle_cut`` (share,
default 0.8) of engagements do not happen, mass-casualty risk falls by ``accord_massacre_cut``
(default 0.5) and jihadist governance matures ``1 + accord_gov_boost`` times faster
(see :mod:`.combat`, :mod:`.civilian_harm`, :mod:`.governance`).
"""

from __future__ import annotations

import numpy as np

from ..context import Ctx
from ..state import State


def apply(s: State, ctx: Ctx) -> None:
    prop = ctx.by_cell(ctx.lever("negotiation_propensity"))[None, :]
    new = (s.share_jnim > 0.5) & (ctx.u("accord") < prop)
    ended = s.hold == 1
    s.accord[:] = np.where(ended, 0.0, np.maximum(s.accord, new.astype(float)))
