"""The kernels' per-run cache (model.cellsums) changes no number: months stepped with the
engine's flows (cache rows below the flows) equal months stepped with plain flows, bit for bit;
the adjacency check that gates control's scattered neighbour sums."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.sparse as sp
from numba.core.errors import NumbaExperimentalFeatureWarning

from sahelsim.core.canon import month_id
from sahelsim.model import layout as L
from sahelsim.model.cellsums import cache_rows, symmetric
from sahelsim.model.engine import _member_month
from sahelsim.model.params import Params
from sahelsim.model.rng import member_keys
from sahelsim.model.space import Space
from sahelsim.model.state import initial_state
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.scenarios.setup import build_drivers

START = int(month_id(2024, 6))


def _months(space: Space, extra_rows: int, months: int, params: np.ndarray) -> list[bytes]:
    M = params.shape[0]
    sc = load_scenario("acceleration")
    d = build_drivers(space, START, months, levers=sc.lever_series(START, months),
                      projection_start=START)  # fmt: skip
    drv, flags, lev = d.packed()
    g = space.kernel_arrays()
    s0 = initial_state(space, Params.default(), M, START)
    keys = member_keys(5, np.arange(M))
    sw = np.ones(len(Params.default().switch_vector()), dtype=bool)
    fl = np.zeros((M, L.N_FLOW_FIELDS + extra_rows, space.n_cells))
    fk = np.zeros((M, L.N_FLOWK_FIELDS, space.n_countries))
    seen = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
        for t in range(months):
            md = L.MonthDrivers(drv[t], flags[t], lev[t])
            for m in range(M):
                s = L.MemberState(s0.cells[m], s0.ctry[m], s0.growth_cum[m : m + 1], s0.units[m])
                _member_month(keys[m], START + t, s, L.Flows(fl[m], fk[m]), g, md, params[m], sw)
            seen.append(b"".join(a.tobytes() for a in (s0.cells, s0.ctry, s0.growth_cum,
                                                       s0.units, fl[:, : L.N_FLOW_FIELDS], fk)))  # fmt: skip
    return seen


def test_cache_rows_change_no_number():
    space = Space.synthetic(rows=8, cols=12, seed=4)
    rng = np.random.default_rng(1)
    p = np.tile(Params.default().vector(), (3, 1))
    p[1:, L.P.FLIGHT_RANGE] = rng.uniform(0.3, 10.0, 2)  # members with their own flight range
    plain = _months(space, 0, 12, p)
    cached = _months(space, cache_rows(space.kernel_arrays().urban_ptr), 12, p)
    assert len(plain) == len(cached) == 12
    for t, (a, b) in enumerate(zip(plain, cached, strict=True)):
        assert a == b, f"month {t}: cached and plain paths differ"


def test_symmetric_adjacency_check():
    g = Space.synthetic(rows=5, cols=6, seed=1).kernel_arrays()
    assert symmetric(g.nbr_ptr, g.nbr_idx)
    one_way = sp.csr_matrix(np.array([[0, 1, 0], [0, 0, 1], [0, 1, 0]]))
    assert not symmetric(one_way.indptr.astype(np.int64), one_way.indices.astype(np.int64))
    assert not symmetric(np.array([0, 2, 3, 4]), np.array([2, 1, 0, 0]))  # unsorted list
