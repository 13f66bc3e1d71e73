"""Mesa 3 baseline of the core rules of the sahelsim engine, for one ensemble member.

BENCHMARK-ONLY: Mesa is not a dependency of sahelsim. Install it into the environment with
``pip install 'mesa>=3.0,<4'`` to run this file.

This is the model written the way a Mesa user would write it: one agent per PRIO-GRID cell
(a ``CellAgent`` on an ``OrthogonalMooreGrid`` spanning the study area's bounding box, so the
Moore neighbourhood is the engine's 8-neighbour adjacency; checked against ``Space.adj``),
per-agent Python methods called with ``model.agents.do`` / ``shuffle_do``, scalar draws from
``model.random`` and a ``DataCollector`` of country totals every step.

It implements the cell-pool rules the engine had before its insurgents became discrete units
(fractions of fighters per cell); the work per cell-month is comparable, which is what the
throughput ratio needs. Each agent holds JNIM and ISSP fighters, residents and hosted displaced people. One monthly
step applies, in the engine's order (operations → combat → civilian harm → regeneration →
control → displacement):

* movement (operations.py ``move_frac`` rule): ``move_frac`` of each cell's fighters leave and
  are shared among the cell and its neighbours in proportion to their attractiveness
  ``sqrt(pop0 / mean pop0) * (1 + gov) / (1 + present / 100)``;
* combat (combat.py): stochastic Lanchester exchange against the state forces present, which
  here are a fixed garrison in urban cells (``garrison_share`` of each core country's nominal
  force, shared among its urban cells by population), plus JNIM-ISSP clashes;
* civilian harm (civilian_harm.py): means, over-dispersed compound counts, Pareto massacres
  attributed by mean harm, capped by residents;
* regeneration (regeneration.py): recruitment with the lognormal (sigma 0.3) noise from a
  uniform, headroom and attrition;
* control (control.py): Tullock contest shares and the hold code (needed by displacement);
* displacement (displacement.py, borders closed): residents leave with the deaths and
  insurgent-control rates and go to the state-held urban cells of their country (the capital
  when none is held); returns and population growth.

Left out (the engine has them, this baseline does not): clearing operations, dispersal and
return of cleared fighters, militias, Russians, joint and intervention forces, accords,
grievance, governance and services dynamics (``gov`` and ``services`` stay at their initial
values, grievance at 0), the regime, patron and alliance mechanisms, refugees abroad, and
depletion of the garrison by combat losses.

    python benchmarks/mesa_baseline.py [--months 24] [--seed 1] [--synthetic]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from statistics import NormalDist

try:
    import mesa
    from mesa.discrete_space import CellAgent, OrthogonalMooreGrid
except ImportError:  # pragma: no cover - depends on the environment
    mesa = None
    CellAgent = object  # lets the module import so the error below is the one users see
    OrthogonalMooreGrid = None

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from sahelsim.core.canon import gid_to_row_col  # noqa: E402
from sahelsim.model.layout import CORE  # noqa: E402
from sahelsim.model.params import Params  # noqa: E402
from sahelsim.model.space import Space  # noqa: E402

DATA = Path("/work/shared/data")
_INV_CDF = NormalDist().inv_cdf


def require_mesa() -> None:
    if mesa is None:
        raise SystemExit(
            "benchmarks/mesa_baseline.py needs Mesa 3 (a benchmark-only dependency, not part of "
            "sahelsim): install it with  pip install 'mesa>=3.0,<4'"
        )


# -- scalar versions of the engine's random transforms --------------------------------------
def lognormal_factor(u: float, sigma: float) -> float:
    z = _INV_CDF(min(max(u, 1e-7), 1 - 1e-7))
    return math.exp(sigma * z - 0.5 * sigma * sigma)


def stochastic_round(x: float, u: float) -> float:
    return float(math.floor(x + u))


def compound_count(mean: float, u_noise: float, u_round: float, sigma: float) -> float:
    return stochastic_round(max(mean, 0.0) * lognormal_factor(u_noise, sigma), u_round)


def pareto(u: float, x_min: float, alpha: float) -> float:
    return x_min * min(max(1.0 - u, 1e-9), 1.0) ** (-1.0 / alpha)


# -- agents ---------------------------------------------------------------------------------
class SahelCell(CellAgent):
    """One PRIO-GRID cell: fighters, residents and displaced people."""

    def __init__(self, model: SahelModel, i: int, cell) -> None:
        super().__init__(model)
        sp = model.space_data
        self.cell = cell
        self.index = i
        self.country = int(sp.country[i])
        self.urban = bool(sp.urban[i])
        self.pop0 = float(sp.pop0[i])
        self.area = float(sp.area_km2[i])
        self.growth = float(sp.growth[i])
        init = model.init
        self.jnim = float(init["jnim"][i])
        self.issp = float(init["issp"][i])
        self.pop = float(sp.pop0[i])
        self.idp = 0.0
        self.gov = float(init["gov"][i])  # fixed in this baseline
        self.services = float(init["services"][i])  # fixed in this baseline
        self.grievance = 0.0  # fixed in this baseline
        self.garrison = float(init["garrison"][i])  # state forces present, fixed
        self.op = 0.0  # no clearing operations in this baseline
        self.militia = 0.0
        self.russia = 0.0
        self.share_state, self.share_jnim, self.share_issp = 1.0, 0.0, 0.0
        self.hold = 1
        self.dead_civ = 0.0
        self.neighbours: list[SahelCell] = []
        self.reset_month()

    def reset_month(self) -> None:
        self.deaths_sb = self.deaths_ns = 0.0
        self.civ_state = self.civ_jnim = self.civ_issp = 0.0
        self.leave = 0.0
        self.in_jnim = self.in_issp = 0.0
        self.attract = self.denom = 0.0

    # -- movement (operations.py) ------------------------------------------------------------
    def compute_attractiveness(self) -> None:
        present = self.garrison + self.militia + self.russia
        self.attract = (
            math.sqrt(self.pop0 / self.model.mean_pop0) * (1 + self.gov) / (1 + present / 100.0)
        )

    def send_fighters(self) -> None:
        p = self.model.p
        self.denom = self.attract + sum(n.attract for n in self.neighbours)
        out_j = self.jnim * p["move_frac"]
        out_i = self.issp * p["move_frac"]
        self.jnim -= out_j
        self.issp -= out_i
        if out_j <= 0 and out_i <= 0:
            return
        d = max(self.denom, 1e-12)
        for target in (self, *self.neighbours):
            share = target.attract / d
            target.in_jnim += out_j * share
            target.in_issp += out_i * share

    def receive_fighters(self) -> None:
        self.jnim = max(self.jnim + self.in_jnim, 0.0)
        self.issp = max(self.issp + self.in_issp, 0.0)

    # -- the cell-local mechanisms ---------------------------------------------------------
    def step(self) -> None:
        self.fight()
        self.harm_civilians()
        self.regenerate()
        self.contest_control()
        self.flee()

    def fight(self) -> None:
        p, rnd = self.model.p, self.model.random
        S = self.garrison + self.militia + self.russia
        J, Is = self.jnim, self.issp
        I = J + Is  # noqa: E741
        if I <= 0:
            return
        noise = lognormal_factor(rnd.random(), p["overdispersion"])
        ur = rnd.random()
        ins = st = 0.0
        if S > 0:
            e = p["engage_rate"] * S * I / max(S + I, 1e-9) * (1 + 2 * self.op)
            ins = min(stochastic_round(p["kill_state_on_ins"] * e * noise, ur), I)
            st = min(stochastic_round(p["kill_ins_on_state"] * e * noise, 1 - ur), S)
            jshare = J / max(I, 1e-9)
            J -= ins * jshare
            Is -= ins * (1 - jshare)
        both = min(J, Is)
        ns = min(stochastic_round(p["jnim_issp_clash"] * both * noise, ur), 2 * both)
        self.jnim = max(J - ns / 2, 0.0)
        self.issp = max(Is - ns / 2, 0.0)
        self.deaths_sb += ins + st
        self.deaths_ns += ns
        if self.country >= 0:
            self.model.state_losses[self.country] += st

    def harm_civilians(self) -> None:
        p, rnd = self.model.p, self.model.random
        I = self.jnim + self.issp  # noqa: E741
        if I <= 0 and self.op <= 0:  # no harm without armed actors (all means are 0)
            return
        active = 1.0 if (I > 1 or self.op > 0) else 0.0
        dens = math.sqrt(max(self.pop, 0.0) / max(self.area, 1.0) / 100.0)
        restraint = 0.0
        exposure = (
            self.garrison * self.op + 0.5 * self.militia + p["harm_russia_factor"] * self.russia
        )
        ext = self.model.external[self.country] if self.country >= 0 else 0.0
        m_state = p["harm_state"] * exposure * dens * (1 - restraint)
        m_state *= (1 - p["external_harm_cut"] * ext) * active
        pres = self.garrison + self.militia + self.russia
        mil_share = self.militia / pres if pres > 0 else 0.0
        reprisal = 1 + p["harm_reprisal"] * mil_share
        m_j = p["harm_jnim"] * self.jnim * dens * reprisal
        m_i = p["harm_issp"] * self.issp * dens * reprisal
        sigma = p["overdispersion"]
        d_state = compound_count(m_state, rnd.random(), rnd.random(), sigma)
        d_jih = compound_count(m_j + m_i, rnd.random(), rnd.random(), sigma)
        # mass-casualty event
        prob = p["massacre_rate"] * active
        u = rnd.random()
        if u < prob:
            size = math.floor(
                min(pareto(rnd.random(), p["massacre_min"], p["massacre_alpha"]), 0.05 * self.pop)
            )
            # the same uniform decides the perpetrator: the state side with its share of harm
            tot_mean = m_state + m_j + m_i
            by_state = tot_mean > 0 and u < prob * (m_state / tot_mean)
            d_state, d_jih = (d_state + size, d_jih) if by_state else (d_state, d_jih + size)
        total = d_state + d_jih
        if total > self.pop:
            scale = max(self.pop, 0.0) / max(total, 1e-9)
            d_state = math.floor(d_state * scale)
            d_jih = math.floor(d_jih * scale)
        jn = m_j / (m_j + m_i) if m_j + m_i > 0 else 0.5
        d_jnim = float(round(d_jih * jn))
        self.civ_state += d_state
        self.civ_jnim += d_jnim
        self.civ_issp += d_jih - d_jnim
        self.pop -= d_state + d_jih
        self.dead_civ += d_state + d_jih

    def regenerate(self) -> None:
        p, rnd = self.model.p, self.model.random
        idp_share = self.idp / max(self.pop + self.idp, 1.0)
        drive = (
            1
            + p["recruit_grievance"] * self.grievance
            + p["recruit_services"] * (1 - self.services)
            + p["recruit_governance"] * self.gov
            + p["recruit_displacement"] * idp_share
        )
        inclusion = 0.0
        cap = p["recruitable_share"] * max(self.pop, 0.0)
        headroom = min(max(1 - (self.jnim + self.issp) / max(cap, 1.0), 0.0), 1.0)
        noise = lognormal_factor(rnd.random(), 0.3)
        base = p["recruit_base"] * drive * (1 - 0.5 * inclusion) * headroom * noise
        rj = base * self.jnim
        ri = base * p["issp_recruit_factor"] * self.issp
        self.jnim += rj - p["attrition"] * self.jnim
        self.issp += ri - p["attrition"] * self.issp

    def contest_control(self) -> None:
        p = self.model.p
        fs = self.garrison + self.militia + self.russia + p["admin_presence"] * self.services
        fj = self.jnim * (1 + p["gov_strength"] * self.gov)
        fi = self.issp
        m = p["contest_exponent"]
        ws, wj, wi = (max(x, 0.0) ** m for x in (fs, fj, fi))
        tot = ws + wj + wi
        if tot <= 0:
            self.share_state, self.share_jnim, self.share_issp = 1.0, 0.0, 0.0
        else:
            self.share_state, self.share_jnim, self.share_issp = ws / tot, wj / tot, wi / tot
        shares = (self.share_state, self.share_jnim, self.share_issp)
        best = max(range(3), key=shares.__getitem__)
        self.hold = best + 1 if shares[best] > p["hold_threshold"] else 0

    def flee(self) -> None:
        p = self.model.p
        if self.country < 0:
            return
        deaths = self.deaths_sb + self.deaths_ns + self.civ_state + self.civ_jnim + self.civ_issp
        per10k = deaths / (max(self.pop, 1.0) / 1e4)
        rate = min(
            0.3,
            p["flee_per_death"] * per10k + p["flee_control"] * (self.share_jnim + self.share_issp),
        )
        self.leave = math.floor(max(self.pop, 0.0) * rate)
        self.pop -= self.leave  # borders closed: every leaver stays in the country

    def settle(self) -> None:
        """Receive this month's displaced, then returns and growth."""
        p, model = self.model.p, self.model
        if self.country >= 0 and model.dest_weight_k[self.country] > 0:
            w = model.dest_weight(self)
            self.idp += w / model.dest_weight_k[self.country] * model.internal_k[self.country]
        ret = self.idp * p["idp_return"]
        self.idp -= ret
        self.pop += ret
        g = self.pop * self.growth
        self.pop += g
        model.growth_cum += g


