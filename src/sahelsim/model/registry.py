"""The mechanism registry: the one list that drives the step, the switches, the docs and the tests.

Each entry is a mechanism module under :mod:`sahelsim.model.mechanisms` with a compiled
``member(key, t, state, flows, geog, drivers, p)`` kernel (named groups of :mod:`sahelsim.model.layout`), its
article ``SECTION``, the fields it ``WRITES`` and a docstring whose first line names it. The
registry order is the step order; a mechanism's switch index (``Params.switches``,
``Params.switch_vector``) is its position here. The compiled step
(:func:`sahelsim.model.engine._member_month`) unrolls :data:`STEPS` (Numba ``literal_unroll``), so
a new mechanism is one new module plus one line in :data:`REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

from sahelsim.model.mechanisms import (
    accords,
    alliance,
    civilian_harm,
    combat,
    control,
    displacement,
    franchise,
    governance,
    grievance,
    mobility,
    operations,
    patron,
    regeneration,
    regime,
    schedule,
)


@dataclass(frozen=True)
class Mechanism:
    name: str
    order: int  # position in the step (= its switch index)
    kernel: Callable
    section: str
    doc: str  # first line of the module docstring
    writes: tuple[str, ...]
    module: str

    @classmethod
    def of(cls, order: int, mod: ModuleType) -> Mechanism:
        doc = " ".join((mod.__doc__ or "").strip().split("\n\n")[0].split())
        return cls(mod.__name__.rsplit(".", 1)[-1], order, mod.member, mod.SECTION, doc,
                   tuple(mod.WRITES), mod.__name__)  # fmt: skip


#: Step order: schedule first (this month's external constraint), regime last (stores this
#: month's deaths for next month's targeting).
REGISTRY: tuple[Mechanism, ...] = tuple(
    Mechanism.of(i, mod)
    for i, mod in enumerate(
        (schedule, alliance, patron, operations, mobility, accords, combat, civilian_harm,
         grievance, regeneration, franchise, governance, control, displacement, regime)
    )
)  # fmt: skip
BY_NAME: dict[str, Mechanism] = {m.name: m for m in REGISTRY}
#: Mechanism names in step order (the switch order).
MECHANISMS: tuple[str, ...] = tuple(m.name for m in REGISTRY)
#: (switch index, kernel) pairs unrolled by the compiled step.
STEPS = tuple((m.order, m.kernel) for m in REGISTRY)
