"""The Central Sahel conflict model: a compiled monthly simulation of an ensemble.

State arrays carry the ensemble as the leading axis; :func:`~sahelsim.model.engine.step`
advances every member one month and :func:`~sahelsim.model.engine.simulate` owns the time loop,
the schedule of dated events and levers, what is recorded, and the seeds. Each mechanism lives
in its own module under :mod:`sahelsim.model.mechanisms` with the article section it comes from.

Numba caches compiled kernels on disk. Its cache is keyed on each kernel's own source file, not
on the table and enums the kernels import from :mod:`.layout`, so the cache directory is keyed here on
a hash of the whole model package: any edit gives a fresh cache, never a stale kernel.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba.core.config as nb_config

from sahelsim.core.config import cache_dir


def _configure_numba_cache() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):
        return
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for p in sorted(here.rglob("*.py")):
        h.update(p.relative_to(here).as_posix().encode())
        h.update(p.read_bytes())
    target = cache_dir() / "numba" / h.hexdigest()[:16]
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    nb_config.CACHE_DIR = str(target)


_configure_numba_cache()
