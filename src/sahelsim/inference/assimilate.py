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
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sahelsim import __version__
from sahelsim.core.atomic import write_all_atomic
from sahelsim.core.canon import month_id
from sahelsim.core.errors import SahelsimError
from sahelsim.inference.abc import CALIBRATED
from sahelsim.inference.filter import FilterResult, ParticleFilter, Progress
from sahelsim.inference.likelihood import ObsModel, dispersion_from_data, last_month, until_month
from sahelsim.model.fields_table import SPECS
from sahelsim.model.space import Space
from sahelsim.model.state import State
from sahelsim.scenarios.posterior import Posterior
from sahelsim.scenarios.run import month_label

log = logging.getLogger(__name__)

#: The earliest cut-off: one month of data after the January 2012 start.
MIN_UNTIL = int(month_id(2012, 2))
FILES = {"state": "state.npz", "parameters": "parameters.parquet",
         "parameters_csv": "parameters.csv", "diagnostics": "diagnostics.csv",
         "checks": "checks.csv", "summary": "summary.json"}  # fmt: skip
FORMAT = "sahelsim filtered ensemble v1"


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


def write_filtered(res: FilterResult, out: Path, meta: dict[str, Any]) -> dict[str, Path]:
    """Write the filtered ensemble (all files or none)."""
    paths = {k: out / v for k, v in FILES.items()}
    pf = res.parameter_frame()
    writers = {
        "state": lambda p: _write_state(res.state, p),
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
    for key in ("state", "parameters", "summary"):
        if not (folder / FILES[key]).is_file():
            raise SahelsimError(f"{folder / FILES[key]}: missing (not a filtered ensemble folder:"
                                f" run `sahelsim assimilate --out {folder}`)")  # fmt: skip
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
