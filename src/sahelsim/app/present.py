"""The present state the explorer's projections start from, and the projection from it.

A lever change only acts from its effective month (2025-01 or later), so the 2012-2024 history
of a run does not depend on it. The explorer therefore simulates the history once, keeps the
ensemble state of December 2024 (:meth:`State.save`) and the history's country aggregates on
disk, and every request simulates only 2025 onwards from that state
(``simulate(..., state0=...)``). The numbers are the same as one run from 2012 (the model's
random numbers are a function of the member, the month and the seed, not of where a run
started; ``tests/test_app_present.py`` checks every variable).

Where the present comes from is one seam, a :class:`PresentProvider`:

* :class:`SpinupPresent` (default): a spin-up of the shipped posterior from 2012-01, cached in
  ``<cache>/present/<key>/`` (``state.npz``, ``history.nc``, ``meta.json``, written as one
  atomic set) where the key is a hash of the posterior file, the members, the seed, the model
  layout and source, the grid and the history's drivers (a scenario whose own history differs,
  e.g. through a switch, gets its own spin-up);
* :class:`FilteredPresent`: a filtered ensemble directory (``sahelsim assimilate --out DIR``)
  read by a loader ``load(dir) -> (State, param_matrix, meta)``
  (:func:`sahelsim.inference.assimilate.load_filtered` once it ships); its members are the
  particles (repeated in order when more members are asked for), and there is no simulated
  history, so the fan charts show the observed points before the projection.

:func:`present_provider` picks one from the environment (``SAHELSIM_APP_PRESENT=DIR``); the
page says which ("projections start from ...").
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import xarray as xr

import sahelsim.model as model_pkg
from sahelsim import __version__
from sahelsim.app.settings import NETCDF_LOCK, app_cache_dir
from sahelsim.core.atomic import write_all_atomic
from sahelsim.inference.assimilate import load_filtered as _load_filtered
from sahelsim.model.engine import Record, simulate
from sahelsim.model.layout import CELL_NAMES, CTRY_NAMES
from sahelsim.model.params import Params
from sahelsim.model.space import Space
from sahelsim.model.state import State
from sahelsim.scenarios.posterior import POSTERIOR_ENV, posterior_in_use
from sahelsim.scenarios.run import (
    HISTORY_START,
    PROJECTION_START,
    default_params,
    month_label,
    posterior_param_matrix,
)
from sahelsim.scenarios.scenario import Scenario
from sahelsim.scenarios.setup import build_drivers

log = logging.getLogger(__name__)

__all__ = [
    "ENV_PRESENT",
    "FilteredPresent",
    "Present",
    "PresentError",
    "PresentProvider",
    "SpinupPresent",
    "code_digest",
    "history_digest",
    "present_provider",
    "project",
    "projection_drivers",
]

#: A filtered ensemble directory to start projections from (instead of the spin-up).
ENV_PRESENT = "SAHELSIM_APP_PRESENT"
HISTORY_MONTHS = PROJECTION_START - HISTORY_START
#: A variable of the engine that is not per month: people at the run's start plus growth.
_PEOPLE_START = "people_initial_plus_growth"
_FILES = ("state.npz", "history.nc", "meta.json")


class PresentError(RuntimeError):
    """The present state cannot be read (a filtered directory that is missing or broken)."""


@dataclass
class Present:
    """The ensemble at the start of the projection.

    ``state``: one row per present member; ``param_matrix``: their parameters (None: the
    defaults); ``history``: the country aggregates from 2012-01 to the month before ``start``
    (None when the present is a filtered ensemble); ``description``: what a reader is told
    ("projections start from ...")."""

    state: State
    param_matrix: np.ndarray | None
    history: xr.Dataset | None
    start: int
    description: str
    key: str
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def members(self) -> int:
        return self.state.members

    def rows(self, members: int) -> np.ndarray:
        """The present rows of members ``0..members-1`` (repeated in order past its size)."""
        return np.arange(members) % self.members


class PresentProvider(Protocol):
    """Where projections start: ``present(...)`` for a scenario's history, members and seed."""

    def present(self, space: Space, sc: Scenario, *, members: int, seed: int,
                grid: str) -> Present: ...  # fmt: skip

    def key(self, space: Space, sc: Scenario, *, members: int, seed: int) -> str:
        """What the present depends on, hashed, without reading it (keys stored runs)."""
        ...


# -- keys ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Digests:
    model: str


