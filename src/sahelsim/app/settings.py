"""Settings the server passes to the explorer page (environment variable names, defaults); kept
apart so :func:`sahelsim.app.serve` can name them without importing the library's run code."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from sahelsim.core.config import cache_dir

__all__ = ["DEFAULT_CLAIMS_CSV", "ENV_APP_CACHE", "ENV_CLAIMS", "ENV_GRID", "NETCDF_LOCK",
           "app_cache_dir"]  # fmt: skip

#: Held around every NetCDF file read or write of the explorer's server: the netCDF-C/HDF5
#: libraries are not thread-safe, and two threads doing NetCDF I/O at once crash the process
#: (reproduced: three threads writing and reading NetCDF-4 files segfault within seconds). The
#: page's thread, the warm-up and the stored runs' writer all do NetCDF I/O.
NETCDF_LOCK = threading.RLock()

#: The environment variables the server passes to the page (see :func:`sahelsim.app.serve`).
ENV_GRID = "SAHELSIM_APP_GRID"  # "synthetic" forces the synthetic grid
ENV_CLAIMS = "SAHELSIM_APP_CLAIMS"  # path of a cached claims_audit.csv
#: The explorer's cache folder (present states, observed panel); default
#: ``<user cache>/explorer``. Separate from ``$SAHELSIM_CACHE``, which also holds the compiled
#: engine (moving that would recompile it).
ENV_APP_CACHE = "SAHELSIM_APP_CACHE"


def app_cache_dir() -> Path:
    """``$SAHELSIM_APP_CACHE`` or ``<user cache>/explorer``."""
    env = os.environ.get(ENV_APP_CACHE, "").strip()
    return Path(env).expanduser() if env else cache_dir() / "explorer"


DEFAULT_CLAIMS_CSV = Path("out") / "claims" / "claims_audit.csv"
