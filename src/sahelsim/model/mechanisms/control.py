"""8. Territorial control (MODEL.md 3.8; article: "Three Futures": governments reduced to
urban cores while others hold the periphery; the Malian state at perhaps a fifth of its
territory, "The Counterterrorism Illusion").

A Tullock contest over effective strengths gives each side's share of influence in a cell:

    F_state = forces + militia + Russians + joint/intervention + admin_presence * services
    F_jnim  = J * (1 + gov_strength * gov),   F_issp = I_s
    share_i = F_i^m / sum_j F_j^m,   m = contest_exponent

A side holds the cell when its share exceeds ``hold_threshold`` (default 0.6); otherwise the
cell is contested. Codes: 0 contested, 1 state, 2 JNIM, 3 ISSP. A cell where nobody has any
strength counts as the state's (shares 1, 0, 0).
"""

from __future__ import annotations

from numba import njit

from sahelsim.model.cellsums import state_side_presence
from sahelsim.model.layout import Cell, P


@njit(cache=True)
def member(key, t, state, flows, geog, drivers, p):
    cs, fl = state.cells, flows.cells
    m = p[P.CONTEST_EXPONENT]
    thr = p[P.HOLD_THRESHOLD]
    for c in range(cs.shape[1]):
        fs = state_side_presence(fl, c)
        fs += p[P.ADMIN_PRESENCE] * cs[Cell.SERVICES, c]
        fj = cs[Cell.JNIM, c] * (1.0 + p[P.GOV_STRENGTH] * cs[Cell.GOV, c])
        fi = cs[Cell.ISSP, c]
        if (fj + fi) * 1000.0 < fs:  # insurgents negligible: shares (1, 0, 0) to < 1e-4
            cs[Cell.SHARE_STATE, c] = 1.0
            cs[Cell.SHARE_JNIM, c] = 0.0
            cs[Cell.SHARE_ISSP, c] = 0.0
            cs[Cell.HOLD, c] = 1.0
            continue
        ws = fs**m if fs > 0 else 0.0
        wj = fj**m if fj > 0 else 0.0
        wi = fi**m if fi > 0 else 0.0
        tot = ws + wj + wi
        if tot <= 0:
            ss, sj, si = 1.0, 0.0, 0.0
        else:
            ss, sj, si = ws / tot, wj / tot, wi / tot
        cs[Cell.SHARE_STATE, c] = ss
        cs[Cell.SHARE_JNIM, c] = sj
        cs[Cell.SHARE_ISSP, c] = si
        best, code = ss, 1.0
        if sj > best:
            best, code = sj, 2.0
        if si > best:
            best, code = si, 3.0
        cs[Cell.HOLD, c] = code if best > thr else 0.0


SECTION = "Three Futures; The Counterterrorism Illusion"  # article section(s)
#: Fields the kernel writes (qualified names of the field table).
WRITES = ("cell.share_state", "cell.share_jnim", "cell.share_issp", "cell.hold")  # fmt: skip
