"""Memory layout of the compiled engine: packed state arrays and the index constants that the
mechanism kernels use (Numba reads module-level integers as compile-time constants).

Cell state of one member is ``cells[m]`` with shape (N_CELL_FIELDS, C); country state
``ctry[m]`` (N_CTRY_FIELDS, K); this month's flows ``flows[m]`` (N_FLOW_FIELDS, C) and
``flows_k[m]`` (N_FLOWK_FIELDS, K). Parameters are a vector per member in the order of
:data:`sahelsim.model.params.SPECS` (constants ``P_*`` below, checked by the tests).
"""

from __future__ import annotations

# -- cell state fields -----------------------------------------------------------------------
JNIM = 0  # fighters
ISSP = 1  # fighters
POP = 2  # residents (people)
IDP = 3  # displaced people hosted (people)
GRIEV = 4  # grievance index
GOV = 5  # jihadist governance maturity 0..1
SERV = 6  # state services 0..1
ACCORD = 7  # local accord 0/1
SH_STATE = 8  # contest shares 0..1
SH_JNIM = 9
SH_ISSP = 10
HOLD = 11  # 0 contested, 1 state, 2 JNIM, 3 ISSP
DEAD_CIV = 12  # cumulative civilian deaths (people)
DEATHS_LAST = 13  # all deaths last month (people)
JNIM_AWAY = 14  # JNIM fighters cleared from the cell, waiting in its neighbours
ISSP_AWAY = 15
N_CELL_FIELDS = 16
CELL_NAMES = ("jnim", "issp", "pop", "idp", "grievance", "gov", "services", "accord",
              "share_state", "share_jnim", "share_issp", "hold", "dead_civ", "deaths_last",
              "jnim_away", "issp_away")  # fmt: skip

# -- country state fields --------------------------------------------------------------------
POOL = 0  # deployable national forces (persons)
MILITIA = 1  # state-aligned militia (persons)
RUSSIA = 2  # Russian personnel (persons)
JOINT = 3  # AES joint force assigned (persons)
LEGIT = 4  # legitimacy 0..1
DEPEND = 5  # dependency on Russia 0..1
REFUG = 6  # people from the country abroad (people)
COUPS = 7  # coups so far (count)
TRANS = 8  # political transition opened 0/1
EXTERNAL = 9  # external constraint 0..1
DEATHS_LAST_K = 10  # all deaths in the country last month (people)
N_CTRY_FIELDS = 11
CTRY_NAMES = ("pool", "militia", "russia", "joint", "legitimacy", "dependency", "refugees",
              "coups", "transition", "external", "deaths_last_k")  # fmt: skip

# -- flows (per month) -------------------------------------------------------------------------
F_STATE = 0  # national forces present
F_MILITIA = 1
F_RUSSIA = 2
F_EXTRA = 3  # joint + intervention forces present
F_OP = 4  # clearing operation 0/1
F_SB = 5  # state-based deaths (UCDP 1)
F_NS = 6  # non-state deaths (UCDP 2)
F_CIV_STATE = 7  # one-sided deaths by the state side (UCDP 3)
F_CIV_JNIM = 8
F_CIV_ISSP = 9
F_INS_LOSS = 10
F_DISPLACED = 11  # people leaving the cell
F_RECRUITS = 12
N_FLOW_FIELDS = 13
FLOW_NAMES = ("state_cell", "militia_cell", "russia_cell", "extra_cell", "op", "deaths_sb",
              "deaths_ns", "civ_state", "civ_jnim", "civ_issp", "insurgent_losses",
              "displaced_new", "recruits")  # fmt: skip
FK_STATE_LOSS = 0
FK_COUP = 1
FK_EXPANSION = 2  # alliance expansion passed (stored in country 0)
N_FLOWK_FIELDS = 3

# -- levers (per month and country) -----------------------------------------------------------
L_RUSSIA = 0
L_JOINT = 1
L_SCALE = 2
L_RESTRAINT = 3
L_MONITORS = 4
L_INVEST = 5
L_NEGOT = 6
L_BORDER = 7
L_INCLUSION = 8
L_INTERV = 9
L_SHOCK = 10
N_LEVERS = 11
LEVER_NAMES = ("russia_personnel", "joint_force", "state_force_scale", "restraint",
               "external_monitors", "governance_investment", "negotiation_propensity",
               "border_openness", "inclusion", "intervention_force", "legitimacy_shock")  # fmt: skip

