"""Conformance battery: every mechanism of the registry, and every shipped scenario.

For each registered mechanism (the registry is the list the step runs, so a new mechanism joins
the battery by being registered):

* its declared ``WRITES`` are honest: run alone on an active state, it changes nothing else;
* switched off (everything else on), the fields only it writes stay at their initial values;
* switched on, its documented qualitative effect shows (:data:`EFFECTS`, one check each; a
  mechanism without a check fails the battery).

Every shipped scenario loads, runs a few months on the synthetic grid and keeps the invariants.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from numba.core.errors import NumbaExperimentalFeatureWarning

from sahelsim.core.canon import month_id
from sahelsim.model import layout as L
from sahelsim.model.engine import Record, _member_month
from sahelsim.model.layout import Lever
from sahelsim.model.params import Params
from sahelsim.model.registry import MECHANISMS, REGISTRY
from sahelsim.model.rng import member_keys
from sahelsim.model.space import Space
from sahelsim.model.state import initial_state
from sahelsim.scenarios.run import run_scenario
from sahelsim.scenarios.scenario import list_scenarios, load_scenario
from sahelsim.scenarios.setup import build_drivers

M = 4
START = int(month_id(2024, 6))
WARM = 18  # months of the full model before the battery month: an active state
_ROWS = {
    "cell": L.CELL_NAMES,
    "ctry": L.CTRY_NAMES,
    "flow": L.FLOW_NAMES,
    "flowk": L.FLOWK_NAMES,
    "unit": L.UNIT_NAMES,
}


class Run:
    """Members advanced month by month through the compiled step with chosen switches."""

    def __init__(self, space: Space, months: int = WARM + 1) -> None:
        p = Params.default()
        self.space = space
        sc = load_scenario("acceleration")
        flags = {"coup_rule": "transition", "alliance_expansion": True}
        d = build_drivers(space, START, months, levers=sc.lever_series(START, months),
                          flags=flags, projection_start=START)  # fmt: skip
        self.drv, self.flags, self.lev = d.packed()
        self.g = space.kernel_arrays()
        self.p = p.vector()
        self.keys = member_keys(3, np.arange(M))
        s0 = initial_state(space, p, M, START)
        self.cells, self.ctry, self.growth, self.units = s0.cells, s0.ctry, s0.growth_cum, s0.units
        self.fl = np.zeros((M, L.N_FLOW_FIELDS, space.n_cells))
        self.fk = np.zeros((M, L.N_FLOWK_FIELDS, space.n_countries))

    def month(self, t: int, on: set[str], lev: np.ndarray | None = None) -> None:
        sw = np.array([name in on for name in MECHANISMS])
        d = L.MonthDrivers(self.drv[t], self.flags[t], self.lev[t] if lev is None else lev)
        with warnings.catch_warnings():  # first-class function types (compile time only)
            warnings.simplefilter("ignore", NumbaExperimentalFeatureWarning)
            for m in range(M):
                s = L.MemberState(self.cells[m], self.ctry[m], self.growth[m : m + 1],
                                  self.units[m])  # fmt: skip
                f = L.Flows(self.fl[m], self.fk[m])
                _member_month(self.keys[m], START + t, s, f, self.g, d, self.p, sw)

    def kernel(self, name: str, t: int, lev: np.ndarray) -> None:
        """Only ``name``'s kernel, on the current state and flows (flows are not zeroed)."""
        d = L.MonthDrivers(self.drv[t], self.flags[t], lev)
        k = REGISTRY[MECHANISMS.index(name)].kernel
        for m in range(M):
            s = L.MemberState(self.cells[m], self.ctry[m], self.growth[m : m + 1], self.units[m])
            k(self.keys[m], START + t, s, L.Flows(self.fl[m], self.fk[m]), self.g, d, self.p)

    def snapshot(self) -> dict[str, np.ndarray]:
        out = {"state.growth": self.growth.copy()}
        for kind, arr in (("cell", self.cells), ("ctry", self.ctry), ("flow", self.fl),
                          ("flowk", self.fk), ("unit", self.units)):  # fmt: skip
            for i, n in enumerate(_ROWS[kind]):
                out[f"{kind}.{n}"] = arr[:, i].copy()
        return out


