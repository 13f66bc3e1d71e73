"""Where the report's scenario projections start, and their headline numbers.

By default (``present="auto"``) the projections start from the filtered present: the ensemble
``sahelsim assimilate`` (or ``make run``, before it builds the report) wrote into
``out/assimilate``, conditioned on the observations up to its last month; every scenario runs
from it with the same members and seed (member ``i`` from filtered row ``i % rows``, see
:func:`sahelsim.scenarios.run.project_scenario`), so scenario differences are paired. When no
usable folder is there (missing, unreadable, another grid), the report falls back to a free
run from 2012-01 and says why. ``present="filter"`` reuses the folder when it holds the filter
of the store's data to their last month, else filters and writes it there
(:func:`sahelsim.inference.assimilate.filtered_present`); ``present="none"`` asks for the free
run.

The headline numbers (:func:`headline_rows`) come from the projection itself: deaths in its
first 12 months and internally displaced people hosted at the end of them, per country and the
three together, median and 90 % interval over members.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sahelsim.core.canon import month_id
from sahelsim.core.errors import SahelsimError
from sahelsim.data.store.store import Store
from sahelsim.forecast.filtered import anchor_ratios
from sahelsim.inference.assimilate import (
    FILES,
    Filtered,
    NoObservations,
    filtered_present,
    load_recent,
    plan_present,
)
from sahelsim.inference.likelihood import observations_from_store
from sahelsim.model.space import Space
from sahelsim.scenarios.run import PROJECTION_START, month_label
from sahelsim.viz.runs import CORE, COUNTRY_NAMES, SIM_START

log = logging.getLogger(__name__)

__all__ = [
    "PRESENT_MODES",
    "SIM_END",
    "ProjectionStart",
    "headline_rows",
    "resolve_start",
    "window_words",
]

#: ``present=`` values of :func:`resolve_start`.
PRESENT_MODES = ("auto", "filter", "none")
#: The last simulated month of every projection.
SIM_END = int(month_id(2030, 12))


@dataclass(frozen=True)
class ProjectionStart:
    """Where the projections start: ``first`` (month id) is the first projected month;
    ``filtered`` the ensemble they start from (None: a free run from 2012-01, for the reason
    ``why``)."""

    first: int
    filtered: Filtered | None = None
    why: str = ""
    #: What the reader must know about a filtered folder that does not match the store's data
    #: (filtered on other data, or newer data since); "" when it matches.
    caveat: str = ""
    #: (filtered members, 3, countries) factors anchoring projected deaths by type on the
    #: observed level of the 12 months to the cut-off (:func:`anchor_ratios`); None: not
    #: anchored (a free run, or a folder without recent counts)
    ratio: np.ndarray | None = field(default=None, compare=False)

    @property
    def kind(self) -> str:
        return "filtered" if self.filtered is not None else "free"

    @property
    def label(self) -> str:
        """For the record: "filtered ensemble of 2024-12 (out/assimilate, 200 members)" or
        "free run from 2012-01"."""
        if self.filtered is None:
            return f"free run from {SIM_START}"
        return self.filtered.describe().removeprefix("the ")

    @property
    def months(self) -> int:
        """Projected months: ``first`` to 2030-12 (at least 12)."""
        return max(12, SIM_END - self.first + 1)


def _free(why: str) -> ProjectionStart:
    log.warning("report: projections run freely from %s: %s", SIM_START, why)
    return ProjectionStart(PROJECTION_START, None, why)


def _check_grid(got: Filtered, space: Space) -> str:
    cells = got.meta.get("cells")
    if cells is not None and int(cells) != space.n_cells:
        return (f"{got.folder} was filtered on a grid of {int(cells)} cells"
                f" ({got.meta.get('grid', '?')}) but the report's grid has {space.n_cells}")  # fmt: skip
    return ""


def resolve_start(
    store: Store,
    present_dir: Path,
    *,
    present: str,
    space: Space,
    data_dir: Path | None,
    members: int,
    seed: int,
) -> ProjectionStart:
    """The :class:`ProjectionStart` for ``present`` (one of :data:`PRESENT_MODES`; see the
    module docstring). A folder that cannot be used gives the free run and the reason."""
    if present not in PRESENT_MODES:
        raise ValueError(f"present must be one of {', '.join(PRESENT_MODES)}, got {present!r}")
    if present == "none":
        return _free("a free run was asked for (present='none')")
    if present == "filter":
        try:
            got = filtered_present(store, out=present_dir, members=members, seed=seed,
                                   space=space, data_dir=data_dir,
                                   synthetic=data_dir is None)  # fmt: skip
        except NoObservations as exc:
            return _free(f"no observations to filter on ({exc})")
    else:
        if not (present_dir / FILES["state"]).is_file():
            return _free(f"no filtered ensemble in {present_dir} (write one with `sahelsim"
                         " assimilate` or `make run`)")  # fmt: skip
        try:
            got = Filtered.from_folder(present_dir)
        except SahelsimError as exc:
            return _free(f"the filtered ensemble could not be read ({exc})")
    bad = _check_grid(got, space)
    if bad:
        return _free(bad)
    caveat = "" if present == "filter" else _data_caveat(store, got)
    if caveat:
        log.warning("report: %s", caveat)
    log.info("report: projections start from %s", got.describe())
    return ProjectionStart(got.first_month, got, caveat=caveat, ratio=_ratio(store, got, space))


def _ratio(store: Store, got: Filtered, space: Space) -> np.ndarray | None:
    """The anchoring factors of ``got``'s members (None when its folder keeps no recent
    counts or the store has no observations)."""
    recent = load_recent(got.folder)
    if recent is None:
        log.info("report: %s keeps no recent counts: projections not anchored", got.folder)
        return None
    try:
        obs = observations_from_store(store)
    except LookupError:
        return None
    return anchor_ratios(obs, got.until, recent[0], recent[1], space.countries)


def _data_caveat(store: Store, got: Filtered) -> str:
    """ "" when ``got`` was filtered on the store's observations up to its month and the store
    has none later; else what differs, in words."""
    try:
        plan = plan_present(store, out=got.folder, members=got.members, seed=0)
    except NoObservations:
        return "the store holds no observations, so the ensemble's data could not be checked"
    until = month_label(got.until)
    if plan.until < got.until:
        return f"the ensemble is filtered to {until} but the store's data end in {month_label(plan.until)}"
    try:
        same = plan_present(store, out=got.folder, members=got.members, seed=0, until=got.until)
    except SahelsimError as exc:
        return f"the ensemble's cut-off {until} could not be checked against the store ({exc})"
    if got.meta.get("data_hash") != same.data_hash:
        return (f"the ensemble was filtered on other observations up to {until} than the store"
                " now holds (refilter with `sahelsim assimilate`)")  # fmt: skip
    if plan.until > got.until:
        return (f"the store's data run to {month_label(plan.until)}; the ensemble is"
                f" conditioned on them up to {until} only")  # fmt: skip
    return ""


def window_words(first: int) -> tuple[str, str]:
    """How the headline's window is named: ("in 2025", "the end of 2025") for a January
    start, else ("2025-04 to 2026-03", "2026-03")."""
    last = month_label(first + 11)
    if month_label(first).endswith("-01"):
        return f"in {last[:4]}", f"the end of {last[:4]}"
    return f"{month_label(first)} to {last}", last


def _quantiles(x: np.ndarray) -> tuple[float, float, float]:
    if x.size == 0:
        return (math.nan, math.nan, math.nan)
    q = np.quantile(x.astype(np.float64), (0.05, 0.5, 0.95))
    return float(q[1]), float(q[0]), float(q[2])


def headline_rows(ds: xr.Dataset, first: int) -> list[dict[str, Any]]:
    """Per core country and the three together: deaths (all types) summed over the months
    ``first`` to ``first + 11`` and IDPs hosted in month ``first + 11``, median and 90 %
    interval over members; a country or month the dataset lacks is left out."""
    months = np.asarray(ds["month"].values, dtype=np.int64)
    window = (months >= first) & (months <= first + 11)
    if not window.any() or (first + 11) not in months:
        return []
    countries = [str(c) for c in ds["country"].values]
    deaths = ds["deaths_total"].transpose("member", "month", "country").values[:, window]
    idps = ds["idps"].transpose("member", "month", "country").values[:, months == first + 11]
    per: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for c in CORE:
        if c in countries:
            j = countries.index(c)
            per[c] = (deaths[:, :, j].sum(axis=1), idps[:, 0, j])
    if len(per) == len(CORE):
        per["AES"] = (sum(v[0] for v in per.values()), sum(v[1] for v in per.values()))
    rows = []
    for region, (d, i) in per.items():
        dq, iq = _quantiles(np.asarray(d)), _quantiles(np.asarray(i))
        rows.append({"region": region, "country": COUNTRY_NAMES[region],
                     "deaths_median": dq[0], "deaths_q05": dq[1], "deaths_q95": dq[2],
                     "idps_median": iq[0], "idps_q05": iq[1], "idps_q95": iq[2]})  # fmt: skip
    return rows
