"""Data assimilation up to a month: the filtered ensemble behind ``sahelsim assimilate``.

:func:`assimilate` runs the particle filter of :mod:`sahelsim.inference.filter` from January
2012 to the end of month ``until`` on the observations known then (rows observed later are
dropped before anything runs; the negative-binomial dispersions are estimated from the same
rows), and writes the filtered ensemble into a folder, atomically as a set:

| file                  | what                                                              |
|-----------------------|-------------------------------------------------------------------|
| `state.npz`           | the model state of every member at the end of ``until`` (``State.save``) |
| `parameters.parquet`  | each member's parameter row (``member``, one column per parameter, ``weight``) |
| `parameters.csv`      | the same, for reading                                             |
| `diagnostics.csv`     | per observation time: month_id, n_obs, ess, loglik_increment, unique, resampled |
| `checks.csv`          | every observation against the predictive and filtered intervals    |
| `summary.json`        | until, members, seed, data hash, log-likelihood, observation model |

:func:`load_filtered` reads it back as ``(State, param_matrix, meta)`` for a projection that
starts from the filtered present (``simulate(..., state0=state, param_matrix=pm)`` from the
month after ``meta["until"]``). The saved members are equally weighted.

:func:`filtered_present` is the whole sequence a projection from the observed present needs
(observations from the store -> the space -> :func:`assimilate`, or the reuse of a folder
already filtered to the same cut-off, seed, members, data, grid, starting ensemble and code ->
:func:`load_filtered`); :func:`plan_present` is its first, cheap half (the cut-off and the data
hash), for callers that check a request before the filter runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

import sahelsim
from sahelsim import __version__
from sahelsim.core.atomic import write_all_atomic
from sahelsim.core.canon import month_id
from sahelsim.core.errors import SahelsimError
from sahelsim.inference.abc import CALIBRATED
from sahelsim.inference.filter import FilterResult, ParticleFilter, Progress
from sahelsim.inference.likelihood import (
    ObsModel,
    dispersion_from_data,
    last_month,
    observations_from_store,
    until_month,
)
from sahelsim.model.fields_table import SPECS
from sahelsim.model.space import Space
from sahelsim.model.state import State
from sahelsim.scenarios.posterior import Posterior, load_posterior
from sahelsim.scenarios.run import HISTORY_START, make_space, month_label

log = logging.getLogger(__name__)

#: The earliest cut-off: one month of data after the January 2012 start.
MIN_UNTIL = int(month_id(2012, 2))
FILES = {"state": "state.npz", "recent": "recent.npz", "parameters": "parameters.parquet",
         "parameters_csv": "parameters.csv", "diagnostics": "diagnostics.csv",
         "checks": "checks.csv", "summary": "summary.json"}  # fmt: skip
FORMAT = "sahelsim filtered ensemble v1"
#: The store's sources whose files the observations come from (their hashes enter the data hash).
SOURCES = ("ucdp_cy", "ucdp_ged_cm", "unhcr_population", "idmc")
#: What must agree for a filtered folder to be reused instead of filtering again.
IDENTITY = ("format", "until_month_id", "members", "seed", "moving_parameters", "data_hash",
            "grid_hash", "start_hash", "code_hash")  # fmt: skip


def check_until(until: int, obs: pd.DataFrame, option: str = "--until") -> int:
    """``until`` as a month id inside 2012-02 .. the data's last month, else a
    :class:`SahelsimError` naming the option and the allowed range."""
    last = last_month(obs)
    if not (MIN_UNTIL <= int(until) <= last):
        raise SahelsimError(f"{option} {month_label(int(until))} is outside the allowed range "
                            f"{month_label(MIN_UNTIL)}..{month_label(last)} (from one month "
                            f"after the 2012-01 start to the data's last month)")  # fmt: skip
    return int(until)


def observation_hash(obs: pd.DataFrame, files: Sequence[str] = ()) -> str:
    """sha256 of the observation rows used and of the source files' own hashes."""
    cols = ["iso3", "month_id", "first_month", "observable", "resolution", "value", "lo", "hi"]
    h = hashlib.sha256(obs[cols].to_csv(index=False, float_format="%.6f").encode())
    for s in sorted(files):
        h.update(str(s).encode())
    return h.hexdigest()


