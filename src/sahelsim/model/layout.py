"""Memory layout of the compiled engine, generated from :mod:`sahelsim.model.fields_table`.

Index enums (Numba treats ``IntEnum`` members as compile-time constants): ``Cell`` rows of
``cells[m]`` (N_CELL_FIELDS, C), ``Ctry`` rows of ``ctry[m]`` (N_CTRY_FIELDS, K), ``Flow`` and
``FlowK`` rows of this month's flows, ``Drv``/``Flag`` rows of the monthly drivers, ``Lever`` rows
of the monthly lever array (numeric levers), ``Geo`` rows of the static geography, ``Stream``
random streams and ``P`` positions in the parameter vector. Countries are addressed by
name-derived indices (``COUNTRY_INDEX["BFA"]``, or the module constants ``MLI``, ``BFA``, ``NER``).

The kernels take named groups of arrays (namedtuples, supported by Numba):
:class:`MemberState`, :class:`Flows`, :class:`Geography`, :class:`MonthDrivers`.
"""

from __future__ import annotations

from collections import namedtuple
from enum import IntEnum

from sahelsim.model import fields_table as T


def _enum(name: str, names: tuple[str, ...]) -> type[IntEnum]:
    return IntEnum(name, [(n.upper(), i) for i, n in enumerate(names)], module=__name__)


def _names(rows: tuple[T.Field, ...]) -> tuple[str, ...]:
    return tuple(r.name for r in rows)


CELL_NAMES = _names(T.CELL_FIELDS)
CTRY_NAMES = _names(T.COUNTRY_FIELDS)
FLOW_NAMES = _names(T.CELL_FLOWS)
UNIT_NAMES = _names(T.UNIT_FIELDS)
FLOWK_NAMES = _names(T.COUNTRY_FLOWS)
PARAM_NAMES = tuple(s.name for s in T.SPECS)
#: Numeric levers, the rows of the engine's lever array (bool/enum levers are flags).
LEVER_NAMES = tuple(s.name for s in T.LEVERS if s.numeric)

Cell = _enum("Cell", CELL_NAMES)
Ctry = _enum("Ctry", CTRY_NAMES)
Flow = _enum("Flow", FLOW_NAMES)
Unit = _enum("Unit", UNIT_NAMES)
FlowK = _enum("FlowK", FLOWK_NAMES)
Drv = _enum("Drv", _names(T.DRIVERS))
Flag = _enum("Flag", _names(T.FLAGS))
Geo = _enum("Geo", _names(T.GEO))
Stream = _enum("Stream", T.STREAMS)
P = _enum("P", PARAM_NAMES)
Lever = _enum("Lever", LEVER_NAMES)

N_CELL_FIELDS = len(Cell)
N_CTRY_FIELDS = len(Ctry)
N_FLOW_FIELDS = len(Flow)
N_UNIT_FIELDS = len(Unit)
MAX_UNITS = T.MAX_UNITS
#: Armed-group sides; a side's code is the row of its cell field (``Cell.JNIM`` is side 0...).
SIDES = T.SIDES
N_SIDES = len(SIDES)
assert CELL_NAMES[:N_SIDES] == SIDES, "the side fields must lead the cell table, in SIDES order"
JNIM_SIDE, ISSP_SIDE, OTHER_SIDE, LAKE_SIDE = range(N_SIDES)
#: Per group (GROUPS order): its side code.
GROUP_SIDE = tuple(SIDES.index(g.side) for g in T.GROUPS)
N_GROUPS = len(T.GROUPS)
N_FLOWK_FIELDS = len(FlowK)
N_DRIVERS = len(Drv)
N_FLAGS = len(Flag)
N_GEO = len(Geo)
N_PARAMS = len(P)
N_LEVERS = len(Lever)
COUNTRY_BASE = T.COUNTRY_BASE

CORE = T.CORE
N_CORE = len(CORE)
COUNTRY_INDEX = {c: i for i, c in enumerate(CORE)}
MLI = COUNTRY_INDEX["MLI"]
BFA = COUNTRY_INDEX["BFA"]
NER = COUNTRY_INDEX["NER"]

#: One member's state: cell fields (N_CELL_FIELDS, C), country fields (N_CTRY_FIELDS, K) and its
#: growth counter (1,) (people added by population growth), and its insurgent units
#: (N_UNIT_FIELDS, MAX_UNITS).
MemberState = namedtuple("MemberState", ["cells", "ctry", "growth", "units"])
#: This month's flows: per cell (N_FLOW_FIELDS, C) and per country (N_FLOWK_FIELDS, K).
Flows = namedtuple("Flows", ["cells", "ctry"])
#: Static geography: rows ``Geo`` (N_GEO, C), each cell's country (-1 none), each country's
#: capital cell (-1 none), the neighbour lists and the cell lists of each country and of its
#: urban cores (CSR: ``*_ptr`` (n + 1,), ``*_idx``).
Geography = namedtuple(
    "Geography",
    ["geo", "country", "capital", "nbr_ptr", "nbr_idx", "country_ptr", "country_idx",
     "urban_ptr", "urban_idx"],
)  # fmt: skip
#: This month's drivers: rows ``Drv`` (N_DRIVERS, K), flags ``Flag`` (N_FLAGS,) int64, levers
#: ``Lever`` (N_LEVERS, K).
MonthDrivers = namedtuple("MonthDrivers", ["drv", "flags", "lev"])

# Side-indexed rows: the kernels address them as ``base + side``.
assert [P[f"SCALE_{x.upper()}"] for x in SIDES] == [P.SCALE_JNIM + i for i in range(N_SIDES)]
assert [Flow[f"PRE_{x.upper()}"] for x in SIDES] == [Flow.PRE_JNIM + i for i in range(N_SIDES)]
