"""Discover the sources present in a data directory and load them into the store.

The data directory has one folder per source (the layout of ``shared/data`` and of what
``sahelsim data download`` writes). Each source is found by folder and file patterns; a source
that is absent is reported as such, never invented.

:func:`ingest_sources` loads the files; :func:`sahelsim.evidence.ingest.ingest_all` adds the
actor classification on top (the evidence layer owns the actor map).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sahelsim.data.readers.base import ReadResult
from sahelsim.data.readers.dtm import read_iom_dtm_mali
from sahelsim.data.readers.ged_cm import read_ged_cm
from sahelsim.data.readers.ucdp_actors import read_ucdp_actors
from sahelsim.data.readers.ucdp_cy import read_ucdp_cy
from sahelsim.data.readers.unhcr import (
    read_unhcr_flows,
    read_unhcr_idmc,
    read_unhcr_population,
    read_unhcr_solutions,
)
from sahelsim.data.readers.worldbank import read_worldbank_population
from sahelsim.data.readers.worldpop import read_worldpop_priogrid
from sahelsim.data.store.store import IngestReport, Store

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
#: download side files that are never data
SKIP = (".part", ".sha256", ".tmp", ".json.part")


@dataclass(frozen=True)
class SourceSpec:
    """Where a source lives in the data directory and how it is read."""

    name: str
    folder: str  # glob for the folder
    pattern: str  # glob for the file(s) inside it
    kind: str  # tabular | events | geo
    reader: Callable[[Path], ReadResult] | None = None  # for tabular sources
    fmt: str = ""  # event format for event sources
    license: str = ""

    def find(self, data_dir: Path) -> list[Path]:
        hits: list[Path] = []
        for folder in sorted(data_dir.glob(self.folder)):
            if folder.is_dir():
                hits.extend(
                    sorted(p for p in folder.glob(self.pattern) if not p.name.endswith(SKIP))
                )
        return hits


SOURCES: tuple[SourceSpec, ...] = (
    SourceSpec("ucdp_cy", "ucdp-organized-violence-cy*", "*.csv*", "tabular",
               read_ucdp_cy, license="CC BY 4.0"),
    SourceSpec("ucdp_actors", "ucdp-actor*", "*.csv*", "tabular",
               read_ucdp_actors, license="CC BY 4.0"),
    SourceSpec("unhcr_population", "unhcr-refugee-statistics*", "unhcr_population*.csv*",
               "tabular", read_unhcr_population, license="CC BY 4.0"),
    SourceSpec("unhcr_flows", "unhcr-refugee-statistics*", "unhcr_flows*.csv*", "tabular",
               read_unhcr_flows, license="CC BY 4.0"),
    SourceSpec("unhcr_solutions", "unhcr-refugee-statistics*", "unhcr_solutions*.csv*",
               "tabular", read_unhcr_solutions, license="CC BY 4.0"),
    SourceSpec("unhcr_idmc", "unhcr-refugee-statistics*", "unhcr_idmc*.csv*", "tabular",
               read_unhcr_idmc, license="IDMC: CC BY-NC 4.0"),
    SourceSpec("iom_dtm_mali", "iom-dtm-mali*", "*.csv*", "tabular",
               read_iom_dtm_mali, license="CC BY-IGO 3.0 (per HDX)"),
    SourceSpec("worldbank_population", "worldbank-population*", "*.csv*", "tabular",
               read_worldbank_population, license="CC BY 4.0"),
    SourceSpec("worldpop_priogrid", "worldpop*", "worldpop_by_priogrid*.csv*", "tabular",
               read_worldpop_priogrid, license="CC BY 4.0"),
    SourceSpec("naturalearth_admin1", "naturalearth*", "ne10m_admin1*.geojson", "geo",
               license="public domain (Natural Earth)"),
    SourceSpec("ucdp_ged", "ucdp-ged-v*", "*.csv*", "events", fmt="ged_csv",
               license="CC BY 4.0"),
    SourceSpec("ucdp_ged", "ucdp-ged-v*", "*.zip", "events", fmt="ged_csv", license="CC BY 4.0"),
    SourceSpec("ucdp_ged_api", "ucdp-ged-api*", "page_*.json", "events", fmt="ged_json",
               license="CC BY 4.0"),
    SourceSpec("ucdp_candidate", "ucdp-candidate*", "*.csv*", "events", fmt="ged_csv",
               license="CC BY 4.0"),
    SourceSpec("acled", "acled*", "page_*.json", "events", fmt="acled_json",
               license="ACLED terms of use (attribution; no redistribution)"),
    SourceSpec("acled", "acled*", "*.csv*", "events", fmt="acled_csv",
               license="ACLED terms of use (attribution; no redistribution)"),
    # after the older sources, so that their ledger file ids stay as they were
    SourceSpec("ucdp_ged_cm", "ucdp-ged-country-month-views*", "ged_cm_*.csv*", "tabular",
               read_ged_cm, license="CC BY-NC 4.0 (UCDP / ViEWS)"),
)  # fmt: skip


def _version_from_name(path: Path) -> str:
    m = re.search(r"v?(\d+)[._](\d+)", path.name)
    return f"{m.group(1)}.{m.group(2)}" if m else ""


def present_sources(data_dir: Path) -> list[tuple[SourceSpec, list[Path]]]:
    """Every known source with the files found for it (possibly none)."""
    return [(spec, spec.find(data_dir)) for spec in SOURCES]


def ingest_sources(
    data_dir: Path,
    store: Store,
    *,
    progress: Progress | None = None,
) -> list[IngestReport]:
    """Load every source present in ``data_dir``; returns one report per file.

    Each file is its own transaction; a file already in the ledger is skipped. The actor
    names are not classified here (see :func:`sahelsim.evidence.ingest.ingest_all`).
    """
    data_dir = Path(data_dir)
    if not data_dir.exists():
        raise FileNotFoundError(
            f"data directory {data_dir} does not exist: pass --data-dir, set SAHELSIM_DATA, or"
            " run `sahelsim data download NAME`"
        )
    jobs: list[tuple[SourceSpec, Path]] = []
    for spec, files in present_sources(data_dir):
        if spec.kind == "geo":
            continue
        if spec.kind == "events" and spec.fmt in ("ged_json", "acled_json"):
            if files:
                jobs.append((spec, files[0].parent))
            continue
        jobs.extend((spec, f) for f in files)
    reports: list[IngestReport] = []
    for i, (spec, path) in enumerate(jobs):
        if progress:
            progress(f"{spec.name}: {path.name}", i, len(jobs))
        if spec.kind == "tabular":
            assert spec.reader is not None, spec.name
            result = spec.reader(path)
            result.meta.setdefault("license", spec.license)
            reports.append(store.ingest_result(result))
        else:
            reports.append(
                store.ingest_events(
                    path,
                    fmt=spec.fmt,
                    source=spec.name,
                    version=_version_from_name(path),
                    license=spec.license,
                )
            )
    return reports