@pytest.fixture(scope="module")
def space():
    return Space.synthetic(rows=8, cols=12, seed=4)


def _battery_lever(run: Run) -> np.ndarray:
    lev = run.lev[WARM].copy()
    lev[Lever.NEGOTIATION_PROPENSITY, : L.N_CORE] = 1.0  # accords can form this month
    return lev


@pytest.fixture(scope="module")
def before_each(space):
    """Per mechanism: (state and flows just before it runs in the battery month, just after)."""
    run = Run(space)
    for t in range(WARM):
        run.month(t, set(MECHANISMS))
    lev = _battery_lever(run)
    run.fl[:] = 0.0
    run.fk[:] = 0.0
    out = {}
    for mech in REGISTRY:  # step order: each sees what the earlier ones wrote this month
        b = run.snapshot()
        run.kernel(mech.name, WARM, lev)
        out[mech.name] = (b, run.snapshot(), lev)
    return out


def _sole_writes() -> dict[str, set[str]]:
    writers: dict[str, set[str]] = {}
    for m in REGISTRY:
        for w in m.writes:
            writers.setdefault(w, set()).add(m.name)
    return {m.name: {w for w in m.writes if writers[w] == {m.name}} for m in REGISTRY}


# -- documented effects: (before, after, lever array of the month) -> assertion ------------------
def _sum(x, *names):
    return sum(x[n] for n in names)


def _schedule(b, a, lev, run):
    want = np.clip(run.drv[WARM][L.Drv.EXTERNAL] + 0.3 * b["ctry.transition"], 0, 1)
    np.testing.assert_allclose(a["ctry.external"], want)


def _alliance(b, a, lev, run):
    total = lev[Lever.JOINT_FORCE, : L.N_CORE].max()
    assert total > 0
    np.testing.assert_allclose(a["ctry.joint"][:, : L.N_CORE].sum(axis=1), total)


def _patron(b, a, lev, run):
    np.testing.assert_array_equal(a["ctry.russia"], np.broadcast_to(lev[Lever.RUSSIA_PERSONNEL],
                                                                    a["ctry.russia"].shape))  # fmt: skip
    present = a["ctry.russia"][:, : L.N_CORE] > 0
    assert present.any()
    assert (a["ctry.dependency"] >= b["ctry.dependency"]).all()
    assert (a["ctry.dependency"][:, : L.N_CORE][present] > b["ctry.dependency"][:, : L.N_CORE][
        present]).all()  # fmt: skip
    assert a["flow.russia_cell"].sum() > 0


def _hostile(x, lev, country):
    peace = np.where(country >= 0, lev[Lever.NORTHERN_ACCORD][np.maximum(country, 0)], 0.0)
    return _sum(x, "cell.jnim", "cell.issp", "cell.lake") + x["cell.other"] * (1.0 - peace)


def _operations(b, a, lev, run):
    op = a["flow.op"] > 0
    assert op.any() and (a["flow.state_cell"] > 0).any()
    # each country's operations go to its most hostile cells (none under an accord here)
    country = run.space.country
    for m in range(M):
        for k in range(L.N_CORE):
            ops = op[m] & (country == k)
            rest = ~op[m] & (country == k) & (b["cell.accord"][m] == 0)
            h = _hostile(b, lev, country)[m]
            if ops.any() and rest.any() and h[ops].min() > 0:
                assert h[ops].min() >= h[rest].max() * 0.999


def _unit_sums(a, side):
    """(members, cells) sums of the strengths of the active units of ``side``."""
    want = np.zeros_like(a["cell.jnim"])
    for m, u in zip(*np.nonzero(a["unit.cell"] >= 0), strict=True):
        if L.GROUP_SIDE[int(a["unit.group"][m, u])] == side:
            want[m, int(a["unit.cell"][m, u])] += a["unit.strength"][m, u]
    return want