_DIGESTS: _Digests | None = None
#: Source folders and files (under ``sahelsim/``) whose code shapes a projection's numbers: the
#: engine, the scenario set-up and posterior sampling, and the explorer's projection and join.
_CODE = ("model", "scenarios", "app/present.py", "app/runs.py", "app/stored.py")


def _digests() -> _Digests:
    """The model's layout and the source of :data:`_CODE`, hashed once per process."""
    global _DIGESTS
    if _DIGESTS is None:
        h = hashlib.sha256(json.dumps([list(CELL_NAMES), list(CTRY_NAMES), __version__]).encode())
        root = Path(model_pkg.__file__).parent.parent
        for part in _CODE:
            target = root / part
            files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
            for p in files:
                h.update(str(p.relative_to(root)).encode() + p.read_bytes())
        _DIGESTS = _Digests(h.hexdigest())
    return _DIGESTS


def code_digest() -> str:
    """:func:`_digests`' hash of the code that shapes a projection (keys stored runs too)."""
    return _digests().model


_POSTERIOR_DIGESTS: dict[tuple[str, int, int], str] = {}


def _posterior_digest() -> str:
    """A hash of the posterior file in use (:func:`posterior_in_use`; cached by path, size and
    modification time)."""
    f = posterior_in_use()
    if f is None:
        return "prior"
    st = f.stat()
    k = (str(f.resolve()), st.st_mtime_ns, st.st_size)
    if k not in _POSTERIOR_DIGESTS:
        _POSTERIOR_DIGESTS[k] = hashlib.sha256(f.read_bytes()).hexdigest()
    return _POSTERIOR_DIGESTS[k]


def history_digest(space: Space, sc: Scenario) -> str:
    """A hash of what the history depends on besides members and seed: the grid and the
    drivers of 2012-01 to 2024-12 (timeline events, the scenario's levers and switches)."""
    drivers = _drivers(space, sc, HISTORY_START, HISTORY_MONTHS)
    h = hashlib.sha256()
    for arr in (*drivers.packed(), np.asarray(space.gid), *space.kernel_arrays()):
        a = np.ascontiguousarray(arr)
        h.update(str((a.dtype, a.shape)).encode() + a.tobytes())
    return h.hexdigest()


def _drivers(space: Space, sc: Scenario, start: int, months: int) -> Any:
    return build_drivers(space, start, months, levers=sc.lever_series(start, months),
                         flags=sc.flags, projection_start=PROJECTION_START)  # fmt: skip


def projection_drivers(space: Space, sc: Scenario, months: int) -> Any:
    """The drivers :func:`project` runs ``months`` months of ``sc`` with, from 2025-01."""
    return _drivers(space, sc, PROJECTION_START, months)


# -- the spin-up --------------------------------------------------------------------------------


