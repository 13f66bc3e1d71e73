"""Mechanism 1, the schedule of institutions (article: "Sovereignty as Strategy",
"Fragmentation's Feedback Loops").

The dated timeline (``resources/timeline.toml``: coups, French withdrawals, MINUSMA, ECOWAS exit, AES
charter and confederation, joint force...) and a scenario's lever series become per-month,
per-country driver arrays. The external constraint is the accountability presence that the
article says once limited state-side atrocities:

    external[t, k] = clip(0.45 * french[t, k] + 0.35 * un[t, k] + 0.20 * ecowas[t, k]
                          + external_monitors[t, k], 0, 1)

with ``french``, ``un`` and ``ecowas`` the running sums of the timeline's effect tags
(initial presence: French forces in Burkina Faso and Niger, all three in ECOWAS).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sahelsim.model.space import CORE, Space

#: Presence before the first timeline entry (2012), per core country.
INITIAL = {
    "french_forces": {"MLI": 0.0, "BFA": 1.0, "NER": 1.0},
    "un_mission": {"MLI": 0.0, "BFA": 0.0, "NER": 0.0},
    "ecowas_member": {"MLI": 1.0, "BFA": 1.0, "NER": 1.0},
}
WEIGHTS = {"french_forces": 0.45, "un_mission": 0.35, "ecowas_member": 0.20}
PERFORMATIVE = ("aes_alliance", "aes_confederation", "joint_force_troops")

#: Lever defaults used when no scenario gives a series (history-consistent constants).
LEVER_DEFAULTS = {
    "russia_personnel": 0.0,
    "joint_force": 0.0,
    "state_force_scale": 1.0,
    "restraint": 0.0,
    "external_monitors": 0.0,
    "governance_investment": 0.1,
    "negotiation_propensity": 0.02,
    "border_openness": 1.0,
    "inclusion": 0.0,
    "intervention_force": 0.0,
    "legitimacy_shock": 0.0,
}


@dataclass(frozen=True)
class Drivers:
    """Exogenous inputs, arrays of shape (months, countries) unless noted."""

    start_month: int  # VIEWS month_id of the first simulated month
    external: np.ndarray
    forced_coup: np.ndarray
    performative: np.ndarray
    stochastic_coups: np.ndarray  # (months,) bool: coups drawn by the model (projection)
    levers: dict[str, np.ndarray]
    flags: dict[str, object]

    @property
    def months(self) -> int:
        return int(self.external.shape[0])

    def packed(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Arrays for the compiled engine: drivers (T, N_DRIVERS, K), flags (T, N_FLAGS) int64,
        levers (T, N_LEVERS, K)."""
        from sahelsim.model import layout as L

        T, K = self.external.shape
        drv = np.zeros((T, L.N_DRIVERS, K))
        drv[:, L.D_EXTERNAL] = self.external
        drv[:, L.D_FORCED_COUP] = self.forced_coup
        drv[:, L.D_PERFORMATIVE] = self.performative
        flags = np.zeros((T, L.N_FLAGS), dtype=np.int64)
        flags[:, L.FLAG_TRANSITION] = int(self.flags.get("coup_rule") == "transition")
        flags[:, L.FLAG_EXPANSION] = int(bool(self.flags.get("alliance_expansion")))
        flags[:, L.FLAG_STOCHASTIC_COUPS] = self.stochastic_coups.astype(np.int64)
        lev = np.zeros((T, L.N_LEVERS, K))
        for i, name in enumerate(L.LEVER_NAMES):
            lev[:, i] = self.levers[name]
        return drv, flags, lev


def build_drivers(
    space: Space,
    start_month: int,
    months: int,
    *,
    timeline: pd.DataFrame | None = None,
    levers: dict[str, np.ndarray] | None = None,
    flags: dict[str, object] | None = None,
    projection_start: int | None = None,
) -> Drivers:
    """Driver arrays for ``months`` months from ``start_month`` (VIEWS id).

    ``levers`` maps lever names to (months, 3) arrays for MLI, BFA, NER (a scenario's
    ``lever_series``); missing levers take :data:`LEVER_DEFAULTS`. Coups in the timeline before
    ``projection_start`` are forced; from then on coups are drawn by the regime mechanism.
    """
    from sahelsim.evidence.timeline import load_timeline

    K = space.n_countries
    core_idx = [space.countries.index(c) for c in CORE]
    tl = load_timeline() if timeline is None else timeline
    mids = np.arange(start_month, start_month + months)
    series: dict[str, np.ndarray] = {}
    for tag, init in INITIAL.items():
        arr = np.zeros((months, K))
        for c, v in init.items():
            arr[:, space.countries.index(c)] = v
        series[tag] = arr
    forced = np.zeros((months, K))
    perf = np.zeros((months, K))
    for row in tl.itertuples(index=False):
        iso = getattr(row, "iso3", None)
        if iso not in space.countries:
            continue
        k = space.countries.index(iso)
        mid = int(row.month_id)
        effects = _effects(row)
        after = mids >= mid
        for tag in INITIAL:
            if tag in effects:
                series[tag][after, k] += float(effects[tag])
        if "regime_change" in effects and start_month <= mid < start_month + months:
            forced[mid - start_month, k] = 1.0
        if any(t in effects for t in PERFORMATIVE) and start_month <= mid < start_month + months:
            perf[mid - start_month, k] += 1.0
    lev: dict[str, np.ndarray] = {}
    for name, default in LEVER_DEFAULTS.items():
        arr = np.zeros((months, K)) if name != "border_openness" else np.ones((months, K))
        arr[:, core_idx] = default
        given = (levers or {}).get(name)
        if given is not None:
            arr[:, core_idx] = np.asarray(given, dtype=float).reshape(months, len(CORE))
        lev[name] = arr
    external = sum(WEIGHTS[t] * np.clip(series[t], 0, 1) for t in WEIGHTS)
    external = np.clip(external + lev["external_monitors"], 0.0, 1.0)
    ps = start_month + months if projection_start is None else projection_start
    if projection_start is not None:
        forced[mids >= ps] = 0.0
    return Drivers(
        start_month=start_month,
        external=external,
        forced_coup=forced,
        performative=perf,
        stochastic_coups=mids >= ps,
        levers=lev,
        flags=dict(flags or {"coup_rule": "stay_in_aes", "alliance_expansion": False}),
    )


def _effects(row: object) -> dict[str, float]:
    eff = getattr(row, "effects", None)
    if isinstance(eff, str) and eff.strip().startswith("{"):
        eff = json.loads(eff)
    if isinstance(eff, dict):
        return {k: float(v) for k, v in eff.items()}
    out: dict[str, float] = {}
    for tag in (*INITIAL, "regime_change", *PERFORMATIVE):
        v = getattr(row, tag, None)
        if v is not None and v == v and v != 0:
            out[tag] = float(v)
    return out