def _mobility(b, a, lev, run):
    active = a["unit.cell"] >= 0
    assert active.any()
    moved = active & (b["unit.cell"] >= 0) & (a["unit.cell"] != b["unit.cell"])
    assert moved.any()
    # a move goes to a neighbouring cell
    adj = run.space.adj.toarray() > 0
    for m, u in zip(*np.nonzero(moved), strict=True):
        assert adj[int(b["unit.cell"][m, u]), int(a["unit.cell"][m, u])]
    # cell fields are the sums of the units
    for side, name in enumerate(L.SIDES):
        want = _unit_sums(a, side)
        np.testing.assert_allclose(a[f"cell.{name}"], want)
        np.testing.assert_allclose(a[f"flow.pre_{name}"], want)


def _franchise(b, a, lev, run):
    active = a["unit.cell"] >= 0
    assert (a["unit.strength"][active] >= Params.default().unit_min).all()
    for side, name in enumerate(L.SIDES):
        np.testing.assert_allclose(a[f"cell.{name}"], _unit_sums(a, side))
    # losses and recruits of the month reach the units: totals follow the cell fields
    np.testing.assert_allclose(_sum(a, *(f"cell.{n}" for n in L.SIDES)).sum(),
                               a["unit.strength"][active].sum())  # fmt: skip


def _accords(b, a, lev, run):
    new = (a["cell.accord"] > 0) & (b["cell.accord"] == 0)
    assert new.any()
    assert (b["cell.share_jnim"][new] > 0.5).all()
    assert (a["cell.accord"][b["cell.hold"] == 1.0] == 0).all()


def _combat(b, a, lev, run):
    assert _sum(a, "flow.deaths_sb", "flow.deaths_ns").sum() > 0
    fighters = lambda x: _sum(x, "cell.jnim", "cell.issp").sum()  # noqa: E731
    assert fighters(a) < fighters(b)
    assert a["flowk.state_loss"].sum() > 0


def _civilian_harm(b, a, lev, run):
    killed = _sum(a, "flow.civ_state", "flow.civ_jnim", "flow.civ_issp", "flow.civ_other")
    assert killed.sum() > 0
    np.testing.assert_allclose(b["cell.pop"] - a["cell.pop"], killed)
    np.testing.assert_allclose(a["cell.dead_civ"] - b["cell.dead_civ"], killed)


def _grievance(b, a, lev, run):
    harmed = a["flow.civ_state"] > 0
    decayed = b["cell.grievance"] * (1.0 - Params.default().grievance_decay)
    assert harmed.any() and (a["cell.grievance"][harmed] > decayed[harmed]).all()
    np.testing.assert_allclose(a["cell.grievance"][~harmed], decayed[~harmed])


def _regeneration(b, a, lev, run):
    assert a["flow.recruits"].sum() > 0
    assert not np.array_equal(a["cell.jnim"], b["cell.jnim"])


def _governance(b, a, lev, run):
    dom = (b["cell.share_jnim"] > 0.5) & (b["cell.gov"] < 1)
    assert dom.any() and (a["cell.gov"][dom] > b["cell.gov"][dom]).all()
    rest = ~(b["cell.share_jnim"] > 0.5) & (b["cell.gov"] > 0)
    assert (a["cell.gov"][rest] < b["cell.gov"][rest]).all()


def _control(b, a, lev, run):
    sh = np.stack([a["cell.share_state"], a["cell.share_jnim"], a["cell.share_issp"],
                   a["cell.share_other"]])  # fmt: skip
    nobody = sh.sum(axis=0) == 0
    assert nobody.any()  # some cells are ungoverned
    np.testing.assert_allclose(sh.sum(axis=0)[~nobody], 1.0)
    thr = Params.default().hold_threshold
    want = np.where(sh.max(axis=0) > thr, sh.argmax(axis=0) + 1.0, 0.0)
    want = np.where(nobody, 5.0, want)
    np.testing.assert_array_equal(a["cell.hold"], want)
    assert len(np.unique(a["cell.hold"])) >= 3


def _displacement(b, a, lev, run):
    assert a["flow.displaced_new"].sum() > 0 and (a["ctry.refugees"] > b["ctry.refugees"]).any()
    people = lambda x: (_sum(x, "cell.pop", "cell.idp", "cell.dead_civ").sum(axis=1)  # noqa: E731
                        + x["ctry.refugees"].sum(axis=1) - x["state.growth"])  # fmt: skip
    np.testing.assert_allclose(people(a), people(b), rtol=1e-12)


