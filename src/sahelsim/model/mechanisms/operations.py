"""2. Clear and withdraw (article: "The Jihadist Adaptation").

Each state allocates its deployable force: ``garrison_share`` (share, default 0.6) guards urban
cores (regime survival first), the rest runs ``ops_per_10k`` clearing operations per 10,000
deployable (default 2) against the cells with most insurgents. Deployable = national pool
x ``state_force_scale`` + joint force + intervention force + Russians not posted to cities.
In an operation cell ``disperse_frac`` (default 0.6) of the insurgents flee to neighbouring
cells; the force leaves at the end of the month, and from then on ``return_frac`` (default 0.5
per month) of those cleared fighters come back from the neighbours. Every month ``move_frac`` (default 0.15) of
fighters move among a cell and its neighbours towards attractive cells (population, jihadist
governance, no state forces), which brings them back once a force has left. Militias
(VDP, Dozos...) deploy where insurgents are. The national pool recovers 2 % a month towards its
nominal size (recruitment of soldiers).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp_

from ..context import Ctx
from ..state import State


def _spread(out: np.ndarray, adj_norm: sp_.csr_matrix) -> np.ndarray:
    """Send each cell's ``out`` equally to its neighbours: (M, C) → (M, C)."""
    return np.asarray((adj_norm.T @ out.T).T)


def apply(s: State, ctx: Ctx) -> None:
    sp, p, f = ctx.space, ctx.p, ctx.flows
    M, C = s.jnim.shape
    nominal = np.zeros(sp.n_countries)
    for name, v in (("MLI", p.force_mli), ("BFA", p.force_bfa), ("NER", p.force_ner)):
        nominal[sp.countries.index(name)] = v
    s.pool += 0.02 * (nominal[None, :] - s.pool)
    scale = ctx.lever("state_force_scale")[None, :]
    extra = s.joint + ctx.lever("intervention_force")[None, :]
    russia_ops = s.russia * (1 - p.russia_capital_share)
    deploy = s.pool * scale + extra + russia_ops
    garrison = p.garrison_share * deploy
    ops_force = deploy - garrison
    # garrisons in urban cores, by population
    urban_w = sp.urban * sp.pop0
    wk = urban_w @ ctx.onehot
    gfrac = np.where(
        (sp.country >= 0) & (wk[sp.country] > 0), urban_w / np.maximum(wk[sp.country], 1e-9), 0.0
    )
    extra_share = np.where(deploy > 0, extra / np.maximum(deploy, 1e-9), 0.0)
    f.state_cell[:] = ctx.by_cell(garrison * (1 - extra_share)) * gfrac
    f.extra_cell[:] = ctx.by_cell(garrison * extra_share) * gfrac
    # clearing operations on the most active cells of each country (not under an accord)
    strength = (s.jnim + s.issp) * (1 - s.accord)
    n_ops = np.maximum(np.round(p.ops_per_10k * ops_force / 1e4), 0).astype(int)  # (M, K)
    op = np.zeros((M, C))
    for k in range(sp.n_countries):
        idx = np.nonzero(sp.country == k)[0]
        nmax = int(n_ops[:, k].max()) if idx.size else 0
        if nmax == 0:
            continue
        nmax = min(nmax, idx.size)
        sub = strength[:, idx]
        top = (
            np.argpartition(-sub, nmax - 1, axis=1)[:, :nmax]
            if nmax < idx.size
            else np.tile(np.arange(idx.size), (M, 1))
        )
        vals = np.take_along_axis(sub, top, axis=1)
        order = np.argsort(-vals, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        vals = np.take_along_axis(vals, order, axis=1)
        keep = (np.arange(top.shape[1])[None, :] < n_ops[:, k : k + 1]) & (vals > 0)
        rows = np.repeat(np.arange(M), top.shape[1])[keep.ravel()]
        op[rows, idx[top.ravel()[keep.ravel()]]] = 1.0
    f.op[:] = op
    n_real = ctx.to_country(op)
    per_op = np.where(n_real > 0, ops_force / np.maximum(n_real, 1), 0.0)
    share_nat = np.where(deploy > 0, s.pool * scale / np.maximum(deploy, 1e-9), 0.0)
    f.state_cell += op * ctx.by_cell(per_op * share_nat)
    f.extra_cell += op * ctx.by_cell(
        per_op * np.where(deploy > 0, extra / np.maximum(deploy, 1e-9), 0.0)
    )
    f.russia_cell += op * ctx.by_cell(
        per_op * np.where(deploy > 0, russia_ops / np.maximum(deploy, 1e-9), 0.0)
    )
    # militias where insurgents are, by population
    mw = sp.pop0[None, :] * ((s.jnim + s.issp) > 1)
    mk = ctx.to_country(mw)
    f.militia_cell[:] = ctx.by_cell(s.militia / np.maximum(mk, 1e-9)) * mw
    # dispersal out of cleared cells; the dispersed remember where they came from
    for arr, away in ((s.jnim, s.jnim_away), (s.issp, s.issp_away)):
        out = arr * op * p.disperse_frac
        arr -= out
        arr += _spread(out, sp.adj_norm)
        away += out
        # where no operation runs, a share of the cleared fighters comes back from the
        # neighbours (as many as are still there)
        ret = away * (1 - op) * p.return_frac
        want = _spread(ret, sp.adj_norm)  # fighters to take out of each neighbour
        avail = np.where(want > 0, np.minimum(want, arr) / np.maximum(want, 1e-12), 0.0)
        back = ret * np.asarray((sp.adj_norm @ avail.T).T)
        arr -= want * avail
        arr += back
        away -= ret
    # movement towards attractive cells (and back once forces have left)
    present = f.state_cell + f.militia_cell + f.russia_cell + f.extra_cell
    attract = (
        np.sqrt(sp.pop0 / max(sp.pop0.mean(), 1.0))[None, :] * (1 + s.gov) / (1 + present / 100.0)
    )
    w = sp.adj + sp_.identity(C, format="csr")
    denom = np.asarray((w @ attract.T).T)  # (M, C): sum of attractiveness over i's neighbourhood
    for arr in (s.jnim, s.issp):
        out = arr * p.move_frac
        inflow = attract * np.asarray((w @ (out / np.maximum(denom, 1e-12)).T).T)
        arr += inflow - out
    np.maximum(s.jnim, 0.0, out=s.jnim)
    np.maximum(s.issp, 0.0, out=s.issp)