# -- model ----------------------------------------------------------------------------------
class SahelModel(mesa.Model if mesa is not None else object):
    """One ensemble member of the core rules on the study grid."""

    def __init__(self, space: Space, params: Params | None = None, seed: int = 0) -> None:
        require_mesa()
        super().__init__(seed=seed)
        self.space_data = space
        self.p = dict((params or Params.default()).values)
        self.countries = space.countries
        K = space.n_countries
        self.mean_pop0 = max(float(space.pop0.mean()), 1.0)
        self.capital = [int(c) for c in space.capital]
        self.external = [0.8] * K  # initial external constraint (only scales state-side harm)
        self.state_losses = [0.0] * K
        self.growth_cum = 0.0  # people added by growth (residents + idps + dead = pop0 + this)
        self.internal_k = [0.0] * K
        self.dest_weight_k = [0.0] * K
        self.init = initial_cells(space, self.p)
        # the grid: the bounding box of the study cells, one agent per study cell
        row, col = gid_to_row_col(space.gid)
        r0, c0 = int(row.min()), int(col.min())
        dims = (int(row.max()) - r0 + 1, int(col.max()) - c0 + 1)
        self.grid = OrthogonalMooreGrid(dims, torus=False, capacity=1, random=self.random)
        self.cells: list[SahelCell] = []
        for i in range(space.n_cells):
            cell = self.grid[(int(row[i]) - r0, int(col[i]) - c0)]
            self.cells.append(SahelCell(self, i, cell))
        for a in self.cells:  # neighbours = agents in the Moore neighbourhood
            a.neighbours = list(a.cell.neighborhood.agents)
        _check_adjacency(self.cells, space)
        reporters = {}
        for k, name in enumerate(self.countries):
            if name not in CORE:
                continue
            for var in ("jnim", "issp", "deaths", "civilian_deaths", "idps", "residents"):
                reporters[f"{var}_{name}"] = lambda m, k=k, var=var: m.totals[k][var]
        self.datacollector = mesa.DataCollector(model_reporters=reporters)
        self.totals = self._country_totals()

    def dest_weight(self, a: SahelCell) -> float:
        if self.dest_use_capital[a.country]:
            return 1.0 if a.index == self.capital[a.country] else 0.0
        return a.pop0 if a.urban and a.hold == 1 else 0.0

    def step(self) -> None:
        self.agents.do("reset_month")
        # movement: attractiveness, scatter to the neighbourhood, gather
        self.agents.do("compute_attractiveness")
        self.agents.do("send_fighters")
        self.agents.do("receive_fighters")
        # combat, civilian harm, regeneration, control, leaving: cell-local
        self.agents.shuffle_do("step")
        # displacement: leavers of each country go to its state-held urban cells
        K = len(self.countries)
        self.internal_k = [0.0] * K
        held = [0.0] * K
        for a in self.agents:
            if a.country >= 0:
                self.internal_k[a.country] += a.leave
                if a.urban and a.hold == 1:
                    held[a.country] += a.pop0
        self.dest_use_capital = [h <= 0 for h in held]
        self.dest_weight_k = [
            (1.0 if self.capital[k] >= 0 else 0.0) if self.dest_use_capital[k] else held[k]
            for k in range(K)
        ]
        self.agents.do("settle")
        self.totals = self._country_totals()
        self.datacollector.collect(self)

    def _country_totals(self) -> list[dict[str, float]]:
        keys = ("jnim", "issp", "deaths", "civilian_deaths", "idps", "residents")
        tot = [dict.fromkeys(keys, 0.0) for _ in self.countries]
        for a in self.agents:
            if a.country < 0:
                continue
            t = tot[a.country]
            civ = a.civ_state + a.civ_jnim + a.civ_issp
            t["jnim"] += a.jnim
            t["issp"] += a.issp
            t["deaths"] += a.deaths_sb + a.deaths_ns + civ
            t["civilian_deaths"] += civ
            t["idps"] += a.idp
            t["residents"] += a.pop
        return tot


