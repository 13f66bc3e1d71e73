"""Mechanism 1's inputs, the schedule of institutions (article: "Sovereignty as Strategy",
"Fragmentation's Feedback Loops"), and the lever arrays.

Dated events (from the timeline: coups, French withdrawals, MINUSMA, ECOWAS exit, AES charter
and confederation, joint force...; loaded by :func:`sahelsim.scenarios.setup.build_drivers`) and
a scenario's lever series become per-month, per-country driver arrays. The external constraint
is the accountability presence that the article says once limited state-side atrocities:

    external[t, k] = clip(0.45 * french[t, k] + 0.35 * un[t, k] + 0.20 * ecowas[t, k]
                          + external_monitors[t, k], 0, 1)

with ``french``, ``un`` and ``ecowas`` the running sums of the events' effect tags (initial
presence: French forces in Burkina Faso and Niger, all three in ECOWAS). Levers not given take
their one default from :data:`sahelsim.model.fields_table.LEVERS` (the dated default schedule
where there is one, e.g. ``border_openness`` 1 until 2024-12 and 0.4 from 2025-01).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sahelsim.core.canon import month_id
from sahelsim.model.fields_table import LEVERS, LeverSpec
from sahelsim.model.layout import CORE, LEVER_NAMES, N_DRIVERS, N_FLAGS, N_LEVERS, Drv, Flag
from sahelsim.model.space import Space

#: Presence before the first timeline entry (2012), per core country.
INITIAL = {
    "french_forces": {"MLI": 0.0, "BFA": 1.0, "NER": 1.0},
    "un_mission": {"MLI": 0.0, "BFA": 0.0, "NER": 0.0},
    "ecowas_member": {"MLI": 1.0, "BFA": 1.0, "NER": 1.0},
}
WEIGHTS = {"french_forces": 0.45, "un_mission": 0.35, "ecowas_member": 0.20}
PERFORMATIVE = ("aes_alliance", "aes_confederation", "joint_force_troops")
#: Effect tags the drivers read from an event.
EFFECT_TAGS = (*INITIAL, "regime_change", *PERFORMATIVE)


@dataclass(frozen=True)
class Event:
    """One dated event: country (ISO3), VIEWS month id, effect tags -> values."""

    iso3: str
    month_id: int
    effects: Mapping[str, float]


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
        T, K = self.external.shape
        drv = np.zeros((T, N_DRIVERS, K))
        drv[:, Drv.EXTERNAL] = self.external
        drv[:, Drv.FORCED_COUP] = self.forced_coup
        drv[:, Drv.PERFORMATIVE] = self.performative
        flags = np.zeros((T, N_FLAGS), dtype=np.int64)
        flags[:, Flag.TRANSITION] = int(self.flags.get("coup_rule") == "transition")
        flags[:, Flag.EXPANSION] = int(bool(self.flags.get("alliance_expansion")))
        flags[:, Flag.STOCHASTIC_COUPS] = self.stochastic_coups.astype(np.int64)
        lev = np.zeros((T, N_LEVERS, K))
        for i, name in enumerate(LEVER_NAMES):
            lev[:, i] = self.levers[name]
        return drv, flags, lev


def lever_default_column(spec: LeverSpec, country: str, months: np.ndarray) -> np.ndarray:
    """The default of a numeric lever over ``months`` (VIEWS ids) for one core country: its dated
    schedule (``initial`` then each ``history`` step) or its constant ``default``."""
    if spec.kind == "impulse":
        return np.zeros(len(months))
    start = spec.initial if spec.initial is not None else spec.default
    if isinstance(start, Mapping):
        start = start[country]
    col = np.full(len(months), float(start))
    for date, c, v in spec.history:
        if c is None or c == country:
            col[months >= int(month_id(int(date[:4]), int(date[5:7])))] = v
    return col


def make_drivers(
    space: Space,
    start_month: int,
    months: int,
    *,
    events: Sequence[Event] = (),
    levers: Mapping[str, np.ndarray] | None = None,
    flags: Mapping[str, object] | None = None,
    projection_start: int | None = None,
) -> Drivers:
    """Driver arrays for ``months`` months from ``start_month`` (VIEWS id).

    ``levers`` maps lever names to (months, 3) arrays for MLI, BFA, NER (a scenario's
    ``lever_series``); missing levers take their table default. Coups among ``events`` before
    ``projection_start`` are forced; from then on coups are drawn by the regime mechanism.
    """
    K = space.n_countries
    core_idx = [space.countries.index(c) for c in CORE]
    mids = np.arange(start_month, start_month + months)
    series: dict[str, np.ndarray] = {}
    for tag, init in INITIAL.items():
        arr = np.zeros((months, K))
        for c, v in init.items():
            arr[:, space.countries.index(c)] = v
        series[tag] = arr
    forced = np.zeros((months, K))
    perf = np.zeros((months, K))
    for ev in events:
        if ev.iso3 not in space.countries:
            continue
        k = space.countries.index(ev.iso3)
        mid = int(ev.month_id)
        after = mids >= mid
        for tag in INITIAL:
            if tag in ev.effects:
                series[tag][after, k] += float(ev.effects[tag])
        inside = start_month <= mid < start_month + months
        if "regime_change" in ev.effects and inside:
            forced[mid - start_month, k] = 1.0
        if any(t in ev.effects for t in PERFORMATIVE) and inside:
            perf[mid - start_month, k] += 1.0
    lev: dict[str, np.ndarray] = {}
    for spec in LEVERS:
        if not spec.numeric:
            continue
        arr = np.full((months, K), spec.noncore)
        given = (levers or {}).get(spec.name)
        if given is not None:
            arr[:, core_idx] = np.asarray(given, dtype=float).reshape(months, len(CORE))
        else:
            for j, c in zip(core_idx, CORE, strict=True):
                arr[:, j] = lever_default_column(spec, c, mids)
        lev[spec.name] = arr
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
