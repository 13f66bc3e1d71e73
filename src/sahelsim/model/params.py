"""Model parameters: every one with its unit, default, prior range, source and the article
section it comes from. ``Params`` is a frozen, validated bag of floats; ``switches`` turn whole
mechanisms on or off (all off = the state does not change).

Priors are deliberately wide where the literature gives no number; calibration
(:mod:`sahelsim.calibrate`, a later issue) narrows them against UCDP and UNHCR data.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

MECHANISMS = (
    "schedule", "operations", "combat", "regeneration", "civilian_harm", "grievance",
    "governance", "control", "displacement", "patron", "regime", "alliance", "accords",
)  # fmt: skip


@dataclass(frozen=True)
class ParamSpec:
    name: str
    default: float
    unit: str
    lo: float
    hi: float
    mechanism: str
    source: str
    section: str = ""


_S = "article"
SPECS: tuple[ParamSpec, ...] = (
    # -- forces ----------------------------------------------------------------------------
    ParamSpec("force_mli", 30000, "persons", 15000, 60000, "operations",
              "IISS Military Balance (Mali armed forces ~ 20-40k incl. gendarmerie)"),
    ParamSpec("force_bfa", 25000, "persons", 10000, 50000, "operations",
              "IISS Military Balance (BFA ~ 11k army + gendarmerie; VDP counted apart)"),
    ParamSpec("force_ner", 30000, "persons", 15000, 50000, "operations",
              "IISS Military Balance (Niger ~ 25-33k)"),
    ParamSpec("militia_bfa", 50000, "persons", 10000, 90000, "operations",
              "VDP recruitment drive 2022-23 (50,000 targeted; press)"),
    ParamSpec("militia_mli", 10000, "persons", 2000, 30000, "operations",
              "Dozo / Dan Na Ambassagou estimates (ICG)"),
    ParamSpec("militia_ner", 3000, "persons", 0, 10000, "operations", "local vigilante groups"),
    ParamSpec("militia_mobilisation", 5.0, "militia recruits per death in the country last month",
              0.0, 50.0, "operations", "Dan Na Ambassagou (2016), VDP (2020) grew with the "
              "violence; the militia_* figures are ceilings"),
    ParamSpec("garrison_share", 0.6, "share of pool", 0.3, 0.9, "operations",
              "regime-survival allocation (MODEL.md 3.2)", "The Jihadist Adaptation"),
    ParamSpec("ops_per_10k", 2.0, "operations per 10,000 deployable", 0.5, 6.0, "operations",
              "assumption: battalion-size clearing operations", "The Jihadist Adaptation"),
    ParamSpec("disperse_frac", 0.6, "share of insurgents", 0.2, 0.9, "operations",
              "insurgents disperse when cleared", "The Jihadist Adaptation"),
    ParamSpec("return_frac", 0.5, "share of cleared fighters returning per month", 0.05, 1.0,
              "operations", "insurgents return once the force has left",
              "The Jihadist Adaptation"),
    ParamSpec("move_frac", 0.15, "share per month", 0.02, 0.4, "operations",
              "insurgent mobility towards attractive cells (return after withdrawal)",
              "The Jihadist Adaptation"),
    # -- insurgents ------------------------------------------------------------------------
    ParamSpec("jnim_fighters0", 4000, "persons (Jan 2012)", 1000, 10000, "regeneration",
              "JNIM's precursors in 2012 (AQIM, Ansar Dine, MUJAO, al-Mourabitoun): a few "
              "thousand; ACSS puts JNIM at 6,000-7,000 today (FIELD.md)"),
    ParamSpec("issp_fighters0", 300, "persons (Jan 2012)", 0, 4000, "regeneration",
              "IS Sahel grew out of a MUJAO splinter from 2015: a few hundred at the start; "
              "ACSS 2,000-3,000 today (FIELD.md)"),
    ParamSpec("init_concentration", 4.0, "exponent on remoteness from the capital", 1.0, 8.0,
              "regeneration", "2012 fighters concentrated in northern Mali (assumption)"),
    ParamSpec("attrition", 0.025, "1/month", 0.005, 0.06, "regeneration",
              "article: about 2.5 % a month is sustainable", "The Counterterrorism Illusion"),
    ParamSpec("recruit_base", 0.022, "1/month", 0.0, 0.06, "regeneration",
              "set near attrition so strength is roughly stable at baseline",
              "The Counterterrorism Illusion"),
    ParamSpec("recruit_grievance", 1.0, "per grievance unit", 0.0, 4.0, "regeneration",
              "Deitchman / Kress-Szechtman collateral-harm feedback", "The Jihadist Adaptation"),
    ParamSpec("recruit_services", 0.5, "per unit of missing services", 0.0, 2.0, "regeneration",
              "governance vacuum", "The Jihadist Adaptation"),
    ParamSpec("recruit_governance", 0.5, "per unit of jihadist governance", 0.0, 2.0,
              "regeneration", "mature jihadist governance", "The Jihadist Adaptation"),
    ParamSpec("recruit_displacement", 1.0, "per displaced share", 0.0, 4.0, "regeneration",
              "displacement camps as recruiting grounds (assumption)",
              "Fragmentation's Feedback Loops"),
    ParamSpec("recruitable_share", 0.01, "fighters per resident (ceiling)", 0.002, 0.05,
              "regeneration", "assumption: bounded by the recruitable population"),
    ParamSpec("issp_recruit_factor", 0.8, "relative to JNIM", 0.3, 1.5, "regeneration",
              "ISSP recruits less, coerces more (assumption)"),
    # -- combat ----------------------------------------------------------------------------
    ParamSpec("engage_rate", 0.3, "1/month (engagement intensity on the harmonic mean of the sides)",
              0.01, 2.0, "combat", "stochastic Lanchester exchange (MODEL.md 3.3)"),
    ParamSpec("kill_state_on_ins", 0.3, "insurgent deaths per unit of engagement",
              0.01, 1.0, "combat", "assumption; calibrated on UCDP state-based deaths"),
    ParamSpec("kill_ins_on_state", 0.15, "state-side deaths per unit of engagement", 0.01, 1.0,
              "combat", "assumption; calibrated on UCDP state-based deaths"),
    ParamSpec("jnim_issp_clash", 0.01, "deaths per min(J, I) fighter-month", 0.0, 0.05, "combat",
              "JNIM-IS fighting since 2020 (UCDP non-state dyad IS - JNIM)"),
    ParamSpec("overdispersion", 0.9, "lognormal sigma of event intensity", 0.2, 1.8, "combat",
              "heavy-tailed event sizes (VIEWS: models under-dispersed)"),
    # -- civilian harm -----------------------------------------------------------------------
    ParamSpec("harm_state", 0.004, "civilian deaths per op-soldier-month at 100 people/km2",
              0.0, 0.03, "civilian_harm", "HRW 2024 documentation of army killings",
              "The Counterterrorism Illusion"),
    ParamSpec("harm_russia_factor", 3.0, "multiplier on state-side harm", 1.0, 8.0,
              "civilian_harm", "ACLED: > 71 % of Wagner activity targeted civilians (FIELD.md)",
              "The Russian Calculation"),
    ParamSpec("harm_jnim", 0.003, "civilian deaths per fighter-month", 0.0, 0.02, "civilian_harm",
              "UCDP one-sided JNIM - Civilians", "The Counterterrorism Illusion"),
    ParamSpec("harm_issp", 0.008, "civilian deaths per fighter-month", 0.0, 0.04, "civilian_harm",
              "ISSP more predatory (UCDP IS - Civilians)", "The Jihadist Adaptation"),
    ParamSpec("harm_reprisal", 1.0, "multiplier per militia share", 0.0, 4.0, "civilian_harm",
              "reprisals against militia-supporting communities"),
    ParamSpec("external_harm_cut", 0.6, "share of state-side harm removed by full constraint",
              0.0, 0.95, "civilian_harm", "article: external constraints limited atrocities",
              "Three Futures"),
    ParamSpec("massacre_rate", 0.004, "per active cell-month", 0.0, 0.02, "civilian_harm",
              "Nondin/Soro (223), Barsalogho (133-400), Moura (500) (FIELD.md)",
              "The Counterterrorism Illusion"),
    ParamSpec("massacre_min", 30.0, "deaths", 10.0, 100.0, "civilian_harm", "Pareto x_min"),
    ParamSpec("massacre_alpha", 1.4, "Pareto tail index", 1.05, 2.5, "civilian_harm",
              "heavy tail of event sizes"),
    # -- grievance / governance -------------------------------------------------------------
    ParamSpec("grievance_decay", 0.05, "1/month", 0.01, 0.2, "grievance",
              "decaying memory of harm (assumption)", "The Jihadist Adaptation"),
    ParamSpec("grievance_per_death", 0.2, "grievance per state-side civilian death per 10k pop",
              0.0, 2.0, "grievance", "Epstein (2002) grievance", "The Jihadist Adaptation"),
    ParamSpec("gov_mature", 0.03, "1/month", 0.0, 0.1, "governance",
              "courts, taxes, schools mature under JNIM dominance", "The Jihadist Adaptation"),
    ParamSpec("gov_decay", 0.02, "1/month", 0.0, 0.1, "governance", "assumption"),
    ParamSpec("services_up", 0.03, "1/month", 0.0, 0.1, "governance", "assumption"),
    ParamSpec("services_down", 0.05, "1/month", 0.0, 0.2, "governance",
              "services collapse under insecurity", "The Jihadist Adaptation"),
    # -- control -----------------------------------------------------------------------------
    ParamSpec("contest_exponent", 1.5, "-", 0.5, 3.0, "control", "Tullock contest function"),
    ParamSpec("hold_threshold", 0.6, "share", 0.5, 0.9, "control", "MODEL.md 3.8"),
    ParamSpec("admin_presence", 50.0, "fighter-equivalents per unit of services", 0.0, 500.0,
              "control", "state administration counts as presence (assumption)"),
    ParamSpec("gov_strength", 1.0, "multiplier per unit of jihadist governance", 0.0, 3.0,
              "control", "governance makes control stick", "The Jihadist Adaptation"),
    # -- displacement ------------------------------------------------------------------------
    ParamSpec("flee_per_death", 0.002, "share of residents per death per 10k residents", 0.0,
              0.02, "displacement", "UNHCR/IDMC IDP stocks (calibration target)",
              "Fragmentation's Feedback Loops"),
    ParamSpec("flee_control", 0.004, "share per month under insurgent control", 0.0, 0.03,
              "displacement", "flight from jihadist-held areas", "Fragmentation's Feedback Loops"),
    ParamSpec("abroad_share", 0.15, "share of movers crossing a border at full openness", 0.0,
              0.6, "displacement", "UNHCR refugees by origin", "Fragmentation's Feedback Loops"),
    ParamSpec("idp_return", 0.005, "1/month", 0.0, 0.05, "displacement",
              "returns/integration (IOM DTM returnees)"),
    # -- patron / regime / alliance / accords -----------------------------------------------
    ParamSpec("russia_capital_share", 0.7, "share of contingent", 0.3, 1.0, "patron",
              "Africa Corps protects regimes and sites", "The Russian Calculation"),
    ParamSpec("dependency_gain", 0.05, "per unit Russian force share per month", 0.0, 0.3,
              "patron", "dependency grows with Russian share", "The Russian Calculation"),
    ParamSpec("dependency_fail", 0.002, "per death near the capital", 0.0, 0.02, "patron",
              "every failed defence deepens dependency", "The Russian Calculation"),
    ParamSpec("legit_drift", 0.02, "1/month towards 0.5", 0.0, 0.1, "regime", "assumption",
              "What Comes After"),
    ParamSpec("legit_loss", 0.01, "per log10(1 + monthly deaths / 100)", 0.0, 0.1, "regime",
              "losses erode legitimacy", "Three Futures"),
    ParamSpec("legit_performance", 0.05, "per performative event", 0.0, 0.2, "regime",
              "staged sovereignty (charter, confederation, joint force)", "The Sovereignty Paradox"),
    ParamSpec("coup_base", 0.004, "1/month", 0.0, 0.02, "regime",
              "five coups in three countries 2020-2023 (timeline)", "What Comes After"),
    ParamSpec("coup_slope", 6.0, "per unit legitimacy deficit", 0.0, 15.0, "regime",
              "hazard rises as legitimacy falls", "What Comes After"),
    ParamSpec("assist_share", 1.0, "share of joint force sent to the most attacked member", 0.0,
              1.0, "alliance", "mutual assistance clause", "Sovereignty as Strategy"),
    ParamSpec("accord_battle_cut", 0.8, "share of engagements avoided", 0.0, 1.0, "accords",
              "managed violence (Algeria 1990s)", "Three Futures"),
    ParamSpec("accord_massacre_cut", 0.5, "share of mass-casualty risk avoided", 0.0, 1.0,
              "accords", "fewer spectacular attacks", "Three Futures"),
    ParamSpec("accord_gov_boost", 1.0, "extra governance maturation", 0.0, 3.0, "accords",
              "de facto jihadist governance", "Three Futures"),
)  # fmt: skip

SPEC_BY_NAME = {s.name: s for s in SPECS}


@dataclass(frozen=True)
class Params:
    """Parameter values plus mechanism switches. Build with :meth:`default` or
    :meth:`with_values`; values are checked against the prior range."""

    values: dict[str, float] = field(default_factory=dict)
    switches: dict[str, bool] = field(default_factory=dict)

    @classmethod
    def default(cls) -> Params:
        return cls({s.name: float(s.default) for s in SPECS}, {m: True for m in MECHANISMS})

    def __getattr__(self, name: str) -> float:
        if name.startswith("__") or name in ("values", "switches"):
            raise AttributeError(name)
        try:
            return self.values[name]
        except KeyError:
            raise AttributeError(name) from None

    def on(self, mechanism: str) -> bool:
        return self.switches.get(mechanism, True)

    def with_values(self, **kw: float) -> Params:
        vals = dict(self.values)
        for k, v in kw.items():
            spec = SPEC_BY_NAME.get(k)
            if spec is None:
                raise KeyError(f"unknown parameter {k!r}")
            if not (spec.lo <= float(v) <= spec.hi):
                raise ValueError(f"{k}={v} outside its range [{spec.lo}, {spec.hi}] {spec.unit}")
            vals[k] = float(v)
        return replace(self, values=vals)

    def with_switches(self, **kw: bool) -> Params:
        sw = dict(self.switches)
        for k, v in kw.items():
            if k not in MECHANISMS:
                raise KeyError(f"unknown mechanism {k!r}; known: {', '.join(MECHANISMS)}")
            sw[k] = bool(v)
        return replace(self, switches=sw)

    def all_off(self) -> Params:
        return replace(self, switches={m: False for m in MECHANISMS})

    def vector(self) -> np.ndarray:
        """Values in the order of :data:`SPECS` (the compiled kernels' layout)."""
        return np.array([self.values[s.name] for s in SPECS], dtype=np.float64)

    def switch_vector(self) -> np.ndarray:
        return np.array([self.on(m) for m in MECHANISMS], dtype=np.bool_)

    def as_dict(self) -> dict[str, Any]:
        return {"values": dict(self.values), "switches": dict(self.switches)}
