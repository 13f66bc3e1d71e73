"""WorldPop 2000/2020 population summed to PRIO-GRID cells (afrilearndata approximation).

Reads ``worldpop_by_priogrid_westafrica_2000_2020_approx.csv.gz`` (columns ``priogrid_gid``,
``year``, ``est_pop`` and optionally ``n_subcells``, ``pg_row``, ``pg_col``, ``pg_lat``,
``pg_lon``) into the long ``population`` table (:data:`sahelsim.schema.POPULATION`): one row
per (cell, year), ``value`` in people, ``iso3`` NULL.

``est_pop`` is the sum over the 1/6-degree cells whose centre falls in the PRIO-GRID cell of
(mean people per 1 km cell x 400): approximate, see the PROVENANCE of the data folder.

Row checks (first failure wins; the row goes to quarantine with that reason):

* ``priogrid_gid`` an integer in 1..259200, ``year`` an integer in 1990..2100, ``est_pop``
  present and >= 0;
* when present, ``pg_row``/``pg_col`` consistent with the gid. These two columns follow the
  PRIO-GRID file convention and count from 1: ``gid = (pg_row - 1) * 720 + pg_col``, so
  ``canon``'s 0-based row is ``pg_row - 1``;
* when present, ``pg_lat``/``pg_lon`` equal to the centre of the gid's cell;
* no repeated (gid, year): the first occurrence is kept.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sahelsim.core.canon import CELL_DEG, NCOLS, NROWS, gid_centroid, gid_from_row_col
from sahelsim.core.schema import POPULATION
from sahelsim.data.readers.base import (
    ReadResult,
    RowChecker,
    quarantine_frame,
    read_small_csv,
    sha256_file,
)

log = logging.getLogger(__name__)

SOURCE = "worldpop_priogrid"
TABLE = "population"
FOLDER = "worldpop-africa-20km-afrilearndata"
FILE = "worldpop_by_priogrid_westafrica_2000_2020_approx.csv.gz"
VERSION = "afrilearndata d8510ed"
LICENSE = "CC BY 4.0, WorldPop"
REQUIRED = ["priogrid_gid", "year", "est_pop"]
GID_MAX = NROWS * NCOLS  # 259200
YEAR_MIN, YEAR_MAX = 1990, 2100
#: Tolerance (degrees) on ``pg_lat``/``pg_lon`` against the centre of the gid's cell.
CENTROID_TOL_DEG = 1e-6


def default_path(data_dir: str | Path) -> Path:
    """Path of the PRIO-GRID aggregate inside a shared data directory."""
    return Path(data_dir) / FOLDER / FILE


def _empty_data() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source": pd.Series([], dtype=object),
            "iso3": pd.Series([], dtype=object),
            "priogrid_gid": pd.Series([], dtype=np.int64),
            "year": pd.Series([], dtype=np.int64),
            "value": pd.Series([], dtype=float),
        },
        columns=list(POPULATION),
    )


def read_worldpop_priogrid(path: str | Path) -> ReadResult:
    """Read the WorldPop-by-PRIO-GRID CSV (plain or ``.gz``) into the ``population`` table.

    ``meta`` carries source, file, sha256, version, years (accepted years, sorted), license,
    rows_read and rows_accepted; ``rows_read == accepted + quarantined``.
    """
    file = str(path)
    frame, rejects, rows_read = read_small_csv(path, REQUIRED, source=SOURCE)
    chk = RowChecker(frame, source=SOURCE, file=file)
    gid = chk.integer("priogrid_gid", lo=1, hi=GID_MAX, allow_missing=False)
    year = chk.integer("year", lo=YEAR_MIN, hi=YEAR_MAX, allow_missing=False)
    pop = chk.number("est_pop", lo=0.0, allow_missing=False, label="est_pop (population)")
    gid_ok = ~np.isnan(gid)

    if "pg_row" in frame.columns and "pg_col" in frame.columns:
        # PRIO-GRID files count row/col from 1; canon counts them from 0.
        row = chk.integer("pg_row", lo=1, hi=NROWS)
        col = chk.integer("pg_col", lo=1, hi=NCOLS)
        both = gid_ok & ~np.isnan(row) & ~np.isnan(col)
        expected = np.where(
            both,
            gid_from_row_col(np.nan_to_num(row) - 1, np.nan_to_num(col) - 1).astype(float),
            np.nan,
        )
        chk.flag(
            both & (expected != gid),
            "priogrid_gid",
            "priogrid_gid inconsistent with 1-based pg_row/pg_col (gid = (pg_row-1)*720 + pg_col)",
        )
    if "pg_lat" in frame.columns and "pg_lon" in frame.columns:
        lat = chk.number("pg_lat", lo=-90.0, hi=90.0)
        lon = chk.number("pg_lon", lo=-180.0, hi=180.0)
        clat, clon = gid_centroid(np.where(gid_ok, np.nan_to_num(gid), 1).astype(np.int64))
        off = gid_ok & ~np.isnan(lat) & ~np.isnan(lon)
        far = off & (
            (np.abs(lat - clat) > CENTROID_TOL_DEG) | (np.abs(lon - clon) > CENTROID_TOL_DEG)
        )
        chk.flag(far, "pg_lat", f"pg_lat/pg_lon not the centre of the gid's {CELL_DEG}° cell")

    # Repeated (gid, year): keep the first occurrence among otherwise valid rows.
    valid = chk.reason == None  # noqa: E711
    key = pd.DataFrame({"g": gid, "y": year})
    dup = np.zeros(len(frame), dtype=bool)
    dup[valid] = key[valid].duplicated(keep="first").to_numpy()
    chk.flag(dup, "priogrid_gid", "duplicate (priogrid_gid, year)")

    good, quarantine = chk.split()
    if rejects:
        structural = quarantine_frame(rejects)
        quarantine = (
            pd.concat([structural, quarantine], ignore_index=True)
            if len(quarantine)
            else structural
        )
    n = int(good.sum())
    if n:
        data = pd.DataFrame(
            {
                "source": pd.Series([SOURCE] * n, dtype=object),
                "iso3": pd.Series([None] * n, dtype=object),
                "priogrid_gid": gid[good].astype(np.int64),
                "year": year[good].astype(np.int64),
                "value": pop[good].astype(float),
            },
            columns=list(POPULATION),
        )
    else:
        data = _empty_data()
    years = sorted(int(y) for y in np.unique(data["year"]))
    meta = {
        "source": SOURCE,
        "file": file,
        "sha256": sha256_file(path),
        "version": VERSION,
        "years": years,
        "license": LICENSE,
        "rows_read": rows_read,
        "rows_accepted": n,
        "rows_quarantined": len(quarantine),
    }
    result = ReadResult(source=SOURCE, table=TABLE, data=data, quarantine=quarantine, meta=meta)
    result.check_reconciles()
    if len(quarantine):
        log.warning("%s: %d of %d rows quarantined", file, len(quarantine), rows_read)
    log.info("%s: %d population rows, years %s", file, n, years)
    return result
