"""The observed points of the explorer's fan charts (UCDP country-year deaths and one-sided
killings by perpetrator, UNHCR/IDMC IDPs), from the staged data.

The country-year panel (:func:`sahelsim.evidence.indicators.country_year`) needs the data
ingested into a store (about 5 s); the explorer does that once per data directory into a
temporary store and keeps the panel as CSV in ``<cache>/observed/<key>.csv``, the key a hash
of the data directory's path and of its files' names, sizes and modification times (new data
make a new panel). ``sahelsim serve --prebuild`` builds it ahead.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from pathlib import Path

import pandas as pd

from sahelsim.app.settings import app_cache_dir
from sahelsim.core.atomic import write_text_atomic
from sahelsim.data.store.store import Store
from sahelsim.evidence.indicators import country_year
from sahelsim.evidence.ingest import ingest_all
from sahelsim.viz.fans import Observed
from sahelsim.viz.observed import observed_series

__all__ = ["fan_observed", "observed_panel", "panel_key"]

log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_MEM: dict[str, pd.DataFrame | None] = {}


def panel_key(data_dir: Path) -> str:
    """A hash of the data directory: its path and every file's name, size and mtime."""
    h = hashlib.sha256(str(data_dir.resolve()).encode())
    for p in sorted(data_dir.rglob("*")):
        if p.is_file():
            st = p.stat()
            h.update(f"{p.relative_to(data_dir)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:24]


def observed_panel(data_dir: str | None, root: Path | None = None) -> pd.DataFrame | None:
    """The country-year panel of ``data_dir`` (None: no data, the synthetic grid), cached in
    memory and on disk; None (logged) when the data cannot be read."""
    if data_dir is None:
        return None
    d = Path(data_dir)
    with _LOCK:
        key = panel_key(d)
        if key in _MEM:
            return _MEM[key]
        path = (Path(root) if root is not None else app_cache_dir() / "observed") / f"{key}.csv"
        panel: pd.DataFrame | None = None
        if path.is_file():
            try:
                panel = pd.read_csv(path)
            except (OSError, ValueError) as exc:
                log.warning("observed: cached panel %s unreadable (%s): rebuilding", path, exc)
        if panel is None:
            try:
                with (
                    tempfile.TemporaryDirectory(prefix="sahelsim-observed-") as tmp,
                    Store(Path(tmp) / "observed.duckdb") as st,
                ):
                    ingest_all(d, st)
                    panel = country_year(st)
            except (LookupError, OSError, ValueError) as exc:
                log.warning("observed: no country-year panel from %s: %s", d, exc)
                _MEM[key] = None
                return None
            try:
                write_text_atomic(path, panel.to_csv(index=False))
            except OSError as exc:
                log.warning("observed: could not cache the panel in %s: %s", path, exc)
        _MEM[key] = panel
        return panel


def fan_observed(data_dir: str | None) -> dict[str, Observed]:
    """Observed points per fan chart id (``deaths``, ``civilians``, ``idps``); empty without
    data."""
    panel = observed_panel(data_dir)
    if panel is None:
        return {}
    deaths, civ, idp = observed_series(panel)
    return {"deaths": deaths, "civilians": civ, "idps": idp}