# -- monthly drivers and flags -------------------------------------------------------------------
D_EXTERNAL = 0
D_FORCED_COUP = 1
D_PERFORMATIVE = 2
N_DRIVERS = 3
FLAG_TRANSITION = 0  # coup rule "transition"
FLAG_EXPANSION = 1  # alliance expansion switch
FLAG_STOCHASTIC_COUPS = 2
N_FLAGS = 3

# -- geography (float rows) ------------------------------------------------------------------------
G_POP0 = 0
G_AREA = 1
G_GROWTH = 2
G_URBAN = 3
G_ATTRACT = 4  # sqrt(pop0 / mean pop0)
N_GEO = 5

# -- random streams (per cell; country draws use index COUNTRY_BASE + k) -----------------------------
S_COMBAT_NOISE = 0
S_COMBAT_ROUND = 1
S_HARM_STATE_NOISE = 2
S_HARM_STATE_ROUND = 3
S_HARM_JIHAD_NOISE = 4
S_HARM_JIHAD_ROUND = 5
S_MASSACRE = 6
S_MASSACRE_SIZE = 7
S_ACCORD = 8
S_RECRUIT = 9
S_COUP = 10
S_TRANSITION = 11
S_ALLIANCE = 12
COUNTRY_BASE = 1 << 30

# -- parameters -------------------------------------------------------------------------------------
P_FORCE_MLI = 0
P_FORCE_BFA = 1
P_FORCE_NER = 2
P_MILITIA_BFA = 3
P_MILITIA_MLI = 4
P_MILITIA_NER = 5
P_MILITIA_MOBILISATION = 6
P_GARRISON_SHARE = 7
P_OPS_PER_10K = 8
P_DISPERSE_FRAC = 9
P_RETURN_FRAC = 10
P_MOVE_FRAC = 11
P_JNIM_FIGHTERS0 = 12
P_ISSP_FIGHTERS0 = 13
P_INIT_CONCENTRATION = 14
P_ATTRITION = 15
P_RECRUIT_BASE = 16
P_RECRUIT_GRIEVANCE = 17
P_RECRUIT_SERVICES = 18
P_RECRUIT_GOVERNANCE = 19
P_RECRUIT_DISPLACEMENT = 20
P_RECRUITABLE_SHARE = 21
P_ISSP_RECRUIT_FACTOR = 22
P_ENGAGE_RATE = 23
P_KILL_STATE_ON_INS = 24
P_KILL_INS_ON_STATE = 25
P_JNIM_ISSP_CLASH = 26
P_OVERDISPERSION = 27
P_HARM_STATE = 28
P_HARM_RUSSIA_FACTOR = 29
P_HARM_JNIM = 30
P_HARM_ISSP = 31
P_HARM_REPRISAL = 32
P_EXTERNAL_HARM_CUT = 33
P_MASSACRE_RATE = 34
P_MASSACRE_MIN = 35
P_MASSACRE_ALPHA = 36
P_GRIEVANCE_DECAY = 37
P_GRIEVANCE_PER_DEATH = 38
P_GOV_MATURE = 39
P_GOV_DECAY = 40
P_SERVICES_UP = 41
P_SERVICES_DOWN = 42
P_CONTEST_EXPONENT = 43
P_HOLD_THRESHOLD = 44
P_ADMIN_PRESENCE = 45
P_GOV_STRENGTH = 46
P_FLEE_PER_DEATH = 47
P_FLEE_CONTROL = 48
P_ABROAD_SHARE = 49
P_IDP_RETURN = 50
P_RUSSIA_CAPITAL_SHARE = 51
P_DEPENDENCY_GAIN = 52
P_DEPENDENCY_FAIL = 53
P_LEGIT_DRIFT = 54
P_LEGIT_LOSS = 55
P_LEGIT_PERFORMANCE = 56
P_COUP_BASE = 57
P_COUP_SLOPE = 58
P_ASSIST_SHARE = 59
P_ACCORD_BATTLE_CUT = 60
P_ACCORD_MASSACRE_CUT = 61
P_ACCORD_GOV_BOOST = 62
N_PARAMS = 63