class SpinupPresent:
    """The present as a spin-up from 2012-01 of the shipped posterior, cached on disk under
    ``root`` (default ``<cache>/present``) and in memory (the last ``keep`` presents)."""

    def __init__(self, root: Path | None = None, keep: int = 4) -> None:
        self.root = Path(root) if root is not None else app_cache_dir() / "present"
        self.keep = keep
        self._mem: OrderedDict[str, Present] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self.built = 0  # spin-ups simulated by this provider (the tests count them)

    def key(self, space: Space, sc: Scenario, *, members: int, seed: int) -> str:
        parts = [code_digest(), _posterior_digest(), int(members), int(seed),
                 history_digest(space, sc)]  # fmt: skip
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:24]

    def folder(self, key: str) -> Path:
        return self.root / key

    def present(self, space: Space, sc: Scenario, *, members: int, seed: int,
                grid: str) -> Present:  # fmt: skip
        key = self.key(space, sc, members=members, seed=seed)
        with self._lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:  # one spin-up per key even when sessions ask at once
            with self._lock:
                got = self._mem.get(key)
                if got is not None:
                    self._mem.move_to_end(key)
                    return got
            got = self._read(key, members, seed)
            if got is None:
                got = self._build(key, space, sc, members, seed, grid)
            with self._lock:
                self._mem[key] = got
                while len(self._mem) > self.keep:
                    self._mem.popitem(last=False)
            return got

    def _describe(self, members: int, seed: int, grid: str) -> str:
        f = posterior_in_use()
        post = ("the prior" if f is None else "the shipped posterior"
                if not os.environ.get(POSTERIOR_ENV, "").strip() else f"the posterior in {f}")  # fmt: skip
        return (
            f"a spin-up of {post} from {month_label(HISTORY_START)} to"
            f" {month_label(PROJECTION_START - 1)} ({members} members, seed {seed}, {grid})"
        )

    def _read(self, key: str, members: int, seed: int) -> Present | None:
        folder = self.folder(key)
        if not all((folder / f).is_file() for f in _FILES):
            return None
        try:
            meta = json.loads((folder / "meta.json").read_text())
            state = State.load(folder / "state.npz")
            with NETCDF_LOCK:
                history = xr.load_dataset(folder / "history.nc", engine="netcdf4")
        except (OSError, ValueError, KeyError) as exc:
            log.warning("present: cache %s unreadable (%s): spinning up again", folder, exc)
            return None
        if state.members != members:
            log.warning("present: cache %s has %d members, not %d", folder, state.members, members)
            return None
        log.info("present: read the %s state from %s", month_label(PROJECTION_START - 1), folder)
        pm = posterior_param_matrix(np.arange(members), seed)
        return Present(state, pm, history, PROJECTION_START, meta["description"], key, meta)

    def _build(self, key: str, space: Space, sc: Scenario, members: int, seed: int,
               grid: str) -> Present:  # fmt: skip
        ids = np.arange(members)
        pm = posterior_param_matrix(ids, seed)
        drivers = _drivers(space, sc, HISTORY_START, HISTORY_MONTHS)
        history, state = simulate(space, default_params(), drivers, members=ids, seed=seed,
                                  record=Record(cells=()), param_matrix=pm,
                                  return_state=True)  # fmt: skip
        self.built += 1
        meta = {
            "description": self._describe(members, seed, grid),
            "members": int(members),
            "seed": int(seed),
            "parameters": "posterior" if pm is not None else "prior",
            "history": [month_label(HISTORY_START), month_label(PROJECTION_START - 1)],
        }
        folder = self.folder(key)
        try:
            write_all_atomic([
                (folder / "state.npz", lambda tmp: _save_state(state, tmp)),
                (folder / "history.nc", lambda tmp: _netcdf(history, tmp)),
                (folder / "meta.json", lambda tmp: Path(tmp).write_text(json.dumps(meta))),
            ])  # fmt: skip
            log.info("present: spin-up of %d members cached in %s", members, folder)
        except OSError as exc:  # a read-only cache still serves this process
            log.warning("present: could not cache the spin-up in %s: %s", folder, exc)
        return Present(state, pm, history, PROJECTION_START, meta["description"], key, meta)


def _netcdf(ds: xr.Dataset, tmp: Path) -> None:
    with NETCDF_LOCK:
        ds.to_netcdf(tmp, engine="netcdf4")


def _save_state(state: State, tmp: Path) -> None:
    with open(tmp, "wb") as f:  # a file object: numpy would append ".npz" to a path
        state.save(f)


# -- a filtered ensemble ------------------------------------------------------------------------

Loader = Callable[[Path], tuple[State, np.ndarray | None, dict[str, Any]]]


