"""12. Territorial control by presence (MODEL.md 3.8; article: "Three Futures": governments
reduced to urban cores while others hold the periphery; "The Counterterrorism Illusion": the
Malian state at perhaps a fifth of its territory; FIELD.md: the Burkinabe state at about 40 %).

Each side's effective strength in a cell counts what is there and what its units project from
the neighbouring cells (``reach``, share; patrols, checkpoints, blockades):

    F_state = army + Russians + joint/intervention + militia_weight * militia
              + admin_presence * services
    F_jnim  = (J + reach * sum of J in the neighbours) * (1 + gov_strength * gov)
    F_issp  = I_s + reach * sum of I_s in the neighbours
    F_other = O + L + reach * (sum of O + L in the neighbours)   (CMA/FLA, Lake Chad groups)

A side is present where its F >= ``presence_min`` (fighter-equivalents). A cell where no side
is present is ungoverned (code 5; shares 0): nobody's, not the state's. Among the present
sides a Tullock contest gives the shares, ``share_i = F_i^m / sum_j F_j^m`` (m =
``contest_exponent``); a side holds the cell when its share exceeds ``hold_threshold``,
otherwise the cell is contested. Codes: 0 contested, 1 state, 2 JNIM, 3 IS Sahel, 4 other
armed group, 5 ungoverned.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sahelsim.model.cellsums import has_cache, symmetric_cached
from sahelsim.model.layout import Cell, Flow, P

_M_SAFE = 31.0  # |contest_exponent| up to which F**m of an F in [2**-32, 2**32] is a normal float
_F_LO = 2.0**-32
_F_HI = 2.0**32


@njit(cache=True, inline="always")
def _ungoverned(cs, c):
    cs[Cell.SHARE_STATE, c] = 0.0
    cs[Cell.SHARE_JNIM, c] = 0.0
    cs[Cell.SHARE_ISSP, c] = 0.0
    cs[Cell.SHARE_OTHER, c] = 0.0
    cs[Cell.HOLD, c] = 5.0


@njit(cache=True, inline="always")
def _sole(cs, c, f, code, thr):
    """The only present side (``code``) with strength ``f``: the contest gives it share w / w
    = 1.0 and the others 0 / w = 0.0 whenever w = f**m is a positive normal float, which
    |m| <= 31 and f in [2**-32, 2**32] guarantee; otherwise the contest is computed."""
    if not (_F_LO <= f <= _F_HI):
        return False
    cs[Cell.SHARE_STATE, c] = 1.0 if code == 1.0 else 0.0
    cs[Cell.SHARE_JNIM, c] = 1.0 if code == 2.0 else 0.0
    cs[Cell.SHARE_ISSP, c] = 1.0 if code == 3.0 else 0.0
    cs[Cell.SHARE_OTHER, c] = 1.0 if code == 4.0 else 0.0
    cs[Cell.HOLD, c] = code if thr < 1.0 else 0.0
    return True


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, fl = state.cells, flows.cells
    nptr, nidx = geog.nbr_ptr, geog.nbr_idx
    m = p[P.CONTEST_EXPONENT]
    thr = p[P.HOLD_THRESHOLD]
    reach = p[P.REACH]
    pmin = p[P.PRESENCE_MIN]
    m_safe = abs(m) <= _M_SAFE
    militia_w, admin, gov_w = p[P.MILITIA_WEIGHT], p[P.ADMIN_PRESENCE], p[P.GOV_STRENGTH]
    C = cs.shape[1]
    armed = np.empty(C, dtype=np.bool_)  # any armed group's fighters in the cell
    for c in range(C):
        armed[c] = (cs[Cell.JNIM, c] != 0.0 or cs[Cell.ISSP, c] != 0.0
                    or cs[Cell.OTHER, c] != 0.0 or cs[Cell.LAKE, c] != 0.0)  # fmt: skip
    # Neighbour sums. A cell's sum runs over its neighbour list in increasing order, from +0.0,
    # skipping cells without fighters (adding a zero to a sum that is not -0.0 changes no bit).
    # With a symmetric adjacency (checked once per run) the armed cells add themselves to their
    # neighbours' sums instead, in increasing order of cell: for every cell the same terms in
    # the same order, so the same sums, at the cost of the armed cells only.
    scatter = symmetric_cached(fl, has_cache(fl, geog.urban_ptr), nptr, nidx)
    near = np.zeros((3, C if scatter else 0))
    if scatter:
        for n in range(C):
            if armed[n]:
                vj = cs[Cell.JNIM, n]
                vi = cs[Cell.ISSP, n]
                vo = cs[Cell.OTHER, n] + cs[Cell.LAKE, n]
                for j in range(nptr[n], nptr[n + 1]):
                    c = nidx[j]
                    near[0, c] += vj
                    near[1, c] += vi
                    near[2, c] += vo
    for c in range(C):
        fs = (fl[Flow.STATE_CELL, c] + fl[Flow.RUSSIA_CELL, c] + fl[Flow.EXTRA_CELL, c]
              + militia_w * fl[Flow.MILITIA_CELL, c] + admin * cs[Cell.SERVICES, c])  # fmt: skip
        if scatter:
            nj, ni, no = near[0, c], near[1, c], near[2, c]
        else:
            nj = 0.0
            ni = 0.0
            no = 0.0
            for j in range(nptr[c], nptr[c + 1]):
                n = nidx[j]
                if armed[n]:
                    nj += cs[Cell.JNIM, n]
                    ni += cs[Cell.ISSP, n]
                    no += cs[Cell.OTHER, n] + cs[Cell.LAKE, n]
        fj = (cs[Cell.JNIM, c] + reach * nj) * (1.0 + gov_w * cs[Cell.GOV, c])
        fi = cs[Cell.ISSP, c] + reach * ni
        fo = cs[Cell.OTHER, c] + cs[Cell.LAKE, c] + reach * no
        # One side present: its share is w / w = 1.0 exactly and the others' 0 / w = 0.0, so
        # the contest (and its pow) is skipped, same numbers; see _sole. None present: code 5.
        n_present = (fs >= pmin) + (fj >= pmin) + (fi >= pmin) + (fo >= pmin)
        if n_present == 0:
            _ungoverned(cs, c)
            continue
        if n_present == 1 and m_safe:
            f, code = fo, 4.0
            if fs >= pmin:
                f, code = fs, 1.0
            elif fj >= pmin:
                f, code = fj, 2.0
            elif fi >= pmin:
                f, code = fi, 3.0
            if _sole(cs, c, f, code, thr):
                continue
        ws = fs**m if fs >= pmin else 0.0
        wj = fj**m if fj >= pmin else 0.0
        wi = fi**m if fi >= pmin else 0.0
        wo = fo**m if fo >= pmin else 0.0
        tot = ws + wj + wi + wo
        if tot <= 0:
            _ungoverned(cs, c)
            continue
        ss, sj, si, so = ws / tot, wj / tot, wi / tot, wo / tot
        cs[Cell.SHARE_STATE, c] = ss
        cs[Cell.SHARE_JNIM, c] = sj
        cs[Cell.SHARE_ISSP, c] = si
        cs[Cell.SHARE_OTHER, c] = so
        best, code = ss, 1.0
        if sj > best:
            best, code = sj, 2.0
        if si > best:
            best, code = si, 3.0
        if so > best:
            best, code = so, 4.0
        cs[Cell.HOLD, c] = code if best > thr else 0.0


SECTION = "Three Futures; The Counterterrorism Illusion"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.share_state", "cell.share_jnim", "cell.share_issp", "cell.share_other",
          "cell.hold")  # fmt: skip
