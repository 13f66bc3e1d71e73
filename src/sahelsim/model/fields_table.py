"""The one declarative table of the model's memory layout, parameters, levers and outputs.

Everything the compiled engine indexes is declared here once, in order, and everything else is
generated from it: the index enums of :mod:`sahelsim.model.layout` (``Cell.JNIM``, ``P.ATTRITION``,
``Lever.BORDER_OPENNESS``...), the parameter vector order of :class:`~sahelsim.model.params.Params`,
the table-driven recorder and the xarray names and descriptions of :mod:`sahelsim.model.engine`,
the scenario lever specifications of :mod:`sahelsim.scenarios.levers`, the lever defaults of
:mod:`sahelsim.model.drivers` and the tables of ``docs/model.md`` (``tools/doc_tables.py``).

Adding a recorded country output is one line in :data:`COUNTRY_OUTPUTS`; a state field, one line
in :data:`CELL_FIELDS` or :data:`COUNTRY_FIELDS`. Plain data only (no NumPy, no Numba).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

#: The three core countries, in kernel order (countries are addressed by name-derived indices:
#: ``layout.COUNTRY_INDEX["BFA"]``, never by a literal position).
CORE: tuple[str, ...] = ("MLI", "BFA", "NER")


@dataclass(frozen=True)
class Field:
    """One row of a packed array: its name (the enum member is ``name.upper()``), unit, meaning."""

    name: str
    unit: str
    doc: str


def _fields(*rows: tuple[str, str, str]) -> tuple[Field, ...]:
    return tuple(Field(*r) for r in rows)


# -- state -----------------------------------------------------------------------------------------
#: Cell state of one member: ``cells[m]``, shape (len(CELL_FIELDS), cells).
CELL_FIELDS = _fields(
    ("jnim", "persons", "JNIM fighters (sum of the JNIM units in the cell)"),
    ("issp", "persons", "IS Sahel fighters (sum of its units)"),
    ("other", "persons", "non-jihadist armed groups of northern Mali (CMA/FLA units)"),
    ("lake", "persons", "Lake Chad jihadists (Boko Haram / ISWAP units, Diffa front)"),
    ("pop", "people", "residents"),
    ("idp", "people", "displaced people hosted"),
    ("grievance", "index >= 0", "decaying memory of state-side civilian harm"),
    ("gov", "0..1", "jihadist governance maturity"),
    ("services", "0..1", "state service presence (the administration)"),
    ("accord", "0/1", "local accord with JNIM"),
    ("share_state", "0..1", "contest share of the state side"),
    ("share_jnim", "0..1", "contest share of JNIM"),
    ("share_issp", "0..1", "contest share of IS Sahel"),
    ("share_other", "0..1", "contest share of the other armed groups (CMA/FLA, Lake Chad)"),
    ("hold", "code", "0 contested, 1 state, 2 JNIM, 3 IS Sahel, 4 other armed group, 5 ungoverned"),
    ("dead_civ", "people", "cumulative civilian deaths"),
    ("deaths_last", "people", "all deaths last month"),
)
#: Insurgent units of one member: ``units[m]``, shape (len(UNIT_FIELDS), MAX_UNITS). A slot is
#: free when its cell is -1 and its start is -1.
UNIT_FIELDS = _fields(
    ("group", "code", "armed group (index into GROUPS)"),
    ("cell", "cell index", "where the unit is (-1: not active)"),
    ("strength", "persons", "fighters"),
    ("home", "cell index", "the unit's home area (where it was raised)"),
    ("start", "month_id", "month the unit appears (-1: already active, or a free slot)"),
)
#: Unit slots per member (active units and the free slots that splits fill).
MAX_UNITS = 96
#: Country state of one member: ``ctry[m]``, shape (len(COUNTRY_FIELDS), countries).
COUNTRY_FIELDS = _fields(
    ("pool", "persons", "deployable national forces"),
    ("militia", "persons", "state-aligned militia"),
    ("russia", "persons", "Russian personnel"),
    ("joint", "persons", "AES joint force assigned"),
    ("legitimacy", "0..1", "junta legitimacy"),
    ("dependency", "0..1", "dependency on Russia"),
    ("refugees", "people", "people from the country abroad"),
    ("coups", "count", "coups so far"),
    ("transition", "0/1", "political transition opened"),
    ("external", "0..1", "external constraint"),
    ("deaths_last_k", "people", "all deaths in the country last month"),
)

# -- flows (this month, zeroed before the mechanisms run) ------------------------------------------
CELL_FLOWS = _fields(
    ("state_cell", "persons", "national forces present"),
    ("militia_cell", "persons", "militia present"),
    ("russia_cell", "persons", "Russian personnel present"),
    ("extra_cell", "persons", "joint and intervention forces present"),
    ("op", "0/1", "clearing operation"),
    ("deaths_sb", "people", "state-based deaths (UCDP type 1)"),
    ("deaths_ns", "people", "non-state deaths (UCDP type 2)"),
    ("civ_state", "people", "one-sided deaths by the state side (UCDP type 3)"),
    ("civ_jnim", "people", "one-sided deaths by JNIM"),
    ("civ_issp", "people", "one-sided deaths by IS Sahel"),
    ("civ_other", "people", "one-sided deaths by the other armed groups (Lake Chad jihadists)"),
    ("insurgent_losses", "persons", "insurgent combat deaths"),
    ("displaced_new", "people", "people leaving the cell"),
    ("recruits", "persons", "new insurgent recruits"),
    ("pre_jnim", "persons", "JNIM in the cell after the units moved (before combat)"),
    ("pre_issp", "persons", "IS Sahel in the cell after the units moved"),
    ("pre_other", "persons", "other armed groups in the cell after the units moved"),
    ("pre_lake", "persons", "Lake Chad jihadists in the cell after the units moved"),
)
COUNTRY_FLOWS = _fields(
    ("state_loss", "people", "state-side combat deaths"),
    ("coup", "count", "coups this month"),
    ("expansion", "0/1", "alliance expansion passed (stored in the first country)"),
)

# -- monthly drivers, flags, geography, random streams ---------------------------------------------
DRIVERS = _fields(
    ("external", "0..1", "dated external constraint (timeline + monitors lever)"),
    ("forced_coup", "0/1", "coup from the timeline this month"),
    ("performative", "count", "performative sovereignty events this month"),
)
FLAGS = _fields(
    ("transition", "0/1", "coup rule 'transition' (lever coup_rule)"),
    ("expansion", "0/1", "alliance expansion switch (lever alliance_expansion)"),
    ("stochastic_coups", "0/1", "coups drawn by the model (projection months)"),
)
GEO = _fields(
    ("pop0", "people", "residents at the start month"),
    ("area", "km2", "cell area"),
    ("growth", "1/month", "population growth rate"),
    ("urban", "0/1", "urban core"),
    ("attract", "-", "sqrt(pop0 / mean pop0)"),
    ("lat", "degrees", "cell centroid latitude"),
    ("lon", "degrees", "cell centroid longitude"),
)
#: Random streams (per cell; country draws use index COUNTRY_BASE + k).
STREAMS = (
    "combat_noise", "combat_round", "harm_state_noise", "harm_state_round", "harm_jihad_noise",
    "harm_jihad_round", "massacre", "massacre_size", "accord", "recruit", "coup", "transition",
    "alliance", "unit_move", "unit_where", "unit_split",
)  # fmt: skip
COUNTRY_BASE = 1 << 30


# -- armed groups ----------------------------------------------------------------------------------
#: Sides of the armed groups; a side's code is also the row of its cell field (``Cell.JNIM`` = 0...).
SIDES: tuple[str, ...] = ("jnim", "issp", "other", "lake")


@dataclass(frozen=True)
class Group:
    """One armed group (a JNIM component, IS Sahel, the CMA/FLA, the Lake Chad jihadists): where
    and when it appears, with how many fighters in how many units. ``anchors`` are (lat, lon,
    country) of its documented home areas; its units start in the cells of that country nearest
    them, in turn (on a grid without the point, e.g. the synthetic one, the nearest cell of the
    country stands in). Strength
    at appearance is ``strength`` x the side's ``scale_<side>`` parameter."""

    name: str
    label: str
    side: str
    start: str  # YYYY-MM
    strength: float  # persons
    units: int
    anchors: tuple[tuple[float, float, str], ...]  # (lat, lon, ISO3 of the home area)
    source: str
    section: str = "The Jihadist Adaptation"


