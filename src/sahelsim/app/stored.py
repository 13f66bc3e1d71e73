"""Full explorer runs kept on disk, so a new server's first page draws without simulating.

A run of a shipped scenario as it is (no lever changed) is what a visitor sees first, and what
every scenario switch shows. Such a run is written once (NetCDF-4, compressed; a run of 100
members x 60 months is about 13 MB) to ``<explorer cache>/runs/<key>/`` as one atomic set
(``ensemble.nc``, ``cells.nc``, ``meta.json``), and read back (about 0.4 s) by the next server
instead of being simulated again (several seconds on a cold server: the engine's load, the
present's read and the run). Runs with lever changes are not written: they are one visitor's.

The key is a hash of everything the numbers depend on: the code that shapes a projection (the
engine, the scenario set-up and posterior sampling, the explorer's projection), where
projections start (the present's key: the posterior file in use, members, seed and the
history's drivers; or a filtered folder's files as read), the geography, the projection's
drivers (the scenario's levers,
switches and timeline from 2025-01 for the request's months), the default parameters, the
members recorded at cell level and the request's members, seed and months. A stored run is
therefore the same numbers as the run it stands for (``tests/test_app_stored.py`` checks every
variable); an unreadable one is ignored (and the run simulated again). The
:data:`KEEP` runs written or read most recently are kept.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from sahelsim.app.present import code_digest, projection_drivers
from sahelsim.app.settings import NETCDF_LOCK, app_cache_dir
from sahelsim.core.atomic import write_all_atomic
from sahelsim.model.space import Space
from sahelsim.scenarios.run import default_params
from sahelsim.scenarios.scenario import Scenario

log = logging.getLogger(__name__)

__all__ = ["FILES", "KEEP", "StoredRun", "exists", "flush", "read", "root", "run_key", "write",
           "write_later"]  # fmt: skip

#: Stored runs kept (those written or read most recently); the others are deleted on a write.
KEEP = 12
FILES = ("ensemble.nc", "cells.nc", "meta.json")
#: Bumped when the stored layout changes (older folders are then never read).
LAYOUT = 1
_COMPRESS = {"zlib": True, "complevel": 1, "shuffle": True}
_WRITE_LOCK = threading.Lock()  # one write (and prune) at a time in a process
_PENDING_LOCK = threading.Lock()  # the list of pending writes (never held during a write)
_PENDING: list[threading.Thread] = []

StoredRun = tuple[xr.Dataset, xr.Dataset, dict[str, Any]]


def root() -> Path:
    """``<explorer cache>/runs``."""
    return app_cache_dir() / "runs"


def run_key(
    present_key: str,
    space: Space,
    sc: Scenario,
    *,
    members: int,
    seed: int,
    months: int,
    map_members: int,
    map_vars: Sequence[str],
) -> str:
    """The stored run's key (see the module text)."""
    drivers = projection_drivers(space, sc, months)
    p = default_params()
    head = [LAYOUT, code_digest(), present_key, int(members), int(seed), int(months),
            int(map_members), list(map_vars), sc.name]  # fmt: skip
    h = hashlib.sha256(json.dumps(head).encode())
    geography = (np.asarray(space.gid), *space.kernel_arrays())
    for arr in (*drivers.packed(), p.vector(), p.switch_vector(), *geography):
        a = np.ascontiguousarray(arr)
        h.update(str((a.dtype, a.shape)).encode() + a.tobytes())
    return h.hexdigest()[:32]


def exists(key: str) -> bool:
    """Whether the stored run ``key`` has all its files (not whether they can be read)."""
    folder = root() / key
    return all((folder / f).is_file() for f in FILES)


def read(key: str) -> StoredRun | None:
    """The stored run ``key`` (its ensemble, cell variables and metadata), or None when there
    is none or it cannot be read."""
    folder = root() / key
    if not exists(key):
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        if not isinstance(meta, dict) or meta.get("layout") != LAYOUT:
            return None
        with NETCDF_LOCK:
            ds = xr.load_dataset(folder / "ensemble.nc", engine="netcdf4")
            cells = xr.load_dataset(folder / "cells.nc", engine="netcdf4")
        os.utime(folder / "meta.json")  # pruning keeps the runs read most recently
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, AttributeError) as exc:
        log.warning("stored run %s unreadable (%s): simulating it again", folder, exc)
        return None
    log.info("app: read the stored run %s", folder)
    return ds, cells, dict(meta.get("meta", {}))


def write(key: str, ds: xr.Dataset, cells: xr.Dataset, meta: dict[str, Any]) -> Path | None:
    """Store a run under ``key`` (atomically, as one set of files), then delete all but the
    newest :data:`KEEP` stored runs; returns the folder (None when the cache is not
    writable: the run still serves this process)."""
    folder = root() / key
    doc = {"layout": LAYOUT, "meta": {k: v for k, v in meta.items() if _jsonable(v)}}
    with _WRITE_LOCK:
        try:
            write_all_atomic([
                (folder / "ensemble.nc", lambda tmp: _netcdf(ds, tmp)),
                (folder / "cells.nc", lambda tmp: _netcdf(cells, tmp)),
                (folder / "meta.json", lambda tmp: Path(tmp).write_text(json.dumps(doc))),
            ])  # fmt: skip
        except Exception as exc:  # a run that cannot be stored still serves this process
            log.warning("app: could not store the run in %s: %s", folder, exc)
            return None
        _prune()
    log.info("app: stored the run in %s", folder)
    return folder


def write_later(
    key: str, ds: xr.Dataset, cells: xr.Dataset, meta: dict[str, Any]
) -> threading.Thread:
    """:func:`write` on a thread (the page does not wait for the disk); returns the thread
    (:func:`flush` waits for every such write)."""
    t = threading.Thread(target=write, args=(key, ds, cells, meta), name="sahelsim-store",
                         daemon=True)  # fmt: skip
    with _PENDING_LOCK:
        _PENDING[:] = [p for p in _PENDING if p.is_alive()]
        _PENDING.append(t)
    t.start()
    return t


def flush() -> None:
    """Wait until every :func:`write_later` of this process has written its run."""
    while True:
        with _PENDING_LOCK:
            alive = [p for p in _PENDING if p.is_alive()]
        if not alive:
            return
        for p in alive:
            p.join()


def _netcdf(ds: xr.Dataset, tmp: Path) -> None:
    with NETCDF_LOCK:
        ds.to_netcdf(tmp, engine="netcdf4", encoding={v: dict(_COMPRESS) for v in ds.data_vars})


def _jsonable(v: Any) -> bool:
    return isinstance(v, (str, int, float, bool)) or v is None


def _used(folder: Path) -> float:
    """When a stored run was last written or read (0: a folder without its metadata, e.g. a
    write killed half-way, goes first)."""
    try:
        return (folder / "meta.json").stat().st_mtime
    except OSError:
        return 0.0


def _prune() -> None:
    """Delete all but the :data:`KEEP` stored runs used most recently (another process may be
    pruning too: a file already gone is no error)."""
    try:
        folders = [p for p in root().iterdir() if p.is_dir()]
        folders.sort(key=_used, reverse=True)
        for old in folders[KEEP:]:
            for f in list(old.iterdir()):
                f.unlink(missing_ok=True)
            old.rmdir()
    except OSError as exc:
        log.debug("app: pruning the stored runs stopped: %s", exc)
