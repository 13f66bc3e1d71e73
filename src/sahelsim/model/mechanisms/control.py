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

from sahelsim.model.layout import (
    F_EXTRA,
    F_MILITIA,
    F_RUSSIA,
    F_STATE,
    GOV,
    HOLD,
    ISSP,
    JNIM,
    P_ADMIN_PRESENCE,
    P_CONTEST_EXPONENT,
    P_GOV_STRENGTH,
    P_HOLD_THRESHOLD,
    SERV,
    SH_ISSP,
    SH_JNIM,
    SH_STATE,
)


@njit(cache=True)
def member(key, t, cs, ks, fl, fk, gc, p, D, G):
    m = p[P_CONTEST_EXPONENT]
    thr = p[P_HOLD_THRESHOLD]
    for c in range(cs.shape[1]):
        fs = fl[F_STATE, c] + fl[F_MILITIA, c] + fl[F_RUSSIA, c] + fl[F_EXTRA, c]
        fs += p[P_ADMIN_PRESENCE] * cs[SERV, c]
        fj = cs[JNIM, c] * (1.0 + p[P_GOV_STRENGTH] * cs[GOV, c])
        fi = cs[ISSP, c]
        if (fj + fi) * 1000.0 < fs:  # insurgents negligible: shares (1, 0, 0) to < 1e-4
            cs[SH_STATE, c] = 1.0
            cs[SH_JNIM, c] = 0.0
            cs[SH_ISSP, c] = 0.0
            cs[HOLD, c] = 1.0
            continue
        ws = fs**m if fs > 0 else 0.0
        wj = fj**m if fj > 0 else 0.0
        wi = fi**m if fi > 0 else 0.0
        tot = ws + wj + wi
        if tot <= 0:
            ss, sj, si = 1.0, 0.0, 0.0
        else:
            ss, sj, si = ws / tot, wj / tot, wi / tot
        cs[SH_STATE, c] = ss
        cs[SH_JNIM, c] = sj
        cs[SH_ISSP, c] = si
        best, code = ss, 1.0
        if sj > best:
            best, code = sj, 2.0
        if si > best:
            best, code = si, 3.0
        cs[HOLD, c] = code if best > thr else 0.0