GROUPS: tuple[Group, ...] = (
    Group("ansar_dine", "Ansar Dine (JNIM from 2017)", "jnim", "2012-01", 1200.0, 3,
          ((18.44, 1.41, "MLI"), (19.5, 1.0, "MLI"), (17.6, 1.9, "MLI")),
          "Iyad Ag Ghaly's Kidal-based movement, which took the north with AQIM and MUJAO in "
          "2012 (UCDP dyad Mali - Ansar Dine; ICG)"),
    Group("aqim_sahara", "AQIM Sahara branch (JNIM from 2017)", "jnim", "2012-01", 1000.0, 3,
          ((16.77, -3.0, "MLI"), (18.5, -1.5, "MLI"), (20.0, -0.5, "MLI")),
          "AQIM's southern katibas around Timbuktu and the Algerian border (UCDP Mali - AQIM)"),
    Group("mourabitoun", "MUJAO / al-Mourabitoun (JNIM from 2017)", "jnim", "2012-01", 800.0, 2,
          ((16.27, -0.04, "MLI"), (15.9, 0.5, "MLI")),
          "MUJAO held Gao in 2012; merged into al-Mourabitoun in 2013 (UCDP Mali - MUJAO)"),
    Group("macina", "Katiba Macina (JNIM)", "jnim", "2015-01", 300.0, 3,
          ((14.9, -4.5, "MLI"), (14.49, -4.19, "MLI"), (14.3, -5.2, "MLI")),
          "Amadou Koufa's katiba in the Inner Niger Delta of Mopti and Segou, from early 2015 "
          "(ICG Africa Report 238; FIELD.md spread)"),
    Group("ansarul", "Ansarul Islam (JNIM-aligned)", "jnim", "2016-12", 200.0, 2,
          ((14.1, -1.63, "BFA"), (14.0, -1.0, "BFA")),
          "Ibrahim Malam Dicko's group in Soum, northern Burkina Faso; first attack Nassoumbou, "
          "Dec 2016 (ICG Africa Report 254)"),
    Group("is_sahel", "Islamic State Sahel (ISGS)", "issp", "2015-05", 300.0, 3,
          ((15.9, 2.4, "MLI"), (15.3, 1.6, "NER"), (14.9, 0.9, "NER")),
          "Adnan Abu Walid al-Sahrawi's pledge to IS, May 2015; Menaka and northern Tillaberi "
          "(UCDP IS - Niger; ACSS)"),
    Group("cma", "CMA / FLA (northern armed movements)", "other", "2012-01", 2500.0, 3,
          ((18.44, 1.41, "MLI"), (18.0, -0.5, "MLI"), (17.0, -1.5, "MLI")),
          "MNLA rebellion of Jan 2012, the CMA after 2014, the FLA from 2024 (UCDP Mali - MNLA, "
          "Mali - CMA); fights the state only when no northern accord holds",
          "Three Futures"),
    Group("lake_chad", "Boko Haram / ISWAP (Lake Chad front)", "lake", "2015-02", 1200.0, 3,
          ((13.7, 13.3, "NER"), (13.3, 12.6, "NER"), (13.4, 12.0, "NER")),
          "first attacks on Diffa and Bosso in Feb 2015; most of Niger's 2015 deaths (FIELD.md; "
          "UCDP Niger - IS / Boko Haram)", "Fragmentation's Feedback Loops"),
)  # fmt: skip
GROUP_INDEX = {g.name: i for i, g in enumerate(GROUPS)}


