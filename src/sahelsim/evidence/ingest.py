"""Load a data directory into the store and classify every actor name found in it.

The loading itself (which sources exist, which reader reads them) is the data layer's
(:mod:`sahelsim.data.ingest`); this module adds the step that needs the actor map.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sahelsim.data.ingest import Progress, SourceSpec, ingest_sources, present_sources
from sahelsim.data.store.store import IngestReport, Store
from sahelsim.evidence.actors import load_actor_map
from sahelsim.evidence.dyads import ucdp_dyad_actor_names

__all__ = ["SourceSpec", "ingest_all", "present_sources", "refresh_actor_names"]


def ingest_all(
    data_dir: Path,
    store: Store,
    *,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """Load every source present in ``data_dir``, then refresh the actor names; returns one
    report per file.

    Each file is its own transaction; a file already in the ledger is skipped.
    """
    reports = ingest_sources(data_dir, store, progress=progress)
    if progress:
        progress("actor names", len(reports), len(reports))
    refresh_actor_names(store)
    return reports


def refresh_actor_names(store: Store) -> pd.DataFrame:
    """Classify every actor name in the store (events, UCDP actors, dyads) with the actor map.

    Returns the classification; names that match no pattern carry actor ``unmatched``.
    """
    amap = load_actor_map()
    names: list[str] = list(store.event_names()) + list(store.ucdp_actor_names())
    names += list(ucdp_dyad_actor_names(list(store.ucdp_dyad_cells())))
    names = sorted({n for n in names if n})
    frame = amap.classify(pd.Series(names, dtype=object))
    store.set_actor_names(frame)
    return frame