def _regime(b, a, lev, run):
    deaths = _sum(a, "flow.deaths_sb", "flow.deaths_ns", "flow.civ_state", "flow.civ_jnim",
                  "flow.civ_issp", "flow.civ_other")  # fmt: skip
    np.testing.assert_array_equal(a["cell.deaths_last"], deaths)
    country = run.space.country
    for k in range(L.N_CORE):
        np.testing.assert_allclose(a["ctry.deaths_last_k"][:, k], deaths[:, country == k].sum(1))
    assert not np.array_equal(a["ctry.legitimacy"], b["ctry.legitimacy"])


EFFECTS = {
    "schedule": _schedule, "alliance": _alliance, "patron": _patron, "operations": _operations,
    "mobility": _mobility, "franchise": _franchise, "accords": _accords, "combat": _combat, "civilian_harm": _civilian_harm,
    "grievance": _grievance, "regeneration": _regeneration, "governance": _governance,
    "control": _control, "displacement": _displacement, "regime": _regime,
}  # fmt: skip


def test_every_registered_mechanism_is_in_the_battery():
    assert set(EFFECTS) == set(MECHANISMS)
    assert [m.order for m in REGISTRY] == list(range(len(REGISTRY)))
    for m in REGISTRY:
        assert m.section and m.doc and m.writes, m.name
        for w in m.writes:
            kind, _, name = w.partition(".")
            assert w == "state.growth" or name in _ROWS[kind], (m.name, w)
    sw = Params.default().with_switches(combat=False)
    assert (
        not sw.switch_vector()[MECHANISMS.index("combat")]
        and sw.switch_vector().sum() == len(MECHANISMS) - 1
    )


@pytest.mark.parametrize("name", MECHANISMS)
def test_mechanism_writes_only_what_it_declares(before_each, name):
    b, a, _ = before_each[name]
    declared = set(REGISTRY[MECHANISMS.index(name)].writes)
    changed = {k for k in b if not np.array_equal(a[k], b[k])}
    assert changed <= declared, f"{name} writes undeclared {sorted(changed - declared)}"


@pytest.mark.parametrize("name", MECHANISMS)
def test_mechanism_switched_on_shows_its_effect(before_each, space, name):
    b, a, lev = before_each[name]
    run = Run(space)
    EFFECTS[name](b, a, lev, run)


@pytest.mark.parametrize("name", MECHANISMS)
def test_mechanism_switched_off_leaves_its_fields_alone(space, name):
    sole = _sole_writes()[name]
    run = Run(space, months=6)
    init = run.snapshot()
    on = set(MECHANISMS) - {name}
    for t in range(6):
        run.month(t, on)
        now = run.snapshot()
        for field in sole:
            np.testing.assert_array_equal(now[field], init[field], err_msg=f"{name}: {field}")
    if name in ("combat", "civilian_harm", "displacement", "control"):
        assert sole, name  # these own outputs nobody else writes


@pytest.mark.parametrize("scenario", list_scenarios())
def test_every_shipped_scenario_runs_and_keeps_the_invariants(scenario):
    ds = run_scenario(scenario, synthetic=True, members=4, months=6, start="2025-06", seed=1,
                      spinup=False, record=Record(cells=("deaths", "hold", "idp")))  # fmt: skip
    assert ds.sizes["month"] == 6 and ds.attrs["scenario"] == scenario
    for v in ds.data_vars:
        assert np.isfinite(ds[v].values).all(), v
    for v in ("deaths_total", "deaths_state_based", "deaths_non_state", "deaths_one_sided",
              "idps", "refugees", "fighters_jnim", "fighters_issp", "coups", "cell_deaths",
              "cell_idp"):  # fmt: skip
        assert (ds[v] >= 0).all(), v
    terr = [ds[f"territory_{k}"] for k in ("state", "jnim", "issp", "contested", "other",
                                           "ungoverned")]  # fmt: skip
    for x in terr:
        assert ((x >= 0) & (x <= 1 + 1e-12)).all()
    np.testing.assert_allclose(sum(terr).values, 1.0, rtol=1e-9)
    np.testing.assert_allclose(ds.people_accounted, ds.people_initial_plus_growth, rtol=1e-9)
