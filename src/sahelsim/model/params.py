"""Model parameters: every one with its unit, default, prior range, source and the article
section it comes from. ``Params`` is a frozen, validated bag of floats; ``switches`` turn whole
mechanisms on or off (all off = the state does not change).

Priors are deliberately wide where the literature gives no number; calibration
(:mod:`sahelsim.inference.calibrate`) narrows them against UCDP and UNHCR data. The specs
themselves live in :data:`sahelsim.model.fields_table.SPECS`; the switches are the mechanisms of
:data:`sahelsim.model.registry.REGISTRY`, in step order.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from sahelsim.model.fields_table import SPEC_BY_NAME, SPECS, ParamSpec
from sahelsim.model.registry import MECHANISMS

__all__ = ["MECHANISMS", "SPECS", "SPEC_BY_NAME", "ParamSpec", "Params"]


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