def initial_cells(space: Space, p: dict[str, float]) -> dict[str, np.ndarray]:
    """The engine's initial fighters, governance and services (as in ``state.initial_state``)
    and the fixed urban garrisons (operations.py allocation at the nominal force)."""
    C, K = space.n_cells, space.n_countries
    dens = space.pop0 / np.maximum(space.area_km2, 1.0)
    remote = space.remoteness()  # the engine's initial-state geometry
    mli = space.country == CORE.index("MLI")
    ner = space.country == CORE.index("NER")
    w_j = np.where(mli, remote**2 * np.sqrt(dens + 1), 0.0)
    w_i = np.where(ner | mli, remote**2 * np.sqrt(dens + 1), 0.0) * np.where(ner, 1.0, 0.3)
    rank = dens.argsort().argsort() / max(C - 1, 1)
    services = np.where(space.core, 0.25 + 0.5 * rank, 0.5 + 0.3 * rank)
    services = np.where(space.urban, 0.9, services)
    nominal = np.zeros(K)
    for name in CORE:
        nominal[space.countries.index(name)] = p[f"force_{name.lower()}"]
    urban_w = space.urban * space.pop0
    wk = np.bincount(space.country[space.country >= 0], urban_w[space.country >= 0], minlength=K)
    kk = np.maximum(space.country, 0)
    gfrac = np.where((space.country >= 0) & (wk[kk] > 0), urban_w / np.maximum(wk[kk], 1e-9), 0.0)
    garrison = np.where(space.country >= 0, p["garrison_share"] * nominal[kk], 0.0) * gfrac
    return {
        # the cell-pool rules this baseline implements start with 4,000 JNIM and 300 IS Sahel
        # fighters spread by remoteness (the engine now starts from founding units instead)
        "jnim": 4000.0 * w_j / max(w_j.sum(), 1e-12),
        "issp": 300.0 * w_i / max(w_i.sum(), 1e-12),
        "gov": np.where(mli, 0.2 * remote, 0.0),
        "services": services,
        "garrison": garrison,
    }


