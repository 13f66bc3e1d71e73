"""The model as calibration sees it: the historical run, a batch simulator of summary
statistics, and the posterior predictive.

Both run ensembles through the backend seam: :class:`ChunkedSimulator` splits a batch of
particles into chunks on a backend, :func:`posterior_predictive` calls
:func:`~sahelsim.scenarios.ensemble.simulate_members`. The grid and drivers are built once on
the caller's side and shipped with the work, so workers need no data directory.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import xarray as xr

from sahelsim.core.backend import Backend, chunk_spans, member_label
from sahelsim.core.canon import month_id
from sahelsim.inference.observe import simulated_country_year, simulated_extras, summary_vector
from sahelsim.model.drivers import Drivers
from sahelsim.model.engine import Record, simulate
from sahelsim.model.params import SPECS, Params
from sahelsim.model.space import Space
from sahelsim.scenarios.ensemble import simulate_members
from sahelsim.scenarios.posterior import Posterior
from sahelsim.scenarios.run import make_space, posterior_param_matrix
from sahelsim.scenarios.scenario import load_scenario
from sahelsim.scenarios.setup import build_drivers

log = logging.getLogger(__name__)

Simulator = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (theta (B, p), member ids) -> stats
SPEC_INDEX = {s.name: j for j, s in enumerate(SPECS)}


def history_setup(
    years: tuple[int, int],
    data_dir: Path | None,
    synthetic: bool,
    space: Space | None = None,
) -> tuple[Space, Drivers]:
    """Space and drivers of the historical (acceleration) run over whole years ``years``
    (``space``: an already built grid for that start, else built from ``data_dir``)."""
    y0, y1 = years
    start = int(month_id(y0, 1))
    months = (y1 - y0 + 1) * 12
    space = space if space is not None else make_space(data_dir, start, synthetic=synthetic)
    sc = load_scenario("acceleration")
    drivers = build_drivers(space, start, months, levers=sc.lever_series(start, months),
                            flags=sc.flags, projection_start=None)  # fmt: skip
    return space, drivers


class HistorySimulator:
    """The calibrator's batch simulator: ``sim(theta (B, p), member ids) -> stats (B, S)``,
    the summary statistics of the historical run, one member per particle with the particle's
    values for ``names`` (the other parameters at their defaults). A plain picklable object
    (grid, drivers and settings), so a backend can ship it to workers."""

    def __init__(self, space: Space, drivers: Drivers, names: Sequence[str],
                 years: tuple[int, int], seed: int, monthly_years: Sequence[int] = (),
                 territory: bool = False) -> None:  # fmt: skip
        self.space = space
        self.drivers = drivers
        self.base = Params.default()
        self.cols = [SPEC_INDEX[n] for n in names]
        self.years = list(range(int(years[0]), int(years[1]) + 1))
        self.seed = int(seed)
        self.monthly_years = [int(y) for y in monthly_years]
        self.territory = bool(territory)

    def __call__(self, theta: np.ndarray, members: np.ndarray) -> np.ndarray:
        pm = np.broadcast_to(self.base.vector(), (theta.shape[0], len(SPECS))).copy()
        pm[:, self.cols] = theta
        ds = simulate(self.space, self.base, self.drivers, members=members, seed=self.seed,
                      record=Record(cells=()), param_matrix=pm)  # fmt: skip
        base = summary_vector(simulated_country_year(ds), self.years)
        if not (self.monthly_years or self.territory):
            return base
        extra = simulated_extras(ds, self.monthly_years, self.territory)
        return np.concatenate([base, extra], axis=-1)


def _apply_simulator(sim: Simulator, item: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    theta, members = item
    return sim(theta, members)


class ChunkedSimulator:
    """A batch simulator whose batch is split into chunks of particles on ``backend`` and
    stacked back in order (each particle's statistics depend only on its parameters and member
    id, so the result equals one call of ``inner``). ``inner`` must be picklable; it is shipped
    once and reused by every batch."""

    def __init__(self, inner: Simulator, backend: Backend) -> None:
        self.inner = inner
        self.backend = backend
        self.calls = 0
        self._fn = functools.partial(_apply_simulator, inner)  # one object: shipped once

    def __call__(self, theta: np.ndarray, members: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=np.float64)
        members = np.asarray(members, dtype=np.int64)
        self.calls += 1
        spans = chunk_spans(self.backend, theta.shape[0])
        if spans is None:
            return self.inner(theta, members)
        items = [(theta[a:b], members[a:b]) for a, b in spans]
        labels = [f"particles {a}-{b - 1}, {member_label(members[a:b])}" for a, b in spans]
        parts = self.backend.map(self._fn, items, labels=labels, what="chunk")
        return np.concatenate(parts, axis=0)


def posterior_predictive(
    post: Posterior,
    *,
    years: tuple[int, int],
    members: int = 200,
    seed: int = 1,
    data_dir: Path | None = None,
    synthetic: bool = False,
    space: Space | None = None,
    backend: Backend | None = None,
    return_dataset: bool = False,
) -> xr.Dataset | tuple[xr.Dataset, xr.Dataset]:
    """Simulated observables (member, year, country) with members' parameters drawn from
    ``post``; the ensemble runs on ``backend`` (None: in this process). With
    ``return_dataset``, also the monthly simulation dataset."""
    ids = np.arange(members)
    pm = posterior_param_matrix(ids, seed, posterior=post)
    space, drv = history_setup(years, data_dir, synthetic, space)
    ds = simulate_members(space, Params.default(), drv, members=ids, seed=seed,
                          record=Record(cells=()), param_matrix=pm, backend=backend)  # fmt: skip
    return (simulated_country_year(ds), ds) if return_dataset else simulated_country_year(ds)