def assimilate(
    obs: pd.DataFrame,
    space: Space,
    *,
    until: int,
    out: Path,
    members: int = 200,
    seed: int = 0,
    params: Sequence[str] = CALIBRATED,
    obs_model: ObsModel | None = None,
    start: Posterior | np.ndarray | None = None,
    source_hashes: Sequence[str] = (),
    grid: str = "study grid",
    progress: Progress | None = None,
) -> tuple[FilterResult, dict[str, Path]]:
    """Filter on the rows of ``obs`` observed up to ``until`` and write the filtered ensemble
    into ``out`` (see the module docstring); returns the result and the paths written."""
    until = check_until(until, obs)
    known = until_month(obs, until)
    om = obs_model or dispersion_from_data(known)
    res = ParticleFilter(space, particles=members, params=params, seed=seed, obs_model=om,
                         start=start, progress=progress).run(known, until)  # fmt: skip
    meta = {
        "format": FORMAT,
        "until": month_label(until),
        "until_month_id": until,
        "next_month_id": until + 1,
        "members": members,
        "seed": seed,
        "grid": grid,
        "moving_parameters": list(res.names),
        "start": "posterior" if isinstance(start, Posterior) else (
            "given matrix" if start is not None else "uniform priors"),
        "observations": len(known),
        "data_hash": observation_hash(known, source_hashes),
        "grid_hash": grid_hash(space),
        "cells": int(space.n_cells),
        "start_hash": start_hash(start),
        "code_hash": code_hash(),
        "loglik": res.loglik,
        "final_ess": float(res.diagnostics["ess"].iloc[-1]) if len(res.diagnostics) else None,
        "resamplings": int(res.diagnostics["resampled"].sum()),
        "degenerate_times": int(res.diagnostics["degenerate"].sum()),
        "obs_model": om.as_dict(),
        "sahelsim_version": __version__,
        "created": pd.Timestamp.now(tz="UTC").isoformat(),
    }  # fmt: skip
    return res, write_filtered(res, Path(out), meta)


def _write_state(state: State, path: Path) -> None:
    with open(path, "wb") as fh:  # a file object: numpy adds no ".npz" to the temporary name
        state.save(fh)


def _write_recent(recent: tuple[np.ndarray, np.ndarray] | None, path: Path) -> None:
    months, counts = recent if recent is not None else (np.zeros(0), np.zeros((0, 0, 3, 0)))
    with open(path, "wb") as fh:
        np.savez_compressed(fh, months=months, counts=counts)


def load_recent(folder: str | Path) -> tuple[np.ndarray, np.ndarray] | None:
    """(months, counts) of a filtered folder's ``recent.npz``: each member's simulated deaths
    by type of its last months (for anchoring forecasts), or None when absent or empty."""
    path = Path(folder) / FILES["recent"]
    if not path.is_file():
        return None
    with np.load(path) as z:
        months, counts = z["months"], z["counts"]
    return (months, counts) if months.size else None


def write_filtered(res: FilterResult, out: Path, meta: dict[str, Any]) -> dict[str, Path]:
    """Write the filtered ensemble (all files or none)."""
    paths = {k: out / v for k, v in FILES.items()}
    pf = res.parameter_frame()
    writers = {
        "state": lambda p: _write_state(res.state, p),
        "recent": lambda p: _write_recent(res.recent, p),
        "parameters": lambda p: pf.to_parquet(p, index=False),
        "parameters_csv": lambda p: pf.to_csv(p, index=False),
        "diagnostics": lambda p: res.diagnostics.to_csv(p, index=False),
        "checks": lambda p: res.checks.to_csv(p, index=False),
        "summary": lambda p: Path(p).write_text(json.dumps(meta, indent=1)),
    }
    write_all_atomic([(paths[k], writers[k]) for k in FILES])
    return paths