class FilteredPresent:
    """The present as a filtered ensemble directory (``sahelsim assimilate --out DIR``)."""

    def __init__(self, folder: Path, load: Loader | None = None) -> None:
        self.folder = Path(folder)
        self._load = load if load is not None else _load_filtered
        self._got: Present | None = None
        self._read_key: str | None = None
        self._lock = threading.Lock()

    def key(self, space: Space, sc: Scenario, *, members: int, seed: int) -> str:
        """The folder and the name, size and modification time of each of its files, hashed
        (the same for every scenario: a filtered present has no scenario history). Once the
        folder is read, the key of what was read (a folder rewritten while the server runs
        would otherwise key the old present's runs by the new files)."""
        with self._lock:
            if self._read_key is not None:
                return self._read_key + f"-{int(members)}"
        return self._files_key() + f"-{int(members)}"

    def _files_key(self) -> str:
        h = hashlib.sha256(str(self.folder.resolve()).encode())
        try:
            for f in sorted(self.folder.iterdir()):
                st = f.stat()
                h.update(f"{f.name}:{st.st_size}:{st.st_mtime_ns};".encode())
        except OSError:
            h.update(b"unreadable")
        return "filtered-" + h.hexdigest()[:24]

    def present(self, space: Space, sc: Scenario, *, members: int, seed: int,
                grid: str) -> Present:  # fmt: skip
        with self._lock:
            if self._got is None:
                key = self._files_key()  # before the read: a rewrite during it changes it
                self._got = self._read(space)
                self._read_key = key
            return self._got

    def _read(self, space: Space) -> Present:
        if self._load is None:
            raise PresentError(
                f"{ENV_PRESENT}={self.folder}: reading a filtered ensemble needs"
                " sahelsim.inference.assimilate.load_filtered, which this installation lacks"
            )
        if not self.folder.is_dir():
            raise PresentError(f"{ENV_PRESENT}={self.folder}: no such folder")
        try:
            state, pm, meta = self._load(self.folder)
        except (OSError, ValueError, KeyError) as exc:
            raise PresentError(f"filtered ensemble {self.folder}: {exc}") from exc
        if state.cells.shape[-1] != space.n_cells:
            raise PresentError(
                f"filtered ensemble {self.folder}: {state.cells.shape[-1]} cells, the grid has"
                f" {space.n_cells}"
            )
        nxt = int(meta.get("next_month_id", PROJECTION_START))
        if nxt != PROJECTION_START:
            raise PresentError(
                f"filtered ensemble {self.folder}: filtered to {meta.get('until')}; the explorer"
                f" projects from {month_label(PROJECTION_START)} (run sahelsim assimilate"
                f" --until {month_label(PROJECTION_START - 1)})"
            )
        last = meta.get("until", month_label(PROJECTION_START - 1))
        desc = f"the filtered ensemble in {self.folder} ({state.members} particles, data to {last})"
        h = hashlib.sha256(
            str(self.folder.resolve()).encode() + repr(sorted(meta.items())).encode()
        )
        return Present(state, pm, None, PROJECTION_START, desc, "filtered-" + h.hexdigest()[:16],
                       dict(meta))  # fmt: skip


def present_provider(root: Path | None = None) -> PresentProvider:
    """:class:`FilteredPresent` of ``$SAHELSIM_APP_PRESENT`` when set, else the spin-up."""
    env = os.environ.get(ENV_PRESENT, "").strip()
    if env:
        return FilteredPresent(Path(env).expanduser())
    return SpinupPresent(root)


# -- the projection -----------------------------------------------------------------------------


def project(
    present: Present,
    space: Space,
    sc: Scenario,
    *,
    months: int,
    seed: int,
    members: np.ndarray,
    record: Record,
    params: Params | None = None,
) -> tuple[xr.Dataset, xr.Dataset | None]:
    """``months`` months of ``sc`` from the present, for ``members`` (global ids, each starting
    from its present row): the country aggregates (joined to the history when the present has
    one; the attributes of :func:`sahelsim.scenarios.run.run_scenario`) and the recorded cell
    variables over the projection (None when ``record`` keeps none)."""
    ids = np.asarray(members, dtype=np.int64)
    rows = ids % present.members
    pm = None if present.param_matrix is None else present.param_matrix[rows]
    drivers = _drivers(space, sc, present.start, months)  # = projection_drivers (2025-01)
    state0 = present.state.take(rows)
    ds = simulate(space, params or default_params(), drivers, members=ids, seed=seed,
                  record=record, state0=state0, param_matrix=pm)  # fmt: skip
    cell_vars = [v for v in ds.data_vars if str(v).startswith("cell_")]
    cells = ds[cell_vars] if cell_vars else None
    ds = ds.drop_vars(cell_vars)
    if present.history is not None:
        hist = present.history.isel(member=rows).assign_coords(member=ids)
        # people at the run's start (2012) plus growth, as one run from 2012 records it
        start_people = hist[_PEOPLE_START] - state0.growth_cum
        ds[_PEOPLE_START] = ds[_PEOPLE_START] - state0.people() + start_people
        monthly = [v for v in ds.data_vars if "month" in ds[v].dims]
        joined = xr.concat([hist[monthly], ds[monthly]], dim="month", coords="minimal",
                           compat="override", join="exact", combine_attrs="override")  # fmt: skip
        for v in ds.data_vars:
            if v not in monthly:
                joined[v] = ds[v]
        ds = joined.assign_attrs(start_month=int(HISTORY_START),
                                 months=int(joined.sizes["month"]))  # fmt: skip
    ds.attrs.update(parameters="posterior" if pm is not None else "given", scenario=sc.name,
                    scenario_title=sc.title, projection_start=int(present.start),
                    present=present.description)  # fmt: skip
    return ds, cells