# -- parameters ------------------------------------------------------------------------------------
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
    ParamSpec("disperse_frac", 0.6, "probability per month", 0.2, 0.95, "mobility",
              "a unit in a cleared cell slips away to a neighbouring cell", "The Jihadist Adaptation"),
    ParamSpec("move_frac", 0.15, "probability per month", 0.02, 0.6, "mobility",
              "a unit moves to a neighbouring cell by attractiveness and home pull",
              "The Jihadist Adaptation"),
    ParamSpec("home_range", 1.5, "degrees (e-folding distance of the pull home)", 0.3, 5.0,
              "mobility", "katibas are rooted in their communities (ICG; assumption)",
              "The Jihadist Adaptation"),
    # -- insurgents ------------------------------------------------------------------------
    ParamSpec("scale_jnim", 1.0, "multiplier of the JNIM components' strength at appearance",
              0.3, 3.0, "franchise", "a few thousand in 2012; ACSS 6,000-7,000 today (FIELD.md)"),
    ParamSpec("scale_issp", 1.0, "multiplier of IS Sahel's strength at appearance", 0.3, 3.0,
              "franchise", "a few hundred in 2015; ACSS 2,000-3,000 today (FIELD.md)"),
    ParamSpec("scale_other", 1.0, "multiplier of the CMA/FLA strength", 0.3, 3.0, "franchise",
              "MNLA/CMA: a few thousand fighters (ICG)"),
    ParamSpec("scale_lake", 1.0, "multiplier of the Lake Chad groups' strength in Diffa", 0.3, 3.0,
              "franchise", "Boko Haram / ISWAP cells active in Diffa from Feb 2015 (UCDP)"),
    ParamSpec("split_size", 300.0, "persons", 100.0, 600.0, "franchise",
              "a katiba above this size buds a new one in a neighbouring cell; katibas count a "
              "few hundred fighters (ICG, ACSS)", "The Jihadist Adaptation"),
    ParamSpec("bud_home", 0.3, "probability", 0.0, 1.0, "franchise",
              "a bud founds its own home area (else it keeps its parent's): the pace at which "
              "the franchise drifts into new areas (assumption)", "The Jihadist Adaptation"),
    ParamSpec("split_rate", 0.1, "probability per month above split_size", 0.0, 0.5,
              "franchise", "franchise expansion by budding (assumption)", "The Jihadist Adaptation"),
    ParamSpec("unit_min", 10.0, "persons", 2.0, 50.0, "franchise",
              "a unit below this size disbands", "The Counterterrorism Illusion"),
    ParamSpec("attrition", 0.025, "1/month", 0.005, 0.06, "regeneration",
              "article: about 2.5 % a month is sustainable", "The Counterterrorism Illusion"),
    ParamSpec("recruit_base", 0.035, "1/month", 0.0, 0.08, "regeneration",
              "above attrition: the groups grew from a few thousand (2012) to about 9,000 (ACSS)",
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
    ParamSpec("engage_rate", 0.1, "1/month (engagement intensity on the harmonic mean of the sides)",
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
    ParamSpec("presence_min", 10.0, "fighter-equivalents", 1.0, 100.0, "control",
              "a side holds a cell only where it is present (assumption); below this nobody is",
              "Three Futures"),
    ParamSpec("reach", 0.3, "share of a neighbouring unit's strength projected into the cell",
              0.0, 1.0, "control", "patrols, checkpoints and blockades around a base "
              "(ACLED: JNIM blockades, Djibo 2022)", "The Jihadist Adaptation"),
    ParamSpec("militia_weight", 0.3, "fighter-equivalents per militia member", 0.05, 1.0,
              "control", "VDP and Dozos are lightly armed (HRW; assumption)",
              "Fragmentation's Feedback Loops"),
    # -- displacement ------------------------------------------------------------------------
    ParamSpec("flee_per_death", 0.002, "share of residents per death per 10k residents", 0.0,
              0.02, "displacement", "UNHCR/IDMC IDP stocks (calibration target)",
              "Fragmentation's Feedback Loops"),
    ParamSpec("flee_control", 0.004, "share per month under insurgent control", 0.0, 0.03,
              "displacement", "flight from jihadist-held areas", "Fragmentation's Feedback Loops"),
    ParamSpec("flight_range", 2.0, "degrees (e-folding distance to the host town)", 0.3, 10.0,
              "displacement", "IOM DTM: most IDPs stay in their own region (Mopti, Gao, "
              "Centre-Nord hosts)", "Fragmentation's Feedback Loops"),
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

# -- levers ----------------------------------------------------------------------------------------
LeverKind = Literal["float", "impulse", "bool", "enum"]
LeverScope = Literal["country", "alliance"]
Scalar = float | bool | str


def _g(x: float) -> str:
    return f"{x:g}"


@dataclass(frozen=True)
class LeverSpec:
    """One lever: its one definition (engine, scenarios, dashboard and docs all read this).

    ``default`` is the value in force from 2025-01 (a mapping country -> value where it differs
    by country). ``initial`` and ``history`` make a dated default schedule: ``initial`` before
    the first step, then each ``(YYYY-MM, country or None, value)`` step; the schedule is the
    default of scenario runs and of driver builds without a lever series alike. ``noncore`` is the
    value for countries outside the core three (which have no policy). ``float`` and ``impulse``
    levers are per-month engine arrays (``layout.Lever``); ``bool`` and ``enum`` levers become
    engine flags.
    """

    name: str
    kind: LeverKind
    unit: str
    default: Scalar | Mapping[str, float]
    label: str
    description: str
    article_section: str
    source: str
    bounds: tuple[float, float] | None = None
    choices: tuple[str, ...] | None = None
    scope: LeverScope = "country"
    initial: float | Mapping[str, float] | None = None
    history: tuple[tuple[str, str | None, float], ...] = field(default=())
    noncore: float = 0.0

    @property
    def numeric(self) -> bool:
        return self.kind in ("float", "impulse")

    def range_text(self) -> str:
        if self.bounds is not None:
            return f"{_g(self.bounds[0])}..{_g(self.bounds[1])}"
        if self.choices is not None:
            return " | ".join(repr(c) for c in self.choices)
        return "true | false"

    def as_dict(self) -> dict[str, Any]:
        """Plain-data view for docs and the dashboard."""
        return {
            "name": self.name,
            "kind": self.kind,
            "unit": self.unit,
            "label": self.label,
            "default": dict(self.default) if isinstance(self.default, Mapping) else self.default,
            "bounds": list(self.bounds) if self.bounds else None,
            "choices": list(self.choices) if self.choices else None,
            "scope": self.scope,
            "history": [list(h) for h in self.history],
            "description": self.description,
            "article_section": self.article_section,
            "source": self.source,
        }


_BRIEF = "project design brief (MODEL.md section 4); illustrative, to be calibrated"


def _lever(
    kind: LeverKind,
    name: str,
    label: str,
    unit: str,
    default: Any,
    section: str,
    description: str,
    source: str = _BRIEF,
    **more: Any,
) -> LeverSpec:
    """One row of :data:`LEVERS`: kind, name, label, unit, default, article section, description
    and source (default: the design brief); ``more`` are the optional fields (``bounds``,
    ``choices``, ``scope``, ``initial``, ``history``, ``noncore``)."""
    return LeverSpec(name=name, kind=kind, unit=unit, default=default, label=label,
                     description=description, article_section=section, source=source,
                     **more)  # fmt: skip


#: The levers, one row each: ``_lever(kind, name, label, unit, default, section, description[,
#: source], **optional fields)``.
LEVERS: tuple[LeverSpec, ...] = (
    _lever("float", "russia_personnel", "Russian personnel", "persons per country",
           {"MLI": 2000.0, "BFA": 300.0, "NER": 200.0}, "The Russian Calculation",
           ("Russian state-linked contingent (Wagner Group, then Africa Corps) in the country; it "
            "guards regimes and extraction sites rather than holding ground."),
           ("arrival months and sizes are approximate orders of magnitude from press reporting "
            "(Mali from Dec 2021, Burkina Faso early 2024, Niger Apr 2024); the article gives no "
            "figures"),
           bounds=(0.0, 20000.0), initial={"MLI": 0.0, "BFA": 0.0, "NER": 0.0},
           history=(("2021-12", "MLI", 1000.0), ("2023-01", "MLI", 2000.0),
                    ("2024-01", "BFA", 300.0), ("2024-04", "NER", 200.0))),
    _lever("float", "joint_force", "AES joint force", "persons (alliance total)", 5000.0,
           "The Counterterrorism Illusion",
           ("AES joint force available for mutual assistance; one alliance-wide total "
            "(lever_series repeats it in every country column)."),
           "article: joint force of 5,000 announced in December 2024", bounds=(0.0, 50000.0),
           scope="alliance", initial=0.0, history=(("2024-12", None, 5000.0),)),
    _lever("float", "state_force_scale", "national force size",
           "multiplier of the national deployable force pool", 1.0, "The Counterterrorism Illusion",
           "Scales each state's deployable force pool (recruitment, equipment, funding).",
           bounds=(0.2, 5.0)),
    _lever("float", "restraint", "restraint towards civilians",
           "share of civilian harm avoided (1 = none harmed by doctrine)", 0.0,
           "The Jihadist Adaptation",
           "Civilian-harm restraint of state-side forces during operations.", bounds=(0.0, 1.0)),
    _lever("float", "external_monitors", "external monitors",
           "share of a full external accountability presence", 0.0,
           "Fragmentation's Feedback Loops",
           ("Return of an external accountability presence (France, the UN or ECOWAS-like); adds "
            "to the external constraint the institutional timeline gives for history."),
           bounds=(0.0, 1.0)),
    _lever("float", "governance_investment", "state services investment",
           "share of a full state-services effort", 0.1, "The Jihadist Adaptation",
           "State investment in services (courts, schools, health) in areas it holds.",
           bounds=(0.0, 1.0)),
    _lever("float", "negotiation_propensity", "local accords with JNIM", "monthly probability",
           0.02, "Three Futures",
           "Monthly propensity of a local accord with JNIM where JNIM dominates a cell.",
           bounds=(0.0, 1.0)),
    _lever("float", "border_openness", "open borders", "share of free cross-border movement", 0.4,
           "Fragmentation's Feedback Loops",
           ("Cross-border movement (displacement, pastoral and labour routes); falls when ECOWAS "
            "free movement stops applying."),
           "ECOWAS exit effective January 2025 (article); the 0.4 level is illustrative",
           bounds=(0.0, 1.0), initial=1.0, history=(("2025-01", None, 0.4),), noncore=1.0),
    _lever("float", "northern_accord", "northern peace accord",
           "share of full compliance with a peace accord in northern Mali", 0.0, "Three Futures",
           ("Whether the northern armed movements (MNLA, then CMA, then FLA) are at peace with "
            "the state: they fight state forces in proportion to 1 - this value."),
           ("Ouagadougou preliminary accord June 2013, Algiers accord June 2015 (held until the "
            "CMA left it in 2023; fighting from Aug 2023, Kidal taken Nov 2023); May 2014 Kidal "
            "fighting in between"),
           bounds=(0.0, 1.0), initial=0.0,
           history=(("2013-06", "MLI", 0.8), ("2015-06", "MLI", 1.0), ("2023-08", "MLI", 0.0))),
    _lever("float", "inclusion", "political inclusion", "share (inclusion index)", 0.0,
           "Three Futures",
           "Political inclusion of marginalised communities; lowers grievance-driven recruitment.",
           bounds=(0.0, 1.0)),
    _lever("float", "intervention_force", "outside intervention force",
           "persons deployed in the country", 0.0, "What Comes After",
           ("An outside regional or international intervention force (history: France's Serval "
            "and Barkhane, counted where they ran operations)."),
           ("Serval Jan 2013 (about 4,000 in Mali); Barkhane from Aug 2014 (about 3,000 in "
            "Mali, 1,000 in Niger, a few hundred in Burkina Faso); out of Mali Aug 2022, of "
            "Burkina Faso Feb 2023, of Niger Dec 2023 (French MoD; press)"),
           bounds=(0.0, 100000.0), initial=0.0,
           history=(("2013-01", "MLI", 4000.0), ("2014-08", "MLI", 3000.0),
                    ("2014-08", "NER", 1000.0), ("2014-08", "BFA", 300.0),
                    ("2022-08", "MLI", 0.0), ("2023-02", "BFA", 0.0), ("2023-12", "NER", 0.0))),
    _lever("impulse", "legitimacy_shock", "legitimacy shock", "legitimacy points, added once", 0.0,
           "What Comes After",
           ("One-off pulse to junta legitimacy (a scandal, a lost battle, an uprising) that "
            "raises coup hazard; zero except in the month of a change."),
           bounds=(-1.0, 1.0)),
    _lever("impulse", "decapitation", "decapitation of JNIM's leading component",
           "share of the component's fighters lost, once", 0.0, "The Jihadist Adaptation",
           ("Killing the leadership of the strongest JNIM component in the country (e.g. Katiba "
            "Macina): that share of its units' fighters is lost in the month of the strike; "
            "the other components are untouched, which is the franchise's resilience."),
           ("French strikes killed AQIM's Droukdel (June 2020) and ISGS's al-Sahrawi (Aug 2021) "
            "without ending either franchise (ACSS); the size of the blow is the user's"),
           bounds=(0.0, 1.0)),
    _lever("enum", "coup_rule", "what a coup does", "choice", "stay_in_aes", "What Comes After",
           ("What a coup does: the new junta stays in the AES and keeps its policies (the "
            "article's reading), or opens a political transition."),
           "article: new military governments would likely join the AES and carry on",
           choices=("stay_in_aes", "transition"), scope="alliance"),
    _lever("bool", "alliance_expansion", "alliance expansion", "switch", False,
           "Sovereignty as Strategy",
           ("Allows new members to join the alliance; off by default because membership changes "
            "need unanimity (the 'structural trap')."),
           "article: each member can veto expansion", scope="alliance"),
)  # fmt: skip

LEVER_BY_NAME = {s.name: s for s in LEVERS}

# -- recorded outputs ------------------------------------------------------------------------------
#: How a country output is computed from one member-month (``terms`` are qualified field names:
#: ``cell.<CELL_FIELDS>``, ``flow.<CELL_FLOWS>``, ``ctry.<COUNTRY_FIELDS>``, ``flowk.<COUNTRY_FLOWS>``):
#: ``cells`` sum of the terms over the country's cells; ``area_mean`` the area-weighted mean of
#: the terms over them; ``hold_share`` the area share of its cells with ``hold == code``;
#: ``country`` the sum of the (country-level) terms.
OutputRule = Literal["cells", "area_mean", "hold_share", "country"]
DEATH_FLOWS = ("flow.deaths_sb", "flow.deaths_ns", "flow.civ_state", "flow.civ_jnim",
               "flow.civ_issp", "flow.civ_other")  # fmt: skip
ONE_SIDED = ("flow.civ_state", "flow.civ_jnim", "flow.civ_issp", "flow.civ_other")
#: Codes of ``cell.hold``.
HOLD_CODES = {0: "contested", 1: "state", 2: "jnim", 3: "issp", 4: "other", 5: "ungoverned"}


@dataclass(frozen=True)
class Output:
    name: str
    description: str
    rule: OutputRule
    terms: tuple[str, ...] = ()
    code: int = 0  # hold code for ``hold_share``
    dtype: str = "float32"  # storage of cell outputs


def _o(name: str, description: str, rule: OutputRule, *terms: str, code: int = 0) -> Output:
    return Output(name, description, rule, terms, code)


#: Country outputs (member, month, country), in this order in the dataset.
COUNTRY_OUTPUTS: tuple[Output, ...] = (
    _o("deaths_state_based", "UCDP type 1 deaths (people)", "cells", "flow.deaths_sb"),
    _o("deaths_non_state", "UCDP type 2 deaths (people)", "cells", "flow.deaths_ns"),
    _o("deaths_one_sided", "UCDP type 3 deaths (people)", "cells", *ONE_SIDED),
    _o("civilians_killed_by_state_side", "one-sided deaths by army, militias, Russians (people)",
       "cells", "flow.civ_state"),
    _o("civilians_killed_by_jnim", "one-sided deaths by JNIM (people)", "cells", "flow.civ_jnim"),
    _o("civilians_killed_by_issp", "one-sided deaths by IS Sahel (people)", "cells",
       "flow.civ_issp"),
    _o("civilians_killed_by_other_groups", "one-sided deaths by other armed groups (people)",
       "cells", "flow.civ_other"),
    _o("deaths_total", "all deaths (people)", "cells", *DEATH_FLOWS),
    _o("state_losses", "state-side combat deaths (people)", "country", "flowk.state_loss"),
    _o("territory_state", "area share held by the state (0..1)", "hold_share", code=1),
    _o("territory_jnim", "area share held by JNIM (0..1)", "hold_share", code=2),
    _o("territory_issp", "area share held by IS Sahel (0..1)", "hold_share", code=3),
    _o("territory_contested", "area share contested (0..1)", "hold_share", code=0),
    _o("territory_other", "area share held by other armed groups (CMA/FLA, Lake Chad) (0..1)",
       "hold_share", code=4),
    _o("territory_ungoverned", "area share where no side is present (0..1)", "hold_share",
       code=5),
    _o("idps", "displaced people hosted in the country (people)", "cells", "cell.idp"),
    _o("refugees", "people from the country abroad, model-generated (people)", "country",
       "ctry.refugees"),
    _o("displaced_new", "people leaving their cell this month (people)", "cells",
       "flow.displaced_new"),
    _o("fighters_jnim", "JNIM fighters in the country (persons)", "cells", "cell.jnim"),
    _o("fighters_issp", "IS Sahel fighters in the country (persons)", "cells", "cell.issp"),
    _o("fighters_other", "CMA/FLA fighters in the country (persons)", "cells", "cell.other"),
    _o("fighters_lake", "Lake Chad jihadist fighters in the country (persons)", "cells",
       "cell.lake"),
    _o("state_forces", "national deployable pool (persons)", "country", "ctry.pool"),
    _o("militia", "state-aligned militia (persons)", "country", "ctry.militia"),
    _o("russia", "Russian personnel (persons)", "country", "ctry.russia"),
    _o("joint_force", "AES joint force assigned (persons)", "country", "ctry.joint"),
    _o("legitimacy", "junta legitimacy (0..1)", "country", "ctry.legitimacy"),
    _o("dependency", "dependency on Russia (0..1)", "country", "ctry.dependency"),
    _o("external_constraint", "external accountability presence (0..1)", "country",
       "ctry.external"),
    _o("coups", "coups so far (count)", "country", "ctry.coups"),
    _o("accords", "cells under a local accord (count)", "cells", "cell.accord"),
    _o("governance_jnim", "area-weighted jihadist governance maturity (0..1)", "area_mean",
       "cell.gov"),
    _o("services", "area-weighted state service presence (0..1)", "area_mean", "cell.services"),
)  # fmt: skip

#: Cell outputs chosen by ``engine.Record`` (member, month, cell), stored as ``cell_<name>``.
CELL_OUTPUTS: tuple[Output, ...] = (
    Output("deaths", "all deaths this month (people)", "cells", DEATH_FLOWS),
    Output("hold", "control code (0 contested, 1 state, 2 JNIM, 3 IS Sahel, 4 other armed group, "
           "5 ungoverned)", "cells", ("cell.hold",),
           dtype="int8"),
    Output("jnim", "JNIM fighters (persons)", "cells", ("cell.jnim",)),
    Output("issp", "IS Sahel fighters (persons)", "cells", ("cell.issp",)),
    Output("other", "other armed group fighters (persons)", "cells", ("cell.other", "cell.lake")),
    Output("idp", "displaced people hosted (people)", "cells", ("cell.idp",)),
    Output("civilian_deaths", "one-sided deaths this month (people)", "cells", ONE_SIDED),
)  # fmt: skip
