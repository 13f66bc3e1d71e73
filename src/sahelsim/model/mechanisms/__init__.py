"""The mechanisms of the model, one module each, applied in the order of :data:`ORDER`.

Each module has ``apply(state, ctx) -> None`` that updates the (already copied) state in place
and writes this month's flows into ``ctx.flows``. The docstring of each module names the part
of the article it comes from (paraphrased) and its parameters with units.
"""

from __future__ import annotations

from . import (
    accords,
    alliance,
    civilian_harm,
    combat,
    control,
    displacement,
    governance,
    grievance,
    operations,
    patron,
    regeneration,
    regime,
    schedule,
)

#: (switch name, module) in step order.
ORDER = (
    ("schedule", schedule),
    ("alliance", alliance),
    ("patron", patron),
    ("operations", operations),
    ("accords", accords),
    ("combat", combat),
    ("civilian_harm", civilian_harm),
    ("grievance", grievance),
    ("regeneration", regeneration),
    ("governance", governance),
    ("control", control),
    ("displacement", displacement),
    ("regime", regime),
)