def _check_adjacency(cells: list[SahelCell], space: Space) -> None:
    adj = space.adj.tocsr()
    for a in cells:
        mine = sorted(n.index for n in a.neighbours)
        theirs = sorted(adj.indices[adj.indptr[a.index] : adj.indptr[a.index + 1]].tolist())
        if mine != theirs:
            raise AssertionError(f"Mesa neighbourhood of cell {a.index} differs from Space.adj")


def load_space(data_dir: Path = DATA, synthetic: bool = False) -> Space:
    if not synthetic and data_dir.is_dir():
        from sahelsim.grid.build import build_grid
        from sahelsim.scenarios.setup import space_from_grid

        return space_from_grid(build_grid(data_dir), 2012.0)
    return Space.synthetic(rows=30, cols=40)


def run_mesa(
    space: Space,
    months: int,
    seed: int,
    *,
    params: Params | None = None,
    time_budget: float | None = None,
) -> dict:
    """Run the Mesa baseline for ``months`` monthly steps (or until ``time_budget`` seconds of
    stepping have passed). Returns wall times, steps, cells and final country totals."""
    require_mesa()
    t0 = time.perf_counter()
    model = SahelModel(space, params, seed)
    t1 = time.perf_counter()
    steps = 0
    while steps < months:
        model.step()
        steps += 1
        if time_budget is not None and time.perf_counter() - t1 > time_budget:
            break
    t2 = time.perf_counter()
    frame = model.datacollector.get_model_vars_dataframe()
    total = {k: float(frame[k].sum()) for k in frame.columns if k.startswith(("deaths_", "civ"))}
    final = {k: float(frame[k].iloc[-1]) for k in frame.columns if not k.startswith("deaths_")}
    final = {k: v for k, v in final.items() if not k.startswith("civilian_")}
    return {
        "mesa_version": mesa.__version__,
        "setup_seconds": t1 - t0,
        "wall_seconds": t2 - t1,
        "steps": steps,
        "cells": space.n_cells,
        "cell_months_per_second": steps * space.n_cells / max(t2 - t1, 1e-12),
        "final": final,
        "summed_over_months": total,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--synthetic", action="store_true", help="use Space.synthetic(30, 40)")
    a = ap.parse_args()
    require_mesa()
    space = load_space(synthetic=a.synthetic)
    print(json.dumps(run_mesa(space, a.months, a.seed), indent=1))


if __name__ == "__main__":
    main()
