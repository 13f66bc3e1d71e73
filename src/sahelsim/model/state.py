"""Model state: arrays with the ensemble as the leading axis.

Cell arrays have shape ``(members, cells)``, country arrays ``(members, countries)``. A state is
a plain container; :meth:`State.copy` gives the independent copy that a pure step works on.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .params import Params
from .space import CORE, Space

CELL_FIELDS = (
    "jnim", "issp", "pop", "idp", "grievance", "gov", "services", "accord", "share_state",
    "share_jnim", "share_issp", "hold", "dead_civ", "deaths_last", "jnim_away", "issp_away",
)  # fmt: skip
COUNTRY_FIELDS = (
    "pool", "militia", "russia", "joint", "legitimacy", "dependency", "refugees", "coups",
    "transition", "external", "deaths_last_k",
)  # fmt: skip
HOLD_CODES = {0: "contested", 1: "state", 2: "jnim", 3: "issp"}


@dataclass
class State:
    # cells (M, C)
    jnim: np.ndarray  # fighters
    issp: np.ndarray  # fighters
    pop: np.ndarray  # residents (people)
    idp: np.ndarray  # displaced people hosted in the cell
    grievance: np.ndarray  # index >= 0
    gov: np.ndarray  # jihadist governance maturity, 0..1
    services: np.ndarray  # state service presence, 0..1
    accord: np.ndarray  # local accord with JNIM, 0/1
    share_state: np.ndarray  # contest shares, 0..1
    share_jnim: np.ndarray
    share_issp: np.ndarray
    hold: np.ndarray  # 0 contested, 1 state, 2 JNIM, 3 ISSP
    dead_civ: np.ndarray  # cumulative civilian deaths (people)
    deaths_last: np.ndarray  # all deaths in the cell last month
    jnim_away: np.ndarray  # JNIM fighters cleared from this cell, waiting in its neighbours
    issp_away: np.ndarray
    # countries (M, K)
    pool: np.ndarray  # deployable national forces (persons)
    militia: np.ndarray  # state-aligned militia (persons)
    russia: np.ndarray  # Russian personnel (persons)
    joint: np.ndarray  # AES joint-force personnel assigned to the country
    legitimacy: np.ndarray  # 0..1
    dependency: np.ndarray  # on Russia, 0..1
    refugees: np.ndarray  # people from the country living abroad (model-generated)
    coups: np.ndarray  # count since start
    transition: np.ndarray  # 0/1: a coup opened a political transition
    external: np.ndarray  # external constraint (accountability presence), 0..1
    deaths_last_k: np.ndarray  # all deaths in the country last month
    # members (M,)
    growth_cum: np.ndarray  # people added by population growth since the start

    def copy(self) -> State:
        return State(**{f.name: getattr(self, f.name).copy() for f in fields(self)})

    @property
    def members(self) -> int:
        return int(self.pop.shape[0])


def initial_state(space: Space, params: Params, members: int) -> State:
    """Initial state from data (population) and sourced priors (force and fighter sizes).

    Insurgents start where the conflict started (northern and central Mali for JNIM's
    precursors, the Mali-Niger border for ISSP's): fighters are spread over the cells of the
    three countries with weights favouring cells far from the capitals, scaled so totals equal
    the priors. The same initial state is given to every member; randomness enters with the
    dynamics.
    """
    C, K, M = space.n_cells, space.n_countries, members
    p = params
    core = space.core
    pop = np.broadcast_to(space.pop0, (M, C)).copy()
    dens = space.pop0 / np.maximum(space.area_km2, 1.0)
    # remoteness from the capital of the cell's own country, 0..1
    remote = np.zeros(C)
    for k in range(K):
        idx = np.nonzero(space.country == k)[0]
        if idx.size and space.capital[k] >= 0:
            c = space.capital[k]
            d = np.hypot(space.lat[idx] - space.lat[c], space.lon[idx] - space.lon[c])
            remote[idx] = d / max(d.max(), 1e-9)
    mli = space.country == CORE.index("MLI")
    ner = space.country == CORE.index("NER")
    w_j = np.where(mli, remote**2 * np.sqrt(dens + 1), 0.0)
    w_i = np.where(ner | mli, remote**2 * np.sqrt(dens + 1), 0.0) * np.where(ner, 1.0, 0.3)
    jnim0 = p.jnim_fighters0 * w_j / max(w_j.sum(), 1e-12)
    issp0 = p.issp_fighters0 * w_i / max(w_i.sum(), 1e-12)
    rank = dens.argsort().argsort() / max(C - 1, 1)
    services0 = np.where(core, 0.25 + 0.5 * rank, 0.5 + 0.3 * rank)
    services0 = np.where(space.urban, 0.9, services0)
    zeros_c = np.zeros((M, C))
    pool = np.zeros((M, K))
    militia = np.zeros((M, K))
    for name, force, mil in (("MLI", p.force_mli, p.militia_mli), ("BFA", p.force_bfa, p.militia_bfa),
                             ("NER", p.force_ner, p.militia_ner)):  # fmt: skip
        k = space.countries.index(name)
        pool[:, k] = force
        militia[:, k] = mil * 0.1  # militias were small in 2012; they grow with the war
    zeros_k = np.zeros((M, K))
    return State(
        jnim=np.broadcast_to(jnim0, (M, C)).copy(),
        issp=np.broadcast_to(issp0, (M, C)).copy(),
        pop=pop,
        idp=zeros_c.copy(),
        grievance=zeros_c.copy(),
        gov=np.broadcast_to(np.where(mli, 0.2 * remote, 0.0), (M, C)).copy(),
        services=np.broadcast_to(services0, (M, C)).copy(),
        accord=zeros_c.copy(),
        share_state=np.ones((M, C)),
        share_jnim=zeros_c.copy(),
        share_issp=zeros_c.copy(),
        hold=np.ones((M, C), dtype=np.int8),
        dead_civ=zeros_c.copy(),
        deaths_last=zeros_c.copy(),
        jnim_away=zeros_c.copy(),
        issp_away=zeros_c.copy(),
        pool=pool,
        militia=militia,
        russia=zeros_k.copy(),
        joint=zeros_k.copy(),
        legitimacy=np.full((M, K), 0.5),
        dependency=zeros_k.copy(),
        refugees=zeros_k.copy(),
        coups=zeros_k.copy(),
        transition=zeros_k.copy(),
        external=np.full((M, K), 0.8),
        deaths_last_k=zeros_k.copy(),
        growth_cum=np.zeros(M),
    )