def load_filtered(folder: str | Path) -> tuple[State, np.ndarray, dict[str, Any]]:
    """``(state, param_matrix (members, N_PARAMS) in SPECS order, meta)`` of a folder written
    by :func:`assimilate`; a missing file or another model's layout is a :class:`SahelsimError`
    naming the file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SahelsimError(f"{folder}: no such folder (write a filtered ensemble there with "
                            f"`sahelsim assimilate --out {folder}`)")  # fmt: skip
    missing = [FILES[k] for k in ("state", "parameters", "summary")
               if not (folder / FILES[k]).is_file()]  # fmt: skip
    if missing:
        raise SahelsimError(f"{folder}: not a filtered ensemble folder: "
                            f"{'; '.join(f'{m}: missing' for m in missing)} (write one with "
                            f"`sahelsim assimilate --out {folder}`)")  # fmt: skip
    try:
        meta = json.loads((folder / FILES["summary"]).read_text())
    except json.JSONDecodeError as exc:
        raise SahelsimError(f"{folder / FILES['summary']}: not JSON ({exc})") from None
    if meta.get("format") != FORMAT:
        raise SahelsimError(f"{folder / FILES['summary']}: not a {FORMAT} folder")
    try:
        state = State.load(folder / FILES["state"])
    except ValueError as exc:
        raise SahelsimError(str(exc)) from None
    pf = pd.read_parquet(folder / FILES["parameters"])
    names = [s.name for s in SPECS]
    missing = [n for n in names if n not in pf.columns]
    if missing:
        raise SahelsimError(f"{folder / FILES['parameters']}: lacks parameters {missing} "
                            "(written by another model version)")  # fmt: skip
    pm = pf.sort_values("member")[names].to_numpy(dtype=np.float64)
    if pm.shape[0] != state.members:
        raise SahelsimError(f"{folder}: {pm.shape[0]} parameter rows for {state.members} members")
    return state, np.ascontiguousarray(pm), meta


# -- the filtered present: reuse or filter, then load ------------------------------------------


class NoObservations(SahelsimError):
    """The store holds no observations to filter on (nothing ingested, or a partial folder)."""


def _sha(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for arr in arrays:
        a = np.ascontiguousarray(arr)
        h.update(str((a.dtype, a.shape)).encode() + a.tobytes())
    return h.hexdigest()


def grid_hash(space: Space) -> str:
    """sha256 of the grid the filter ran on (cell ids and the engine's geography)."""
    return _sha(np.asarray(space.gid), *space.kernel_arrays())


def start_hash(start: Posterior | np.ndarray | None) -> str:
    """sha256 of the ensemble the filter starts from ("prior" for the uniform priors)."""
    if start is None:
        return "prior"
    if isinstance(start, Posterior):
        names = np.frombuffer(json.dumps(list(start.names)).encode(), dtype=np.uint8)
        return _sha(names, start.particles, start.weights)
    return _sha(np.asarray(start, dtype=np.float64))


_CODE_HASH: str | None = None


def code_hash() -> str:
    """sha256 of the code and tables a filtered ensemble depends on (the model, inference and
    scenario modules, the timeline and the scenario files), once per process: a folder written
    by other code is filtered again rather than reused."""
    global _CODE_HASH
    if _CODE_HASH is None:
        root = Path(sahelsim.__file__).parent
        files = [p for d in ("model", "inference", "scenarios", "evidence")
                 for p in (root / d).rglob("*.py")]  # fmt: skip
        files += list((root / "resources").rglob("*.toml"))
        h = hashlib.sha256(__version__.encode())
        for p in sorted(set(files)):
            h.update(str(p.relative_to(root)).encode() + p.read_bytes())
        _CODE_HASH = h.hexdigest()
    return _CODE_HASH


def store_observations(store: Any) -> tuple[pd.DataFrame, list[str]]:
    """The observation table of ``store`` and the sha256 of the source files behind it; a
    :class:`NoObservations` when there is none."""
    try:
        obs = observations_from_store(store)
    except LookupError:  # no UCDP country-years and no country-months in the store
        obs = None
    if obs is None or not len(obs):
        raise NoObservations("the store holds no observations: run `sahelsim data ingest`")
    ledger = store.ledger()
    used = ledger[ledger["source"].isin(SOURCES) & ~ledger["superseded"]]
    return obs, sorted(used["sha256"].astype(str))


@dataclass
class Filtered:
    """A filtered ensemble loaded for a projection: ``state`` and ``param_matrix`` (one row per
    filtered member), the folder's ``meta``, and whether the folder was ``reused``."""

    state: State
    param_matrix: np.ndarray
    meta: dict[str, Any]
    folder: Path
    reused: bool
    result: FilterResult | None = None  # the filter's own result when it ran here
    space: Space | None = None  # the grid it was filtered on, when known

    @classmethod
    def from_folder(cls, folder: str | Path) -> Filtered:
        """A folder written by :func:`assimilate` (errors name the folder and the file)."""
        state, pm, meta = load_filtered(folder)
        return cls(state, pm, meta, Path(folder), reused=True)

    @property
    def until(self) -> int:
        """The last filtered month (month id)."""
        return int(self.meta["until_month_id"])

    @property
    def first_month(self) -> int:
        """The first month a projection from this ensemble simulates."""
        return self.until + 1

    @property
    def members(self) -> int:
        return self.state.members

    def describe(self) -> str:
        """What a reader is told: "the filtered ensemble of 2024-12 (out/assimilate, 200
        members)"."""
        return (f"the filtered ensemble of {month_label(self.until)} ({self.folder}, "
                f"{self.members} members)")  # fmt: skip

    def diagnostics(self) -> pd.DataFrame:
        """Per observation time (the filter's result, else the folder's diagnostics.csv)."""
        if self.result is not None:
            return self.result.diagnostics
        return pd.read_csv(self.folder / FILES["diagnostics"])

    def checks(self) -> pd.DataFrame:
        """Every observation against the filtered intervals (as :meth:`diagnostics`)."""
        if self.result is not None:
            return self.result.checks
        return pd.read_csv(self.folder / FILES["checks"])


StartSpec = Posterior | np.ndarray | None | Literal["posterior"]


@dataclass
class PresentPlan:
    """The cheap half of :func:`filtered_present`: the observations, the cut-off and the data
    hash, known before the filter runs; :meth:`ensure` does the rest."""

    obs: pd.DataFrame
    source_hashes: list[str]
    until: int
    out: Path
    members: int
    seed: int
    params: tuple[str, ...] = tuple(CALIBRATED)
    data_hash: str = field(init=False)

    def __post_init__(self) -> None:
        self.data_hash = observation_hash(until_month(self.obs, self.until), self.source_hashes)

    def identity(self, space: Space, start: Posterior | np.ndarray | None) -> dict[str, Any]:
        """The summary values a reusable folder must hold (:data:`IDENTITY`)."""
        return {"format": FORMAT, "until_month_id": self.until, "members": self.members,
                "seed": self.seed, "moving_parameters": list(self.params),
                "data_hash": self.data_hash, "grid_hash": grid_hash(space),
                "start_hash": start_hash(start), "code_hash": code_hash()}  # fmt: skip

    def stale(self, space: Space, start: Posterior | np.ndarray | None) -> str | None:
        """None when ``out`` already holds this filter; else why not (for the log)."""
        if not all((self.out / f).is_file() for f in FILES.values()):
            return f"{self.out} holds no complete filtered ensemble"
        try:
            meta = json.loads((self.out / FILES["summary"]).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            return f"{self.out / FILES['summary']} unreadable ({exc})"
        want = self.identity(space, start)
        differ = [k for k in IDENTITY if meta.get(k) != want[k]]
        if differ:
            return f"{self.out} was filtered with another {', '.join(differ)}"
        return None

    def ensure(self, space: Space, *, start: StartSpec = "posterior", grid: str = "study grid",
               progress: Progress | None = None, reuse: bool = True) -> Filtered:  # fmt: skip
        """Reuse ``out`` when it holds this filter (same cut-off, seed, members, data, grid,
        starting ensemble and code), else filter and write it there; then load it."""
        begin = load_posterior() if isinstance(start, str) else start
        why = self.stale(space, begin) if reuse else "reuse switched off"
        if why is None:
            log.info("reusing the filtered ensemble in %s", self.out)
            got = Filtered.from_folder(self.out)
            got.space = space
            return got
        log.info("filtering %d members to %s: %s", self.members, month_label(self.until), why)
        res, _ = assimilate(self.obs, space, until=self.until, out=self.out, members=self.members,
                            seed=self.seed, params=self.params, start=begin,
                            source_hashes=self.source_hashes, grid=grid, progress=progress)  # fmt: skip
        state, pm, meta = load_filtered(self.out)
        return Filtered(state, pm, meta, self.out, reused=False, result=res, space=space)


def plan_present(store: Any, *, out: str | Path, members: int = 200, seed: int = 0,
                 until: int | None = None, option: str = "--until") -> PresentPlan:  # fmt: skip
    """The observations of ``store``, the cut-off (``until``, default the data's last month;
    outside 2012-02..last a :class:`SahelsimError` naming ``option``) and the data hash.
    A :class:`NoObservations` when the store has none."""
    obs, hashes = store_observations(store)
    cut = last_month(obs) if until is None else check_until(int(until), obs, option)
    return PresentPlan(obs, hashes, cut, Path(out), int(members), int(seed))


def filtered_present(store: Any, *, out: str | Path, members: int = 200, seed: int = 0,
                     until: int | None = None, space: Space | None = None,
                     data_dir: Path | None = None, synthetic: bool = False,
                     start: StartSpec = "posterior", progress: Progress | None = None,
                     reuse: bool = True) -> Filtered:  # fmt: skip
    """The filtered ensemble at ``until`` (default: the data's last month) in ``out``: reused
    when ``out`` already holds it, else filtered on the store's observations (on ``space``,
    default the study grid of ``data_dir``) and written there; see :class:`PresentPlan`."""
    plan = plan_present(store, out=out, members=members, seed=seed, until=until)
    space = space or make_space(data_dir, HISTORY_START, synthetic=synthetic)
    grid = "synthetic" if synthetic or data_dir is None else "study grid"
    return plan.ensure(space, start=start, grid=grid, progress=progress, reuse=reuse)
